/**
 * Canonical bytes of every signed PPoV object, and the hashes that name them.
 * Signatures cover these bytes, never JSON text, so the field order of a
 * message on the wire does not matter.
 */
import { createHash } from 'node:crypto';
import { bytesToHex, hexToBytes } from '../core/bytes.js';
import { merkleRoot, type PairHasher } from '../core/merkle.js';
import { ppovError } from './errors.js';
import { concat, sha256 } from './crypto.js';
import type { Block, GroupHeader, SlotResult, Timeout, Vote } from './types.js';

const te = new TextEncoder();
const u64 = (n: number): Uint8Array => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(n), true);
  return b;
};
const u32 = (n: number): Uint8Array => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
};
/** A length-prefixed string, so "ab"+"c" and "a"+"bc" never collide. */
const str = (s: string): Uint8Array => {
  const b = te.encode(s);
  return concat(u32(b.length), b);
};
const h32 = (hex: string): Uint8Array => (hex === '' ? new Uint8Array(0) : hexToBytes(hex, 32));

const blockHashes = new WeakMap<object, string>();
/** Block hash: what the bookkeeper signs and voters vote on (cached per block object; blocks are never mutated). */
export function blockHash(b: Omit<Block, 'sig' | 'txs'>): string {
  let h = blockHashes.get(b);
  if (h === undefined) blockHashes.set(b, (h = computeBlockHash(b)));
  return h;
}
const computeBlockHash = (b: Omit<Block, 'sig' | 'txs'>): string =>
  bytesToHex(
    sha256(str('hashgrid/ppov/block'), u64(b.height), h32(b.prevId), str(b.bookkeeper), h32(b.merkleRoot), u64(b.timestamp), h32(b.reveal), u32(b.txCount)),
  );

export const voteBytes = (v: Omit<Vote, 'sig'>): Uint8Array =>
  concat(
    str('hashgrid/ppov/vote'),
    u64(v.height),
    h32(v.prevId),
    str(v.voter),
    u32(v.entries.length),
    ...v.entries.flatMap((e) => [str(e.bookkeeper), str(e.block), Uint8Array.of(e.approve ? 1 : 0)]),
  );

export const timeoutBytes = (t: Omit<Timeout, 'sig'>): Uint8Array => concat(str('hashgrid/ppov/timeout'), u64(t.height), u32(t.view), str(t.voter));

/** The group id: height, previous group, per-block results, seed and the next bookkeepers — nothing the leader chooses. */
export const groupId = (h: { height: number; prevId: string; results: SlotResult[]; seed: string; nextBookkeepers: string[] }): string =>
  bytesToHex(
    sha256(
      str('hashgrid/ppov/group'),
      u64(h.height),
      h32(h.prevId),
      u32(h.results.length),
      ...h.results.flatMap((r) => [str(r.bookkeeper), str(r.block)]),
      h32(h.seed),
      u32(h.nextBookkeepers.length),
      ...h.nextBookkeepers.map(str),
    ),
  );

/** What the leader signs: the group, the view it led and its name. */
export const headerBytes = (h: Pick<GroupHeader, 'groupId' | 'view' | 'leader' | 'nextLeader'>): Uint8Array =>
  concat(str('hashgrid/ppov/header'), h32(h.groupId), u32(h.view), str(h.leader), str(h.nextLeader));

/** Frames transactions as base64 of (u32le length, bytes) each. */
export function encodeTxs(txs: readonly Uint8Array[]): string {
  const total = txs.reduce((s, t) => s + 4 + t.length, 0);
  const buf = Buffer.allocUnsafe(total);
  let o = 0;
  for (const t of txs) {
    buf.writeUInt32LE(t.length, o);
    buf.set(t, o + 4);
    o += 4 + t.length;
  }
  return buf.toString('base64');
}

/** Reverses encodeTxs; a framing that does not hold exactly `count` transactions is a typed error. */
export function decodeTxs(txs: string, count: number): Uint8Array[] {
  const buf = Buffer.from(txs, 'base64');
  const out: Uint8Array[] = [];
  let o = 0;
  while (o < buf.length) {
    // Rule: each transaction is a u32le length followed by that many bytes, within the buffer.
    if (o + 4 > buf.length) throw ppovError('BAD_BLOCK', `transactions: a length prefix is cut off at byte ${o}`);
    const len = buf.readUInt32LE(o);
    if (o + 4 + len > buf.length) throw ppovError('BAD_BLOCK', `transactions: transaction ${out.length} runs past the end`);
    out.push(new Uint8Array(buf.buffer, buf.byteOffset + o + 4, len));
    o += 4 + len;
  }
  // Rule: txCount in the signed block equals the transactions carried.
  if (out.length !== count) throw ppovError('BAD_BLOCK', `transactions: expected ${count}, got ${out.length}`);
  return out;
}

/** Computes txids and Merkle roots; the engine's batch SHA-256 provides a fast one (hasher.ts). */
export interface TxHasher {
  /** sha256d of each transaction, 32 bytes each, back to back. */
  txids(txs: readonly Uint8Array[]): Uint8Array;
  pairs: PairHasher;
}

export const referenceTxHasher: TxHasher = {
  txids(txs) {
    const out = new Uint8Array(txs.length * 32);
    txs.forEach((t, i) => out.set(createHash('sha256').update(createHash('sha256').update(t).digest()).digest(), i * 32));
    return out;
  },
  pairs: (pairs, count) => referenceTxHasher.txids(Array.from({ length: count }, (_, i) => pairs.subarray(i * 64, i * 64 + 64))),
};

/** Merkle root of the transactions (SHA-256d, Bitcoin's odd-level rule); an empty block's root is 32 zero bytes. */
export function txMerkleRoot(txs: readonly Uint8Array[], hasher: TxHasher): string {
  if (txs.length === 0) return '00'.repeat(32);
  const ids = hasher.txids(txs);
  const leaves = Array.from({ length: txs.length }, (_, i) => ids.subarray(i * 32, i * 32 + 32));
  return bytesToHex(merkleRoot(leaves, hasher.pairs));
}
