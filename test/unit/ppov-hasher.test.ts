/**
 * The engine's batch SHA-256 as PPoV's Merkle hasher (src/ppov/hasher.ts)
 * gives exactly the reference's txids, pair hashes and Merkle roots.
 */
import { describe, expect, it } from 'vitest';
import { referencePairHasher } from '../../src/core/merkle.js';
import { sha256 } from '../../src/ppov/crypto.js';
import { referenceTxHasher, txMerkleRoot } from '../../src/ppov/encode.js';
import { wasmTxHasher } from '../../src/ppov/hasher.js';

const tx = (i: number, length: number) => {
  const out = new Uint8Array(length);
  for (let o = 0; o < length; o += 32) out.set(sha256(`tx-${i}-${o}`).subarray(0, Math.min(32, length - o)), o);
  return out;
};

describe('PPoV Merkle roots on the engine batch SHA-256', () => {
  const wasm = wasmTxHasher();

  it('pairs: SHA-256d of 64-byte messages equals the reference, for counts around the 4-lane width', () => {
    for (const count of [1, 2, 3, 4, 5, 7, 8, 9, 33]) {
      const pairs = new Uint8Array(count * 64);
      for (let i = 0; i < count; i++) pairs.set(tx(i, 64), i * 64);
      expect(Buffer.from(wasm.pairs(pairs, count)).toString('hex')).toBe(Buffer.from(referencePairHasher(pairs, count)).toString('hex'));
    }
  });

  it('txids of mixed lengths (0, 40, 55, 56, 64, 119, 300 bytes) equal the reference, in order', () => {
    const txs = [40, 0, 55, 40, 56, 64, 119, 300, 40, 40, 40].map((len, i) => tx(i, len));
    expect(Buffer.from(wasm.txids(txs)).toString('hex')).toBe(Buffer.from(referenceTxHasher.txids(txs)).toString('hex'));
  });

  it('Merkle roots equal the reference for 1..70 transactions and for a 10,000-transaction block of 40-byte transactions', () => {
    for (let n = 1; n <= 70; n++) {
      const txs = Array.from({ length: n }, (_, i) => tx(i, 40));
      expect(txMerkleRoot(txs, wasm)).toBe(txMerkleRoot(txs, referenceTxHasher));
    }
    const big = Array.from({ length: 10_000 }, (_, i) => tx(i, 40));
    const root = txMerkleRoot(big, wasm);
    expect(root).toBe(txMerkleRoot(big, referenceTxHasher));
    // A changed transaction changes the root.
    big[9_999] = tx(-1, 40);
    expect(txMerkleRoot(big, wasm)).not.toBe(root);
  });
});
