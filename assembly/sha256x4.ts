// SHA-256 on four messages at once, one per v128 lane (FIPS 180-4 section
// numbers in comments): the schedule in W4, the lanes' states as eight v128
// in linear memory. sha256.ts (batches) and merkle.ts (whole trees) fill W4
// their own way and share this compression.
import { IV, K } from './constants.generated';

/** The message schedule of the four lanes: word t of each in vector t. */
export const W4 = new StaticArray<v128>(64);
@inline export function vrotr(x: v128, n: i32): v128 {
  return v128.or(i32x4.shr_u(x, n), i32x4.shl(x, 32 - n));
}

// §6.2.2 step 1: words 16..63 of the schedule in W4 from words 0..15.
export function expand(): void {
  for (let t = 16; t < 64; t++) {
    const w15 = unchecked(W4[t - 15]);
    const w2 = unchecked(W4[t - 2]);
    const x0 = v128.xor(v128.xor(vrotr(w15, 7), vrotr(w15, 18)), i32x4.shr_u(w15, 3));
    const x1 = v128.xor(v128.xor(vrotr(w2, 17), vrotr(w2, 19)), i32x4.shr_u(w2, 10));
    unchecked((W4[t] = i32x4.add(i32x4.add(x1, unchecked(W4[t - 7])), i32x4.add(x0, unchecked(W4[t - 16])))));
  }
}

// The four lanes' states: eight v128 at `st`.
@inline export function ld(st: usize, i: usize): v128 {
  return v128.load(st + (i << 4));
}
@inline export function sv(st: usize, i: usize, v: v128): void {
  v128.store(st + (i << 4), v);
}

// §6.2.2 steps 2–4 on the four states at `st`, with the schedule in W4.
export function compress4(st: usize): void {
  let a = ld(st, 0), b = ld(st, 1), c = ld(st, 2), d = ld(st, 3);
  let e = ld(st, 4), f = ld(st, 5), g = ld(st, 6), h = ld(st, 7);
  for (let t = 0; t < 64; t++) {
    const kw = i32x4.add(i32x4.splat(unchecked(K[t])), unchecked(W4[t]));
    const bs1 = v128.xor(v128.xor(vrotr(e, 6), vrotr(e, 11)), vrotr(e, 25));
    const t1 = i32x4.add(i32x4.add(h, bs1), i32x4.add(v128.bitselect(f, g, e), kw));
    const bs0 = v128.xor(v128.xor(vrotr(a, 2), vrotr(a, 13)), vrotr(a, 22));
    const t2 = i32x4.add(bs0, v128.bitselect(a, b, v128.xor(b, c)));
    h = g; g = f; f = e; e = i32x4.add(d, t1); d = c; c = b; b = a; a = i32x4.add(t1, t2);
  }
  sv(st, 0, i32x4.add(ld(st, 0), a)); sv(st, 1, i32x4.add(ld(st, 1), b));
  sv(st, 2, i32x4.add(ld(st, 2), c)); sv(st, 3, i32x4.add(ld(st, 3), d));
  sv(st, 4, i32x4.add(ld(st, 4), e)); sv(st, 5, i32x4.add(ld(st, 5), f));
  sv(st, 6, i32x4.add(ld(st, 6), g)); sv(st, 7, i32x4.add(ld(st, 7), h));
}

@inline export function setIV(st: usize): void {
  for (let i: usize = 0; i < 8; i++) sv(st, i, i32x4.splat(unchecked(IV[<i32>i])));
}

// Big-endian words: reverses the bytes of each 32-bit lane.
@inline export function bswap4(v: v128): v128 {
  return i8x16.shuffle(v, v, 3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12);
}

