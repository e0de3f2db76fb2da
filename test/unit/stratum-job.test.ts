/**
 * Building a header from a Stratum job, checked against an independent
 * computation written out with @noble/hashes and plain byte handling.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import { bytesToHex, hexToBytes } from '../../src/core/bytes.js';
import { parseHeaderHex } from '../../src/core/header.js';
import { buildHeader, parseNotify, prevhashFromStratum, prevhashToStratum, type StratumJob } from '../../src/stratum/job.js';
import { LineSplitter, parseLine, StratumCode } from '../../src/stratum/protocol.js';
import { bitcoinHeaders } from '../helpers/vectors.js';

const dsha = (b: Uint8Array) => sha256(sha256(b));
const rev = (hex: string) => hex.match(/../g)!.reverse().join('');

/** The worked example of docs/protocol.md. */
const EXAMPLE: StratumJob = {
  jobId: 'b3ba',
  // Block 125552's previous hash in Stratum form (word-swapped internal order).
  prevhash: prevhashToStratum(parseHeaderHex(bitcoinHeaders().find((h) => h.height === 125552)!.header).subarray(4, 36)),
  coinb1: '01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff20020862062f503253482f04b8864e5008',
  coinb2: '072f736c7573682f000000000100f2052a010000001976a914d23fcdf86f7e756a64a7a9688ef9903327048ed988ac00000000',
  merkleBranch: ['51d37bdd871c9e1f4d5541be67a6ab625e32028744d7d4609d0c37747b40cd2d'.match(/../g)!.reverse().join(''), '1111111111111111111111111111111111111111111111111111111111111111'],
  version: '00000002',
  nbits: '1c2ac4af',
  ntime: '504e86b9',
  cleanJobs: false,
};

describe('Stratum header building', () => {
  it('matches an independent byte-by-byte computation (the worked example)', () => {
    const extranonce1 = '08000002';
    const extranonce2 = '00000001';
    const nonce = 'b2957c02';
    // Independent: coinbase, its hash, the branch fold, then the header fields in serialized order.
    const coinbase = hexToBytes(EXAMPLE.coinb1 + extranonce1 + extranonce2 + EXAMPLE.coinb2);
    let root = dsha(coinbase);
    for (const b of EXAMPLE.merkleBranch) root = dsha(new Uint8Array([...root, ...hexToBytes(b)]));
    const prevInternal = EXAMPLE.prevhash.match(/.{8}/g)!.map((w) => rev(w)).join('');
    const expected = rev(EXAMPLE.version) + prevInternal + bytesToHex(root) + rev(EXAMPLE.ntime) + rev(EXAMPLE.nbits) + rev(nonce);

    const header = buildHeader(EXAMPLE, { extranonce1, extranonce2, ntime: EXAMPLE.ntime, nonce });
    expect(bytesToHex(header)).toBe(expected);
    expect(header.length).toBe(80);
    // The prevhash round-trips to block 125552's prev-hash field.
    expect(bytesToHex(prevhashFromStratum(EXAMPLE.prevhash))).toBe(bitcoinHeaders().find((h) => h.height === 125552)!.header.slice(8, 72));
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
