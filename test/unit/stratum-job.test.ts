/**
 * Building a header from a Stratum job, checked against an independent
 * computation written out with @noble/hashes and plain byte handling.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sha256 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import { bytesToHex, hexToBytes } from '../../src/core/bytes.js';
import { parseHeaderHex } from '../../src/core/header.js';
import { sha256d } from '../../src/core/sha256d.js';
import { PACKAGE_ROOT } from '../../src/engine/paths.js';
import { buildHeader, merkleRootFor, parseNotify, prevhashFromStratum, prevhashToStratum, type StratumJob } from '../../src/stratum/job.js';
import { LineSplitter, parseLine, StratumCode } from '../../src/stratum/protocol.js';
import { bitcoinHeaders } from '../helpers/vectors.js';

const dsha = (b: Uint8Array) => sha256(sha256(b));
const rev = (hex: string) => hex.match(/../g)!.reverse().join('');

/** The worked example of docs/protocol.md ("Byte order, and a worked example"), every input in full. */
const EXAMPLE: StratumJob = {
  jobId: 'b3ba',
  // The Stratum form (each 4-byte word byte-swapped) of f8adc4f9a30bd5d4…00000000.
  prevhash: 'f9c4adf8d4d50ba3a7f0b7bf1d3d3a0b8d8ef3f66f1d42b70000000000000000',
  coinb1: '01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff20020862062f503253482f04b8864e5008',
  coinb2: '072f736c7573682f000000000100f2052a010000001976a914d23fcdf86f7e756a64a7a9688ef9903327048ed988ac00000000',
  merkleBranch: ['2dcd407b74370c9d60d4d7448702325e62aba667be41554d1f9e1c87dd7bd351'],
  version: '00000002',
  nbits: '1c2ac4af',
  ntime: '504e86b9',
  cleanJobs: false,
};
const EXTRANONCE1 = '08000002';
const EXTRANONCE2 = '00000001';
const NONCE = 'b2957c02';
/** The documented results, step by step. */
const DOCUMENTED = {
  coinbaseHash: '32414daa9ddac879fd2c62839b9ba710a3546363a5f5e22915d90dc3b1699dec',
  merkleRoot: 'ca96ab084dab8fb57ddc951dec99523b0cd9a29ad659783e5b9d0fa99be7ed89',
  header:
    '02000000f8adc4f9a30bd5d4bfb7f0a70b3a3d1df6f38e8db7421d6f0000000000000000ca96ab084dab8fb57ddc951dec99523b0cd9a29ad659783e5b9d0fa99be7ed89b9864e50afc42a1c027c95b2',
  hashDisplay: '7119e5b378dc81383659a15e1e9705055151f8671077ba702185b97df42e4360',
};

describe('Stratum header building', () => {
  it('gives the documented coinbase hash, merkle root, header and hash, computed independently with @noble/hashes', () => {
    // Independent: coinbase, its hash, the branch fold, the header fields in serialized order, the hash.
    const coinbase = hexToBytes(EXAMPLE.coinb1 + EXTRANONCE1 + EXTRANONCE2 + EXAMPLE.coinb2);
    const coinbaseHash = dsha(coinbase);
    expect(bytesToHex(coinbaseHash)).toBe(DOCUMENTED.coinbaseHash);
    let root = coinbaseHash;
    for (const b of EXAMPLE.merkleBranch) root = dsha(new Uint8Array([...root, ...hexToBytes(b)]));
    expect(bytesToHex(root)).toBe(DOCUMENTED.merkleRoot);
    const prevInternal = EXAMPLE.prevhash.match(/.{8}/g)!.map((w) => rev(w)).join('');
    const independent = rev(EXAMPLE.version) + prevInternal + bytesToHex(root) + rev(EXAMPLE.ntime) + rev(EXAMPLE.nbits) + rev(NONCE);
    expect(independent).toBe(DOCUMENTED.header);
    expect(rev(bytesToHex(dsha(hexToBytes(independent))))).toBe(DOCUMENTED.hashDisplay);

    // hashgrid's own path gives the same bytes and hash.
    const header = buildHeader(EXAMPLE, { extranonce1: EXTRANONCE1, extranonce2: EXTRANONCE2, ntime: EXAMPLE.ntime, nonce: NONCE });
    expect(header.length).toBe(80);
    expect(bytesToHex(merkleRootFor(EXAMPLE, EXTRANONCE1, EXTRANONCE2))).toBe(DOCUMENTED.merkleRoot);
    expect(bytesToHex(header)).toBe(DOCUMENTED.header);
    expect(rev(bytesToHex(sha256d(header)))).toBe(DOCUMENTED.hashDisplay);
  });

  it('is the example docs/protocol.md shows', () => {
    const doc = readFileSync(join(PACKAGE_ROOT, 'docs', 'protocol.md'), 'utf8');
    for (const value of [DOCUMENTED.header, DOCUMENTED.hashDisplay]) expect(doc).toContain(value);
    const short = (h: string) => `${h.slice(0, 8)}…${h.slice(-6)}`;
    for (const value of [DOCUMENTED.coinbaseHash, DOCUMENTED.merkleRoot, EXAMPLE.merkleBranch[0]!]) expect(doc).toContain(short(value));
    for (const value of [EXAMPLE.version, EXAMPLE.nbits, EXAMPLE.ntime, NONCE, EXTRANONCE1, EXTRANONCE2, EXAMPLE.prevhash.slice(0, 16)]) expect(doc).toContain(value);
  });

  it('round-trips a real prevhash (block 125552) through the Stratum word swap', () => {
    const prev = parseHeaderHex(bitcoinHeaders().find((h) => h.height === 125552)!.header).subarray(4, 36);
    expect(prevhashFromStratum(prevhashToStratum(prev))).toEqual(prev);
  });

  it('rolls the version with BIP 310 bits', () => {
    const h = buildHeader(EXAMPLE, { extranonce1: '00000000', extranonce2: '00000000', ntime: EXAMPLE.ntime, nonce: '00000000', version: 0x20002000 });
    expect(bytesToHex(h.subarray(0, 4))).toBe('00200020');
  });

  it('parses mining.notify params and rejects malformed ones', () => {
    const params = [EXAMPLE.jobId, EXAMPLE.prevhash, EXAMPLE.coinb1, EXAMPLE.coinb2, EXAMPLE.merkleBranch, EXAMPLE.version, EXAMPLE.nbits, EXAMPLE.ntime, false];
    expect(parseNotify(params)).toEqual(EXAMPLE);
    expect(() => parseNotify([...params.slice(0, 1), 'zz', ...params.slice(2)])).toThrow(/prevhash/);
    expect(() => parseNotify([...params.slice(0, 5), '0002', ...params.slice(6)])).toThrow(/version: expected 8 hex/);
  });
});

describe('Stratum line codec', () => {
  it('splits lines and refuses an over-long one', () => {
    const s = new LineSplitter(32);
    expect(s.push('{"id":1,')).toEqual([]);
    expect(s.push('"method":"x"}\n{"id":2}\n')).toEqual(['{"id":1,"method":"x"}', '{"id":2}']);
    expect(() => s.push('x'.repeat(40))).toThrow(/longer than 32 bytes/);
  });

  it('parses requests and responses, and rejects everything else with code 20', () => {
    expect(parseLine('{"id":1,"method":"mining.subscribe","params":["a"]}')).toEqual({ id: 1, method: 'mining.subscribe', params: ['a'] });
    expect(parseLine('{"id":1,"result":true,"error":null}')).toEqual({ id: 1, result: true, error: null });
    for (const bad of ['nope', '[1,2]', '{"id":{},"method":"x"}', '{"id":1,"method":"x","params":3}', '{"id":1}']) {
      expect(() => parseLine(bad), bad).toThrow(expect.objectContaining({ stratumCode: StratumCode.OTHER }));
    }
  });
});
