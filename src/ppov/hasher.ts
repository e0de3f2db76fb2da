/**
 * The engine's batch SHA-256 (src/engine/wasm, 4-lane v128) as the PPoV
 * TxHasher: txids and Merkle roots (claim 14 (2)) hashed four messages at a
 * time. SHA-256d of n equal-length messages is two sha256Batch calls: the
 * messages, then their 32-byte digests. Equal to referenceTxHasher
 * (test/unit/ppov-hasher.test.ts).
 */
import type { PairHasher } from '../core/merkle.js';
import { WasmHasher } from '../engine/wasm/module.js';
import type { TxHasher } from './encode.js';

/** SHA-256d of `count` messages of `length` bytes each, back to back; digests back to back. */
export function sha256dBatch(wasm: WasmHasher, messages: Uint8Array, length: number, count: number): Uint8Array {
  return wasm.sha256Batch(wasm.sha256Batch(messages, length, count), 32, count);
}

/** A PairHasher for core/merkle.ts: SHA-256d of 64-byte pairs on the engine's batch SHA-256. */
export const wasmPairHasher = (wasm: WasmHasher): PairHasher => (pairs, count) => sha256dBatch(wasm, pairs.subarray(0, count * 64), 64, count);

/**
 * A TxHasher on the engine's batch SHA-256. Transactions are batched by
 * length (a block of K transactions of T bytes is one batch of K).
 */
export function wasmTxHasher(wasm: WasmHasher = new WasmHasher()): TxHasher {
  return {
    txids(txs) {
      const out = new Uint8Array(txs.length * 32);
      const byLength = new Map<number, number[]>();
      txs.forEach((t, i) => {
        let list = byLength.get(t.length);
        if (!list) byLength.set(t.length, (list = []));
        list.push(i);
      });
      for (const [length, indexes] of byLength) {
        const buf = new Uint8Array(length * indexes.length);
        indexes.forEach((i, k) => buf.set(txs[i]!, k * length));
        const ids = sha256dBatch(wasm, buf, length, indexes.length);
        indexes.forEach((i, k) => out.set(ids.subarray(k * 32, k * 32 + 32), i * 32));
      }
      return out;
    },
    pairs: wasmPairHasher(wasm),
  };
}
