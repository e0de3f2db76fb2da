import { describe, expect, it } from 'vitest';
import { bytesToHex, hexToBytes, reverse } from '../../src/core/bytes.js';
import { ErrorCode, HashgridError } from '../../src/core/errors.js';
import { decodeHeader, encodeHeader, parseHeaderHex, withNonce } from '../../src/core/header.js';
import { merkleBranch, merkleRoot } from '../../src/core/merkle.js';
import { createHash } from 'node:crypto';
import { hashToDisplayHex, meetsTarget, hashToBigInt, midstate, sha256d } from '../../src/core/sha256d.js';
import {
  bitsToTarget,
  DIFF1_TARGET,
  difficultyToTarget,
  MAX_TARGET,
  parseTargetHex,
  targetToBits,
  targetToDifficulty,
} from '../../src/core/target.js';
import { compress, IV } from '../helpers/fips180.js';
import { bitcoinHeaders } from '../helpers/vectors.js';

const headers = bitcoinHeaders();

const codeOf = (f: () => unknown): string | undefined => {
  try {
    f();
  } catch (e) {
    return e instanceof HashgridError ? e.code : `not typed: ${String(e)}`;
  }
  return undefined;
};

describe('header', () => {
  it('decodes every real header into the fields the JSON gives, and encodes it back', () => {
    expect(headers.length).toBe(20);
    for (const v of headers) {
      const bytes = parseHeaderHex(v.header);
      const h = decodeHeader(bytes);
      expect({ version: h.version, time: h.time, bits: h.bits, nonce: h.nonce }).toEqual({
        version: v.version,
        time: v.time,
        bits: v.bits,
        nonce: v.nonce,
      });
      expect(bytesToHex(encodeHeader(h))).toBe(v.header);
    }
  });

  it('hashes every real header to its block hash (display order), meeting its own target', () => {
    for (const v of headers) {
      const hash = sha256d(parseHeaderHex(v.header));
      expect(hashToDisplayHex(hash)).toBe(v.hash);
      expect(meetsTarget(hash, bitsToTarget(v.bits))).toBe(true);
      expect(hashToBigInt(hash)).toBe(BigInt(`0x${v.hash}`));
    }
  });

  it('sets the nonce little-endian at bytes 76..79', () => {
    const h = withNonce(new Uint8Array(80), 0x01020304);
    expect([...h.subarray(76)]).toEqual([4, 3, 2, 1]);
  });

  it('rejects wrong lengths and non-hex with typed errors', () => {
    expect(codeOf(() => parseHeaderHex('00'.repeat(79)))).toBe(ErrorCode.INVALID_LENGTH);
    expect(codeOf(() => parseHeaderHex('zz'.repeat(80)))).toBe(ErrorCode.INVALID_HEX);
    expect(codeOf(() => decodeHeader(new Uint8Array(81)))).toBe(ErrorCode.INVALID_LENGTH);
    expect(codeOf(() => withNonce(new Uint8Array(80), 2 ** 32))).toBe(ErrorCode.INVALID_ARGUMENT);
  });
});

describe('target, bits and difficulty', () => {
  it('decodes 0x1d00ffff to difficulty 1', () => {
    expect(bitsToTarget(0x1d00ffff)).toBe(DIFF1_TARGET);
    expect(targetToDifficulty(DIFF1_TARGET)).toBe(1);
    expect(difficultyToTarget(1)).toBe(DIFF1_TARGET);
  });

  it('gives block 125552 its known network difficulty', () => {
    // bits 0x1a44b9f2: difficulty 244,112.48777 (Bitcoin wiki, "Difficulty").
    expect(targetToDifficulty(bitsToTarget(0x1a44b9f2))).toBeCloseTo(244112.48777, 4);
  });

  it('round-trips every real header bits value through target and back', () => {
    for (const v of headers) expect(targetToBits(bitsToTarget(v.bits))).toBe(v.bits);
  });

  it('halves the target when the difficulty doubles', () => {
    expect(difficultyToTarget(2)).toBe(DIFF1_TARGET / 2n);
    expect(difficultyToTarget(0.5)).toBe(DIFF1_TARGET * 2n);
  });

  it('rejects bad bits, targets and difficulties with typed errors', () => {
    expect(codeOf(() => bitsToTarget(0x1d80ffff))).toBe(ErrorCode.INVALID_BITS); // sign bit
    expect(codeOf(() => bitsToTarget(0x01000000))).toBe(ErrorCode.INVALID_BITS); // zero
    expect(codeOf(() => bitsToTarget(0x2300ffff))).toBe(ErrorCode.TARGET_OUT_OF_RANGE); // overflow
    expect(codeOf(() => parseTargetHex('00'.repeat(32)))).toBe(ErrorCode.TARGET_OUT_OF_RANGE);
    expect(codeOf(() => parseTargetHex('ff'.repeat(31)))).toBe(ErrorCode.INVALID_LENGTH);
    expect(codeOf(() => difficultyToTarget(0))).toBe(ErrorCode.INVALID_DIFFICULTY);
    expect(codeOf(() => difficultyToTarget(Number.NaN))).toBe(ErrorCode.INVALID_DIFFICULTY);
    expect(codeOf(() => difficultyToTarget(1e-12))).toBe(ErrorCode.TARGET_OUT_OF_RANGE);
    expect(parseTargetHex('ff'.repeat(32))).toBe(MAX_TARGET);
  });
});

describe('midstate', () => {
  it('is H(1) of FIPS 180-4 §6.2.2 for every real header, and finishes to the header\'s SHA-256', () => {
    for (const v of headers) {
      const header = parseHeaderHex(v.header);
      const mid = midstate(header);
      expect(Array.from(mid)).toEqual(Array.from(compress(IV, header.subarray(0, 64))));
      // The second block: the last 16 header bytes, 0x80, zeros, the 640-bit length (§5.1.1).
      const tail = new Uint8Array(64);
      tail.set(header.subarray(64));
      tail[16] = 0x80;
      new DataView(tail.buffer).setUint32(60, 640, false);
      const digest = new Uint8Array(32);
      compress(mid, tail).forEach((word, i) => new DataView(digest.buffer).setUint32(4 * i, word, false));
      expect(bytesToHex(digest)).toBe(createHash('sha256').update(header).digest('hex'));
    }
  });

  it('depends on the first 64 bytes only', () => {
    const header = parseHeaderHex(headers[7]!.header);
    const later = withNonce(header, 12345);
    expect(midstate(later)).toEqual(midstate(header));
    const earlier = Uint8Array.from(header);
    earlier[63] = earlier[63]! ^ 1;
    expect(midstate(earlier)).not.toEqual(midstate(header));
  });
});

describe('merkle root', () => {
  const leaf = (i: number) => sha256d(Uint8Array.of(i));
  const pair = (a: Uint8Array, b: Uint8Array) => sha256d(Uint8Array.from([...a, ...b]));

  it('is the leaf itself for one transaction', () => {
    expect(merkleRoot([leaf(1)])).toEqual(leaf(1));
  });

  it('duplicates the last node of an odd level (Bitcoin rule)', () => {
    const [a, b, c] = [leaf(1), leaf(2), leaf(3)];
    expect(merkleRoot([a, b, c])).toEqual(pair(pair(a, b), pair(c, c)));
  });

  it('folds the branch of leaf 0 back to the root, as a Stratum miner does', () => {
    for (const n of [1, 2, 3, 5, 8, 13]) {
      const leaves = Array.from({ length: n }, (_, i) => leaf(i));
      let node = leaves[0]!;
      for (const sibling of merkleBranch(leaves, 0)) node = pair(node, sibling);
      expect(bytesToHex(node), `${n} leaves`).toBe(bytesToHex(merkleRoot(leaves)));
    }
  });

  it('computes the root of a real block: 125552 (4 transactions)', () => {
    // txids of block 125552 in display order (Bitcoin wiki "Block hashing algorithm").
    const txids = [
      '51d37bdd871c9e1f4d5541be67a6ab625e32028744d7d4609d0c37747b40cd2d',
      '60c25dda8d41f8d3d7d5c6249e2ea1b05a25bf7ae2ad6d904b512b31f997e1a1',
      '01f314cdd8566d3e5dbdd97de2d9fbfbfd6873e916a00d48758282cbb81a45b9',
      'b519286a1040da6ad83c783eb2872659eaf57b1bec088e614776ffe7dc8f6d01',
    ];
    const root = merkleRoot(txids.map((t) => reverse(hexToBytes(t))));
    const header = headers.find((h) => h.height === 125552)!;
    expect(bytesToHex(root)).toBe(header.header.slice(72, 136));
  });
});
