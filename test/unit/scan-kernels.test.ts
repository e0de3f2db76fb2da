/**
 * The wasm scan kernels (scalar and v128) against the @noble/hashes reference:
 * random headers and targets, hits at every lane position.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { withNonce } from '../../src/core/header.js';
import { hashToBigInt, meetsTarget, sha256d } from '../../src/core/sha256d.js';
import { MAX_TARGET } from '../../src/core/target.js';
import { scanParams } from '../../src/engine/params.js';
import { WasmHasher } from '../../src/engine/wasm/module.js';

const wasm = new WasmHasher();

function referenceHits(header: Uint8Array, start: number, count: number, target: bigint): number[] {
  const hits: number[] = [];
  for (let n = start; n < start + count; n++) if (meetsTarget(sha256d(withNonce(header, n)), target)) hits.push(n);
  return hits;
}

function kernelHits(kernel: 'simd' | 'scalar', header: Uint8Array, start: number, count: number, target: bigint): number[] {
  wasm.setParams(scanParams(header, target));
  const r = wasm.scan(kernel, start, count);
  expect(r.found).toBe(r.hits.length);
  return r.hits;
}

const header = fc.uint8Array({ minLength: 80, maxLength: 80 });

describe('scan kernels = reference', () => {
  it('agree on random headers with random targets', () => {
    fc.assert(
      fc.property(header, fc.integer({ min: 0, max: 2 ** 32 - 200 }), fc.integer({ min: 1, max: 150 }), fc.bigInt({ min: 1n, max: MAX_TARGET }), (h, start, count, target) => {
        const expected = referenceHits(h, start, count, target);
        expect(kernelHits('scalar', h, start, count, target)).toEqual(expected);
        expect(kernelHits('simd', h, start, count, target)).toEqual(expected);
      }),
      { numRuns: 150 },
    );
  });

  it('find a hit at every v128 lane, and in the scalar tail', () => {
    // Target = the hash of one chosen nonce: that nonce hits, and so may a few with smaller hashes.
    fc.assert(
      fc.property(header, fc.integer({ min: 0, max: 2 ** 32 - 64 }), fc.integer({ min: 0, max: 18 }), (h, start, offset) => {
        const count = 19; // four full 4-nonce vectors and a 3-nonce tail
        const target = hashToBigInt(sha256d(withNonce(h, start + offset)));
        const expected = referenceHits(h, start, count, target);
        expect(expected).toContain(start + offset);
        expect(kernelHits('scalar', h, start, count, target)).toEqual(expected);
        expect(kernelHits('simd', h, start, count, target)).toEqual(expected);
      }),
      { numRuns: 200 },
    );
  });

  it('handle the last nonces of the 32-bit space without wrapping', () => {
    const h = new Uint8Array(80).fill(7);
    const start = 2 ** 32 - 19;
    const target = hashToBigInt(sha256d(withNonce(h, 2 ** 32 - 1)));
    const expected = referenceHits(h, start, 19, target);
    expect(expected).toContain(2 ** 32 - 1);
    expect(kernelHits('simd', h, start, 19, target)).toEqual(expected);
  });

  it('count every hit and store up to the hit buffer when all nonces hit', () => {
    wasm.setParams(scanParams(new Uint8Array(80), MAX_TARGET));
    const r = wasm.scan('simd', 0, WasmHasher.MAX_HITS + 100);
    expect(r.found).toBe(WasmHasher.MAX_HITS + 100);
    expect(r.hits).toHaveLength(WasmHasher.MAX_HITS);
    expect(r.hits[5]).toBe(5);
  });
});
