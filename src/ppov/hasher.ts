/**
 * The engine's wasm Merkle tree hash (assembly/merkle.ts: SHA-256 four hashes
 * at a time in v128 lanes) as the PPoV TxHasher, for blocks' Merkle roots
 * (claim 14 (2)). Equal to referenceTxHasher (test/unit/ppov-hasher.test.ts).
 */
import { WasmHasher } from '../engine/wasm/module.js';
import type { TxHasher } from './encode.js';

export function wasmTxHasher(wasm: WasmHasher = new WasmHasher()): TxHasher {
  return { merkleRoot: (txs) => wasm.merkleTreeHash(txs) };
}
