/**
 * The sha256d nonce-search kernel as a DAG: one description, printed for every
 * backend (AssemblyScript scalar, AssemblyScript v128, WGSL).
 *
 * A Bitcoin header is 80 bytes: the first 64 are one SHA-256 block whose
 * compression (the midstate) is fixed per job. The second block holds header
 * bytes 64..79 — three job words and the nonce — and constant padding. Folded
 * per job or at generation time:
 *  - rounds 0..2 of the second block use only job words;
 *  - schedule words W4..W15 of both hashes are padding constants;
 *  - the second hash starts from the fixed IV.
 * Skipped: the final H7 of the second hash equals IV7 + e₆₀ (the value of `h`
 * after round 63 is `e` computed in round 60), so rounds 61..63 and the rest
 * of round 60 are never computed. A kernel rejects on that word alone and
 * only recomputes the full hash for the rare lanes that pass.
 */
import { Dag, type Node } from './dag.js';

/** FIPS 180-4 §4.2.2: the 64 round constants. */
export const SHA256_K: readonly number[] = [
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

/** FIPS 180-4 §5.3.3: the initial hash value H(0). */
export const SHA256_IV: readonly number[] = [
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

/** Names of the kernel's inputs, shared with every printed kernel. */
export const JOB_INPUTS = {
  midstate: ['m0', 'm1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7'],
  /** Header bytes 64..75 as big-endian words: merkle-root tail, time, bits. */
  tail: ['w0', 'w1', 'w2'],
} as const;
/** The nonce as the big-endian message word W3 (the header stores it little-endian). */
export const NONCE_WORD = 'nw';

const bigSigma0 = (d: Dag, x: Node) => d.xor(d.xor(d.rotr(x, 2), d.rotr(x, 13)), d.rotr(x, 22));
const bigSigma1 = (d: Dag, x: Node) => d.xor(d.xor(d.rotr(x, 6), d.rotr(x, 11)), d.rotr(x, 25));
const smallSigma0 = (d: Dag, x: Node) => d.xor(d.xor(d.rotr(x, 7), d.rotr(x, 18)), d.shr(x, 3));
const smallSigma1 = (d: Dag, x: Node) => d.xor(d.xor(d.rotr(x, 17), d.rotr(x, 19)), d.shr(x, 10));

/** FIPS 180-4 §6.2.2 step 1: schedule word `t` from the words before it. */
const scheduleWord = (d: Dag, w: readonly Node[], t: number): Node =>
  d.sum(smallSigma1(d, w[t - 2]!), w[t - 7]!, smallSigma0(d, w[t - 15]!), w[t - 16]!);

/** FIPS 180-4 §6.2.2 step 1: the message schedule, built lazily up to `upTo`. */
function schedule(d: Dag, block: readonly Node[], upTo: number): Node[] {
  const w = [...block];
  for (let t = 16; t < upTo; t++) w.push(scheduleWord(d, w, t));
  return w;
}

/** FIPS 180-4 §6.2.2 step 3: one round; returns the next (a, b, c, d, e, f, g, h). */
function round(d: Dag, s: readonly Node[], k: Node, w: Node): Node[] {
  const [a, b, c, dd, e, f, g, h] = s as [Node, Node, Node, Node, Node, Node, Node, Node];
  const t1 = d.sum(h, bigSigma1(d, e), d.ch(e, f, g), k, w);
  const t2 = d.sum(bigSigma0(d, a), d.maj(a, b, c));
  return [d.sum(t1, t2), a, b, c, d.sum(dd, t1), e, f, g];
}

/**
 * FIPS 180-4 §6.2.2 steps 2–4. With `h7Only`, returns just the last output
 * word, computing only what it depends on (rounds 0..59 and e of round 60).
 */
function compress(d: Dag, state: readonly Node[], block: readonly Node[], h7Only: boolean): Node[] {
  const rounds = h7Only ? 61 : 64;
  const w = schedule(d, block, rounds);
  let s = [...state];
  for (let t = 0; t < rounds; t++) {
    if (h7Only && t === 60) return [h7OfRound60(d, state[7]!, s, w[60]!)];
    s = round(d, s, d.lit(SHA256_K[t]!), w[t]!);
  }
  return state.map((x, i) => d.sum(x, s[i]!));
}

/** H7 = IV7 + e₆₀ (see the module comment), from the state before round 60. */
function h7OfRound60(d: Dag, iv7: Node, s: readonly Node[], w60: Node): Node {
  const [, , , dd, e, f, g, h] = s as [Node, Node, Node, Node, Node, Node, Node, Node];
  return d.sum(iv7, dd, h, bigSigma1(d, e), d.ch(e, f, g), d.lit(SHA256_K[60]!), w60);
}

/** The first hash's message block: three job words, the nonce word, then padding for 80 bytes. */
function firstBlock(d: Dag, jobStage: 1 | 2 = 1): Node[] {
  const lit = (v: number) => d.lit(v);
  // FIPS 180-4 §5.1.1: 80-byte message → 0x80 after the data, zeros, then the bit length 640.
  const tail = JOB_INPUTS.tail.map((n) => d.input(n, jobStage));
  return [...tail, d.input(NONCE_WORD, 2), lit(0x80000000), ...Array(10).fill(0).map(() => lit(0)), lit(640)];
}

/** The second hash's message block: the first digest padded to one block (bit length 256). */
const secondBlock = (d: Dag, digest: readonly Node[]): Node[] => [
  ...digest,
  d.lit(0x80000000),
  ...Array(6).fill(0).map(() => d.lit(0)),
  d.lit(256),
];

export interface Sha256dKernelDag {
  dag: Dag;
  /** Last word of the final digest (big-endian word H7 of SHA-256(SHA-256(header))). */
  h7: Node;
}

/**
 * Builds the folded sha256d DAG from the job inputs and the nonce word.
 * `jobStage` 2 treats job inputs as if they changed every nonce (nothing
 * hoisted): tests use it to measure what hoisting saves.
 */
export function buildSha256dKernel(jobStage: 1 | 2 = 1): Sha256dKernelDag {
  const d = new Dag();
  const midstate = JOB_INPUTS.midstate.map((n) => d.input(n, jobStage));
  const first = compress(d, midstate, firstBlock(d, jobStage), false);
  const [h7] = compress(d, SHA256_IV.map((v) => d.lit(v)), secondBlock(d, first), true);
  return { dag: d, h7: h7! };
}

/** Input names of a general compression: chaining value s0..s7, message block x0..x15. */
export const COMPRESSION_INPUTS = {
  state: Array.from({ length: 8 }, (_, i) => `s${i}`),
  block: Array.from({ length: 16 }, (_, i) => `x${i}`),
} as const;

/**
 * One whole SHA-256 compression (FIPS 180-4 §6.2.2 steps 1–4, feed-forward
 * included) with every input known only at run time: the general function the
 * WGSL kernels use for batch hashing and to confirm a rare candidate in full.
 */
export function buildCompression(): { dag: Dag; outputs: Node[] } {
  const d = new Dag();
  const state = COMPRESSION_INPUTS.state.map((n) => d.input(n, 2));
  const block = COMPRESSION_INPUTS.block.map((n) => d.input(n, 2));
  return { dag: d, outputs: compress(d, state, block, false) };
}

/*
 * The same computation cut into pieces for a *rolled* kernel, whose hot loop
 * is short enough to stay in the instruction caches (the fully unrolled
 * sha256d is ~6000 vector instructions, more than the CPU's L1i and µop
 * caches hold). With HEAD = 16 and TAIL = 40 (files.ts):
 *
 *   firstHead(HEAD)    rounds 0..15 of hash 1, straight-line and folded
 *                      (0..2 are job values, the schedule's padding words fold)
 *   body(true)   ×4    rounds 16..47 of hash 1, scheduling W[t + 16] in round t
 *   body(false)  ×2    rounds 48..63 of hash 1
 *   secondHead(HEAD)   feed-forward, rounds 0..15 of hash 2 (constant IV and padding fold)
 *   body(true)   ×3    rounds 16..39 of hash 2
 *   secondTail(TAIL)   rounds 40..59 of hash 2 scheduling words 56..60, then H7
 *
 * Each body runs BODY_ROUNDS generic rounds per loop iteration. Pieces hand
 * the eight working variables on as inputs/outputs named a..h, and the
 * message schedule through memory: input `w:t` reads schedule word t (in a
 * body, relative to the loop's current round), input `k:j` round constant j
 * of a body, and `stores` lists the words a piece writes.
 */
export const STATE_NAMES = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'] as const;
/** Rounds run by each generic loop body. */
export const BODY_ROUNDS = 8;

export interface KernelPiece {
  dag: Dag;
  /** The working variables after the piece (absent for the last piece). */
  state?: Node[];
  /** Schedule words to write to memory: word t (relative in a body) ← node. */
  stores: { t: number; node: Node }[];
  /** The final H7 (last piece only). */
  h7?: Node;
  /** Nodes in a good emission order (round by round), a hint for the printer. */
  order: Node[];
}

const stateInputs = (d: Dag) => STATE_NAMES.map((n) => d.input(n, 2));
const memWord = (d: Dag, t: number) => d.input(`w:${t}`, 2);

/** Rounds [from, to) with round t scheduling word t + 16 while t + 16 < scheduleTo. */
function roundsWithSchedule(d: Dag, s: Node[], w: Node[], k: (t: number) => Node, from: number, to: number, scheduleTo: number, order: Node[]): Node[] {
  for (let t = from; t < to; t++) {
    s = round(d, s, k(t), w[t]!);
    order.push(s[0]!, s[4]!);
    if (t + 16 < scheduleTo) {
      w[t + 16] = scheduleWord(d, w, t + 16);
      order.push(w[t + 16]!);
    }
  }
  return s;
}

/** Rounds [0, rounds) of hash 1 from the midstate, and the schedule words [rounds, rounds + 16) the loops read. */
export function firstHead(rounds: number): KernelPiece {
  const d = new Dag();
  const w = firstBlock(d);
  const order: Node[] = [];
  const k = (t: number) => d.lit(SHA256_K[t]!);
  const state = roundsWithSchedule(d, JOB_INPUTS.midstate.map((n) => d.input(n, 1)), w, k, 0, rounds, 64, order);
  return { dag: d, state, order, stores: w.slice(rounds, rounds + 16).map((node, i) => ({ t: rounds + i, node })) };
}

/** `rounds` generic rounds from state a..h; with `scheduling`, also words [16, 16 + rounds) of the window. */
export function body(scheduling: boolean, rounds = BODY_ROUNDS): KernelPiece {
  const d = new Dag();
  const w = Array.from({ length: scheduling ? 16 : rounds }, (_, t) => memWord(d, t));
  const order: Node[] = [];
  const k = (t: number) => d.input(`k:${t}`, 2);
  const state = roundsWithSchedule(d, stateInputs(d), w, k, 0, rounds, scheduling ? 16 + rounds : 0, order);
  return { dag: d, state, order, stores: scheduling ? w.slice(16, 16 + rounds).map((node, i) => ({ t: 16 + i, node })) : [] };
}

/** Feed-forward of hash 1 (state a..h after round 63), then rounds [0, rounds) of hash 2. */
export function secondHead(rounds: number): KernelPiece {
  const d = new Dag();
  const midstate = JOB_INPUTS.midstate.map((n) => d.input(n, 1));
  const digest = stateInputs(d).map((x, i) => d.sum(midstate[i]!, x));
  const w = secondBlock(d, digest);
  const order: Node[] = [];
  const k = (t: number) => d.lit(SHA256_K[t]!);
  const state = roundsWithSchedule(d, SHA256_IV.map((v) => d.lit(v)), w, k, 0, rounds, 64, order);
  return { dag: d, state, order, stores: w.slice(rounds, rounds + 16).map((node, i) => ({ t: rounds + i, node })) };
}

/**
 * Rounds [from, 60) of hash 2 from state a..h and schedule words [from, from + 16)
 * in memory, then H7; the tail schedules the words up to 60 itself.
 */
export function secondTail(from: number): KernelPiece {
  const d = new Dag();
  const w: Node[] = [];
  for (let t = from; t < from + 16; t++) w[t] = memWord(d, t);
  const order: Node[] = [];
  for (let t = from + 16; t <= 60; t++) {
    w[t] = scheduleWord(d, w, t);
  }
  const s = roundsWithSchedule(d, stateInputs(d), w, (t) => d.lit(SHA256_K[t]!), from, 60, 0, order);
  const h7 = h7OfRound60(d, d.lit(SHA256_IV[7]!), s, w[60]!);
  return { dag: d, order, stores: [], h7 };
}
