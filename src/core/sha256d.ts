/**
 * The reference hash: SHA-256d through @noble/hashes. Every backend is tested
 * against it, and every hit a backend reports is re-checked with it before it
 * leaves the engine.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bigIntToBytesLE, bytesToBigIntLE, bytesToHex, reverse } from './bytes.js';

/** SHA-256(SHA-256(data)), raw digest bytes (internal order). */
export const sha256d = (data: Uint8Array): Uint8Array => sha256(sha256(data));

/** A raw digest in display order: byte-reversed hex, as block explorers show it. */
export const hashToDisplayHex = (hash: Uint8Array): string => bytesToHex(reverse(hash));

/** A raw digest as the 256-bit little-endian number compared with targets (Bitcoin). */
export const hashToBigInt = (hash: Uint8Array): bigint => bytesToBigIntLE(hash);

let cachedTarget = -1n;
let cachedTargetBytes: Uint8Array = new Uint8Array(32);

/** Proof-of-work rule: the hash, read as a little-endian number, is at most the target. */
export function meetsTarget(hash: Uint8Array, target: bigint): boolean {
  // Byte compare from the most significant end: this runs for every reference hash.
  if (target !== cachedTarget) {
    cachedTargetBytes = bigIntToBytesLE(target, 32);
    cachedTarget = target;
  }
  for (let i = 31; i >= 0; i--) {
    if (hash[i]! !== cachedTargetBytes[i]!) return hash[i]! < cachedTargetBytes[i]!;
  }
  return true;
}

/**
 * Midstate: the SHA-256 chaining value after the first 64-byte block, as eight
 * big-endian words (FIPS 180-4 §6.2.2, H(1)). The first block is the same
 * for every nonce of a job, so kernels start from it: the first hash of each
 * nonce then costs one compression instead of two.
 */
export function midstate(header: Uint8Array): Uint32Array {
  const h = sha256.create().update(header.subarray(0, 64));
  // noble compresses a block as soon as it is full, and keeps the chaining
  // value behind its protected get(); tests check this against full hashes.
  return Uint32Array.from((h as unknown as { get(): number[] }).get());
}
