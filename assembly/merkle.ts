// The Merkle tree hash of RFC 6962 §2.1 over a list of entries, four hashes
// at a time in v128 lanes, without leaving wasm: a leaf is SHA-256(0x00 ||
// entry), a node SHA-256(0x01 || left || right). Level by level, a level with
// an odd number of nodes promotes its last node unchanged, which is the RFC's
// split at the largest power of two (src/ppov/encode.ts holds the reference).
// The domain bytes keep a leaf from passing for a node, and no list has the
// root of another (Bitcoin's duplicated last node, CVE-2012-2459, allows it).
// FIPS 180-4 section numbers in comments.
//
// A level lives in a "lane-major" layout: nodes 4g..4g+3 form group g, stored
// as eight v128, vector t holding word t of the four digests. A SHA-256 state
// in lanes is exactly that, and the next level's pairs come from two groups
// with one shuffle per word, so digests never go back to bytes until the root.
import { bswap4, compress4, expand, ld, setIV, sv, W4 } from './sha256x4';

// Padded tails (at most two blocks) of the four messages in the lanes.
const TAILS = new StaticArray<u8>(4 * 128);

// W4[0..15] from one 64-byte block per lane: load, byte-swap, transpose 4×4 words.
function loadBlocks(p0: usize, p1: usize, p2: usize, p3: usize): void {
  for (let q: usize = 0; q < 4; q++) {
    const a = bswap4(v128.load(p0 + (q << 4)));
    const b = bswap4(v128.load(p1 + (q << 4)));
    const c = bswap4(v128.load(p2 + (q << 4)));
    const d = bswap4(v128.load(p3 + (q << 4)));
    const ab01 = v128.shuffle<i32>(a, b, 0, 4, 1, 5);
    const cd01 = v128.shuffle<i32>(c, d, 0, 4, 1, 5);
    const ab23 = v128.shuffle<i32>(a, b, 2, 6, 3, 7);
    const cd23 = v128.shuffle<i32>(c, d, 2, 6, 3, 7);
    const t = <i32>(q << 2);
    unchecked((W4[t] = v128.shuffle<i64>(ab01, cd01, 0, 2)));
    unchecked((W4[t + 1] = v128.shuffle<i64>(ab01, cd01, 1, 3)));
    unchecked((W4[t + 2] = v128.shuffle<i64>(ab23, cd23, 0, 2)));
    unchecked((W4[t + 3] = v128.shuffle<i64>(ab23, cd23, 1, 3)));
  }
}

// §5.1.1: the padded tail of lane `lane`'s message; returns its number of
// full blocks (the tail follows them as one or two more).
function padTail(lane: usize, msg: usize, len: usize): usize {
  const tail = changetype<usize>(TAILS) + (lane << 7);
  const full = len >> 6;
  const rest = len & 63;
  const blocks: usize = rest < 56 ? 1 : 2;
  memory.fill(tail, 0, 128);
  memory.copy(tail, msg + (full << 6), rest);
  store<u8>(tail + rest, 0x80);
  store<u64>(tail + (blocks << 6) - 8, bswap<u64>(<u64>len << 3));
  return full;
}

// Block `blk` of lane `lane`'s padded message, or any readable block once the lane is done.
@inline function blockAt(lane: usize, msg: usize, full: usize, blk: usize): usize {
  const tail = changetype<usize>(TAILS) + (lane << 7);
  if (blk < full) return msg + (blk << 6);
  const k = blk - full;
  return k < 2 ? tail + (k << 6) : tail;
}

// SHA-256 of four leaf inputs (offset/length pairs at table + 8·i, offsets from
// base) into the states at `st`. Lanes whose message has fewer blocks keep
// their state while the others finish.
function leaves4(base: usize, table: usize, i0: usize, count: usize, st: usize, saved: usize): void {
  let m0: usize = 0, m1: usize = 0, m2: usize = 0, m3: usize = 0;
  let f0: usize = 0, f1: usize = 0, f2: usize = 0, f3: usize = 0;
  let n0: usize = 0, n1: usize = 0, n2: usize = 0, n3: usize = 0;
  for (let lane: usize = 0; lane < 4; lane++) {
    // Past the last transaction a lane repeats it; its digest is never read.
    const i = min(i0 + lane, count - 1);
    const msg = base + <usize>load<u32>(table + (i << 3));
    const len = <usize>load<u32>(table + (i << 3) + 4);
    const full = padTail(lane, msg, len);
    const blocks = full + ((len & 63) < 56 ? 1 : 2);
    if (lane == 0) { m0 = msg; f0 = full; n0 = blocks; }
    else if (lane == 1) { m1 = msg; f1 = full; n1 = blocks; }
    else if (lane == 2) { m2 = msg; f2 = full; n2 = blocks; }
    else { m3 = msg; f3 = full; n3 = blocks; }
  }
  const most = max(max(n0, n1), max(n2, n3));
  const fewest = min(min(n0, n1), min(n2, n3));
  setIV(st);
  for (let blk: usize = 0; blk < most; blk++) {
    loadBlocks(blockAt(0, m0, f0, blk), blockAt(1, m1, f1, blk), blockAt(2, m2, f2, blk), blockAt(3, m3, f3, blk));
    expand();
    if (blk < fewest) {
      compress4(st);
      continue;
    }
    memory.copy(saved, st, 128);
    compress4(st);
    // Lanes already done take their saved state back.
    let done = i32x4.splat(0);
    if (blk >= n0) done = i32x4.replace_lane(done, 0, -1);
    if (blk >= n1) done = i32x4.replace_lane(done, 1, -1);
    if (blk >= n2) done = i32x4.replace_lane(done, 2, -1);
    if (blk >= n3) done = i32x4.replace_lane(done, 3, -1);
    for (let w: usize = 0; w < 8; w++) sv(st, w, v128.bitselect(ld(saved, w), ld(st, w), done));
  }
}

// Words of 0x01 || x || y one byte on: word i of the 65-byte node input ends
// with the first three bytes of `next` and starts with the last byte of `prev`.
@inline function shifted(prev: v128, next: v128): v128 {
  return v128.or(i32x4.shl(prev, 24), i32x4.shr_u(next, 8));
}

// SHA-256(0x01 || left || right) of the four pairs (2g+j, 2g+j+1) of groups a and b into `st`.
function nodes4(a: usize, b: usize, st: usize): void {
  // Lane j takes nodes 2j and 2j+1 of the eight in groups a, b.
  let prev = i32x4.splat(0x01);
  for (let w: usize = 0; w < 8; w++) {
    const left = v128.shuffle<i32>(ld(a, w), ld(b, w), 0, 2, 4, 6);
    unchecked((W4[<i32>w] = shifted(prev, left)));
    prev = left;
  }
  for (let w: usize = 0; w < 8; w++) {
    const right = v128.shuffle<i32>(ld(a, w), ld(b, w), 1, 3, 5, 7);
    unchecked((W4[<i32>w + 8] = shifted(prev, right)));
    prev = right;
  }
  expand();
  setIV(st);
  compress4(st);
  // §5.1.1: the second block holds the input's last byte, 0x80, zeros and the bit length 520.
  unchecked((W4[0] = v128.or(i32x4.shl(prev, 24), i32x4.splat(0x00800000))));
  for (let i = 1; i < 15; i++) unchecked((W4[i] = i32x4.splat(0)));
  unchecked((W4[15] = i32x4.splat(65 * 8)));
  expand();
  compress4(st);
}

// Node `k` of the level at `lvl`, word `w`.
@inline function nodeWord(lvl: usize, k: usize, w: usize): usize {
  return lvl + ((((k >> 2) << 3) + w) << 4) + ((k & 3) << 2);
}

/**
 * RFC 6962 Merkle tree hash of `count` ≥ 1 leaves into `out` (32 bytes).
 * Leaf i's whole input (0x00 || entry, laid out by the host) is `len` bytes
 * at base + off, with (off, len) as two u32 at table + 8·i. `lvl` is scratch
 * of merkleScratch(count) bytes, 16-byte aligned.
 */
export function merkleTreeHash(base: usize, table: usize, count: usize, lvl: usize, out: usize): void {
  // The levels (one spare group for the pair step's read past the end), then
  // the lanes' state and a saved copy of it.
  const st = lvl + ((((count + 3) >> 2) + 1) << 7);
  const keep = st + 128;
  for (let i: usize = 0; i < count; i += 4) {
    leaves4(base, table, i, count, st, keep);
    memory.copy(lvl + ((i >> 2) << 7), st, 128);
  }
  let n = count;
  while (n > 1) {
    const pairs = n >> 1;
    // An odd level's last node goes up unchanged; keep it before the level is overwritten.
    if (n & 1) for (let w: usize = 0; w < 8; w++) store<u32>(keep + (w << 2), load<u32>(nodeWord(lvl, n - 1, w)));
    // Group g of the next level reads groups 2g and 2g+1 and overwrites group g: never one not yet read.
    for (let g: usize = 0; g < (pairs + 3) >> 2; g++) {
      const a = lvl + ((g << 1) << 7);
      nodes4(a, a + 128, st);
      memory.copy(lvl + (g << 7), st, 128);
    }
    if (n & 1) for (let w: usize = 0; w < 8; w++) store<u32>(nodeWord(lvl, pairs, w), load<u32>(keep + (w << 2)));
    n = pairs + (n & 1);
  }
  for (let w: usize = 0; w < 8; w++) store<u32>(out + (w << 2), bswap<u32>(load<u32>(lvl + (w << 4))));
}

/** Bytes of scratch merkleRoot needs for `count` transactions. */
export function merkleScratch(count: usize): usize {
  return ((((count + 3) >> 2) + 3) << 7);
}
