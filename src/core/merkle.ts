/**
 * Bitcoin Merkle root: hash pairs of nodes with SHA-256d, level by level;
 * a level with an odd number of nodes pairs its last node with itself.
 * Nodes are raw 32-byte hashes in internal byte order (txids as serialized).
 */
import { abytes } from './bytes.js';
import { sha256d } from './sha256d.js';

/**
 * Hashes `count` 64-byte messages stored back to back with SHA-256d and
 * returns the 32-byte digests back to back. The engine's batch SHA-256
 * provides a fast one; the default is the reference.
 */
export type PairHasher = (pairs: Uint8Array, count: number) => Uint8Array;

export const referencePairHasher: PairHasher = (pairs, count) => {
  const out = new Uint8Array(count * 32);
  for (let i = 0; i < count; i++) out.set(sha256d(pairs.subarray(i * 64, i * 64 + 64)), i * 32);
  return out;
};

export function merkleRoot(leaves: readonly Uint8Array[], hashPairs: PairHasher = referencePairHasher): Uint8Array {
  if (leaves.length === 0) throw new RangeError('merkleRoot: no leaves (a block has at least its coinbase)');
  leaves.forEach((l, i) => abytes(l, 32, `leaf ${i}`));
  let level: Uint8Array = new Uint8Array(leaves.length * 32);
  leaves.forEach((l, i) => level.set(l, i * 32));
  let count = leaves.length;
  while (count > 1) {
    const pairs = Math.ceil(count / 2);
    const buf = new Uint8Array(pairs * 64);
    buf.set(level.subarray(0, count * 32));
    // Bitcoin rule: an odd level duplicates its last node.
    if (count % 2 === 1) buf.set(level.subarray((count - 1) * 32, count * 32), count * 32);
    level = hashPairs(buf, pairs);
    count = pairs;
  }
  return level.slice(0, 32);
}

/** The Merkle branch (sibling path) of leaf `index`, as Stratum's merkle_branch lists it for index 0. */
export function merkleBranch(leaves: readonly Uint8Array[], index: number, hashPairs: PairHasher = referencePairHasher): Uint8Array[] {
  const branch: Uint8Array[] = [];
  let level = leaves.map((l) => Uint8Array.from(l));
  let i = index;
  while (level.length > 1) {
    if (level.length % 2 === 1) level.push(level[level.length - 1]!);
    branch.push(level[i ^ 1]!);
    const buf = new Uint8Array(level.length * 32);
    level.forEach((l, k) => buf.set(l, k * 32));
    const hashed = hashPairs(buf, level.length / 2);
    level = Array.from({ length: level.length / 2 }, (_, k) => hashed.slice(k * 32, k * 32 + 32));
    i >>= 1;
  }
  return branch;
}
