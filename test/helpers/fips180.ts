/**
 * A test oracle: the SHA-256 compression function written straight from
 * FIPS 180-4 §6.2.2, slow and independent of every implementation under test
 * (@noble/hashes, the wasm kernels, the WGSL kernels). Used where a test needs
 * an intermediate state that no library exposes, such as the midstate.
 */
const K = Uint32Array.from(
  Array.from({ length: 64 }, (_, t) => {
    // §4.2.2: the first 32 bits of the fractional parts of the cube roots of the first 64 primes.
    const primes: number[] = [];
    for (let n = 2; primes.length < 64; n++) if (primes.every((p) => n % p !== 0)) primes.push(n);
    return Math.floor((Math.cbrt(primes[t]!) % 1) * 2 ** 32);
  }),
);

/** §5.3.3: the initial hash value H(0). */
export const IV = Uint32Array.from([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);

const rotr = (x: number, n: number) => (x >>> n) | (x << (32 - n));

/** §6.2.2 steps 1–4 for one 64-byte block: H(i) from H(i−1). */
export function compress(state: Uint32Array, block: Uint8Array): Uint32Array {
  const view = new DataView(block.buffer, block.byteOffset, 64);
  const w = new Uint32Array(64);
  for (let t = 0; t < 16; t++) w[t] = view.getUint32(4 * t, false);
  for (let t = 16; t < 64; t++) {
    const s0 = rotr(w[t - 15]!, 7) ^ rotr(w[t - 15]!, 18) ^ (w[t - 15]! >>> 3);
    const s1 = rotr(w[t - 2]!, 17) ^ rotr(w[t - 2]!, 19) ^ (w[t - 2]! >>> 10);
    w[t] = w[t - 16]! + s0 + w[t - 7]! + s1;
  }
  let [a, b, c, d, e, f, g, h] = state as unknown as number[];
  for (let t = 0; t < 64; t++) {
    const t1 = (h! + (rotr(e!, 6) ^ rotr(e!, 11) ^ rotr(e!, 25)) + ((e! & f!) ^ (~e! & g!)) + K[t]! + w[t]!) >>> 0;
    const t2 = ((rotr(a!, 2) ^ rotr(a!, 13) ^ rotr(a!, 22)) + ((a! & b!) ^ (a! & c!) ^ (b! & c!))) >>> 0;
    [h, g, f, e, d, c, b, a] = [g, f, e, (d! + t1) >>> 0, c, b, a, (t1 + t2) >>> 0];
  }
  return Uint32Array.from([a!, b!, c!, d!, e!, f!, g!, h!].map((x, i) => (x + state[i]!) >>> 0));
}
