// SHA-256 in AssemblyScript: the general (loop-based) compression, one message
// at a time and four messages at once in v128 lanes, and the full-target check
// behind the scan kernels' early reject. FIPS 180-4 section numbers in comments.
import { IV, K } from './constants.generated';
import { compress4, expand, ld, setIV, W4 } from './sha256x4';

// Message schedule scratch for one message.
const W = new StaticArray<u32>(64);
// Padded final blocks (at most two) of the message being hashed.
const TAIL = new StaticArray<u8>(128);

// §6.2.2: one compression of the 64-byte block at `block` (big-endian words) into `state`.
function compress(state: usize, block: usize): void {
  for (let t = 0; t < 16; t++) unchecked((W[t] = bswap<u32>(load<u32>(block + (<usize>t << 2)))));
  for (let t = 16; t < 64; t++) {
    const w15 = unchecked(W[t - 15]);
    const w2 = unchecked(W[t - 2]);
    const s0 = rotr<u32>(w15, 7) ^ rotr<u32>(w15, 18) ^ (w15 >>> 3);
    const s1 = rotr<u32>(w2, 17) ^ rotr<u32>(w2, 19) ^ (w2 >>> 10);
    unchecked((W[t] = s1 + unchecked(W[t - 7]) + s0 + unchecked(W[t - 16])));
  }
  let a = load<u32>(state, 0), b = load<u32>(state, 4), c = load<u32>(state, 8), d = load<u32>(state, 12);
  let e = load<u32>(state, 16), f = load<u32>(state, 20), g = load<u32>(state, 24), h = load<u32>(state, 28);
  for (let t = 0; t < 64; t++) {
    const t1 = h + (rotr<u32>(e, 6) ^ rotr<u32>(e, 11) ^ rotr<u32>(e, 25)) + (g ^ (e & (f ^ g))) + unchecked(K[t]) + unchecked(W[t]);
    const t2 = (rotr<u32>(a, 2) ^ rotr<u32>(a, 13) ^ rotr<u32>(a, 22)) + ((a & b) | (c & (a | b)));
    h = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
  }
  store<u32>(state, load<u32>(state, 0) + a, 0);
  store<u32>(state, load<u32>(state, 4) + b, 4);
  store<u32>(state, load<u32>(state, 8) + c, 8);
  store<u32>(state, load<u32>(state, 12) + d, 12);
  store<u32>(state, load<u32>(state, 16) + e, 16);
  store<u32>(state, load<u32>(state, 20) + f, 20);
  store<u32>(state, load<u32>(state, 24) + g, 24);
  store<u32>(state, load<u32>(state, 28) + h, 28);
}

// §5.1.1: the padded tail of a `len`-byte message: its last partial block, 0x80,
// zeros and the 64-bit bit length. Returns the number of tail blocks (1 or 2).
function padTail(msg: usize, len: usize): i32 {
  const rest = len & 63;
  const blocks = rest < 56 ? 1 : 2;
  memory.fill(changetype<usize>(TAIL), 0, 128);
  memory.copy(changetype<usize>(TAIL), msg + len - rest, rest);
  unchecked((TAIL[<i32>rest] = 0x80));
  store<u64>(changetype<usize>(TAIL) + (<usize>blocks << 6) - 8, bswap<u64>(<u64>len << 3));
  return blocks;
}

/** SHA-256 of `len` bytes at `msg`; the 32-byte digest is written to `out`. */
export function sha256(msg: usize, len: usize, out: usize): void {
  for (let i = 0; i < 8; i++) store<u32>(out + (<usize>i << 2), unchecked(IV[i]));
  const full = len & ~(<usize>63);
  for (let off: usize = 0; off < full; off += 64) compress(out, msg + off);
  const blocks = padTail(msg, len);
  for (let b = 0; b < blocks; b++) compress(out, changetype<usize>(TAIL) + (<usize>b << 6));
  for (let i = 0; i < 8; i++) store<u32>(out + (<usize>i << 2), bswap<u32>(load<u32>(out + (<usize>i << 2))));
}

// Word `t` of padded block `block` of a `len`-byte message (§5.1.1), big-endian.
@inline function paddedWord(msg: usize, len: usize, blocks: usize, block: usize, t: usize): u32 {
  const pos = (block << 6) + (t << 2);
  if (pos + 4 <= len) return bswap<u32>(load<u32>(msg + pos));
  if (block == blocks - 1 && t == 14) return <u32>(<u64>len >>> 29);
  if (block == blocks - 1 && t == 15) return <u32>(len << 3);
  let word: u32 = 0;
  for (let k: usize = 0; k < 4; k++) {
    const p = pos + k;
    const byte: u32 = p < len ? load<u8>(msg + p) : p == len ? 0x80 : 0;
    word = (word << 8) | byte;
  }
  return word;
}

// The four lanes' states (sha256x4.ts layout).
const STATE4 = new StaticArray<v128>(8);

// Four messages of `len` bytes, one per v128 lane, hashed together; digests to out[0..127].
function sha256x4(m0: usize, m1: usize, m2: usize, m3: usize, len: usize, out: usize): void {
  const blocks: usize = ((len + 8) >> 6) + 1;
  const st = changetype<usize>(STATE4);
  setIV(st);
  for (let blk: usize = 0; blk < blocks; blk++) {
    for (let t: usize = 0; t < 16; t++) {
      let v = i32x4.splat(paddedWord(m0, len, blocks, blk, t));
      v = i32x4.replace_lane(v, 1, paddedWord(m1, len, blocks, blk, t));
      v = i32x4.replace_lane(v, 2, paddedWord(m2, len, blocks, blk, t));
      v = i32x4.replace_lane(v, 3, paddedWord(m3, len, blocks, blk, t));
      unchecked((W4[<i32>t] = v));
    }
    expand();
    compress4(st);
  }
  for (let i: usize = 0; i < 8; i++) storeLanes(out, i, ld(st, i));
}

// Word `i` of each lane's digest, big-endian, into digest `lane` at out + 32·lane.
@inline function storeLanes(out: usize, i: usize, v: v128): void {
  store<u32>(out + (i << 2), bswap<u32>(i32x4.extract_lane(v, 0)));
  store<u32>(out + 32 + (i << 2), bswap<u32>(i32x4.extract_lane(v, 1)));
  store<u32>(out + 64 + (i << 2), bswap<u32>(i32x4.extract_lane(v, 2)));
  store<u32>(out + 96 + (i << 2), bswap<u32>(i32x4.extract_lane(v, 3)));
}

/**
 * SHA-256 of `count` messages of `len` bytes each, stored back to back at
 * `msgs`; digest i goes to out + 32·i. Groups of four share v128 lanes; the
 * last group is padded with copies of its first message.
 */
export function sha256Batch(msgs: usize, len: usize, count: usize, out: usize): void {
  let i: usize = 0;
  for (; i + 4 <= count; i += 4) {
    const m = msgs + i * len;
    sha256x4(m, m + len, m + 2 * len, m + 3 * len, len, out + (i << 5));
  }
  for (; i < count; i++) sha256(msgs + i * len, len, out + (i << 5));
}

// Scratch for checkCandidate: second block / digest of the first hash, and the final state.
const BLOCK = new StaticArray<u8>(64);
const STATE = new StaticArray<u32>(8);

/**
 * The full check behind the kernels' early reject: sha256d of the header with
 * `nonce` from the scan parameters, compared with the whole 256-bit target.
 * Records a hit and returns the new hit count.
 */
export function checkCandidate(params: usize, nonce: u32, hits: usize, maxHits: u32, found: u32): u32 {
  const block = changetype<usize>(BLOCK);
  const state = changetype<usize>(STATE);
  // First hash: midstate, then header bytes 64..79 and padding for 80 bytes.
  memory.copy(state, params, 32);
  memory.fill(block, 0, 64);
  store<u32>(block, bswap<u32>(load<u32>(params, 32)), 0);
  store<u32>(block, bswap<u32>(load<u32>(params, 36)), 4);
  store<u32>(block, bswap<u32>(load<u32>(params, 40)), 8);
  store<u32>(block, nonce, 12);
  store<u8>(block, 0x80, 16);
  store<u64>(block, bswap<u64>(<u64>640), 56);
  compress(state, block);
  // Second hash: the 32-byte digest, padded for 256 bits.
  memory.fill(block, 0, 64);
  for (let i: usize = 0; i < 8; i++) store<u32>(block + (i << 2), bswap<u32>(load<u32>(state + (i << 2))));
  store<u8>(block, 0x80, 32);
  store<u64>(block, bswap<u64>(<u64>256), 56);
  for (let i = 0; i < 8; i++) store<u32>(state + (<usize>i << 2), unchecked(IV[i]));
  compress(state, block);
  // Hash as a little-endian 256-bit number: its word i is the byte-swapped digest word i.
  for (let i = 7; i >= 0; i--) {
    const h = bswap<u32>(load<u32>(state + (<usize>i << 2)));
    const t = load<u32>(params + 44 + (<usize>i << 2));
    if (h < t) break;
    if (h > t) return found;
  }
  if (found < maxHits) store<u32>(hits + (<usize>found << 2), nonce);
  return found + 1;
}
