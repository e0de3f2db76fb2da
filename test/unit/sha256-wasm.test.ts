/**
 * The wasm SHA-256 paths against the NIST CAVP byte-oriented vectors:
 * scalar (one message), SIMD (four messages in v128 lanes), and batch
 * (SIMD groups plus a scalar tail).
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import { bytesToHex } from '../../src/core/bytes.js';
import { WasmHasher } from '../../src/engine/wasm/module.js';
import { nistMonte, nistVectors } from '../helpers/vectors.js';

const wasm = new WasmHasher();
const short = nistVectors('SHA256ShortMsg.rsp');
const long = nistVectors('SHA256LongMsg.rsp');

describe('NIST CAVP SHA-256', () => {
  it('has the expected number of vectors', () => {
    expect(short).toHaveLength(65);
    expect(long).toHaveLength(64);
  });

  for (const [name, vectors] of [
    ['ShortMsg', short],
    ['LongMsg', long],
  ] as const) {
    it(`${name} through the scalar path`, () => {
      for (const v of vectors) expect(bytesToHex(wasm.sha256(v.msg)), `Len = ${v.len}`).toBe(v.md);
    });

    it(`${name} through the SIMD path (four lanes)`, () => {
      for (const v of vectors) {
        // Lane k holds the message with its first byte xor k, so lanes differ; lane 0 is the vector.
        const lanes = [0, 1, 2, 3].map((k) => {
          const m = Uint8Array.from(v.msg);
          if (m.length > 0) m[0] = m[0]! ^ k;
          return m;
        });
        const digests = wasm.sha256Batch(concat(lanes), v.msg.length, 4);
        expect(bytesToHex(digests.subarray(0, 32)), `Len = ${v.len}`).toBe(v.md);
        for (let k = 1; k < 4; k++) expect(bytesToHex(digests.subarray(32 * k, 32 * k + 32))).toBe(bytesToHex(sha256(lanes[k]!)));
      }
    });

    it(`${name} through the batch path (SIMD groups and a scalar tail)`, () => {
      for (const v of vectors) {
        const digests = wasm.sha256Batch(concat(Array(7).fill(v.msg)), v.msg.length, 7);
        for (let k = 0; k < 7; k++) expect(bytesToHex(digests.subarray(32 * k, 32 * k + 32)), `Len = ${v.len} copy ${k}`).toBe(v.md);
      }
    });
  }

  it('Monte Carlo: 100 checkpoints of 1000 chained hashes (scalar path)', () => {
    const { seed, checkpoints } = nistMonte();
    expect(checkpoints).toHaveLength(100);
    let md = seed;
    for (const expected of checkpoints) {
      let [a, b, c] = [md, md, md];
      for (let i = 3; i < 1003; i++) {
        const next = wasm.sha256(concat([a, b, c]));
        [a, b, c] = [b, c, next];
      }
      md = c;
      expect(bytesToHex(md)).toBe(expected);
    }
  });
});

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
