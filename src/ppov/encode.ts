/**
 * Canonical bytes of every signed PPoV object, and the hashes that name them.
 * Signatures cover these bytes, never JSON text, so the field order of a
 * message on the wire does not matter.
 */
import { bytesToHex, hexToBytes } from '../core/bytes.js';
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
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

/** Frames transactions as (u32le length, bytes) each, back to back. */
export function frameTxs(txs: readonly Uint8Array[]): Buffer {
  const total = txs.reduce((s, t) => s + 4 + t.length, 0);
  // Never from Buffer's shared pool: the framing may be moved to a worker whole (verifier.ts).
  const buf = Buffer.allocUnsafeSlow(total);
  let o = 0;
  for (const t of txs) {
    buf.writeUInt32LE(t.length, o);
    buf.set(t, o + 4);
    o += 4 + t.length;
  }
  return buf;
}

/** Reverses frameTxs (views into `buf`); a framing that does not hold exactly `count` transactions is a typed error. */
export function unframeTxs(buf: Uint8Array, count: number): Uint8Array[] {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: Uint8Array[] = [];
  let o = 0;
  while (o < buf.length) {
    // Rule: each transaction is a u32le length followed by that many bytes, within the buffer.
    if (o + 4 > buf.length) throw ppovError('BAD_BLOCK', `transactions: a length prefix is cut off at byte ${o}`);
    const len = view.getUint32(o, true);
    if (o + 4 + len > buf.length) throw ppovError('BAD_BLOCK', `transactions: transaction ${out.length} runs past the end`);
    out.push(buf.subarray(o + 4, o + 4 + len));
    o += 4 + len;
  }
  // Rule: txCount in the signed block equals the transactions carried.
  if (out.length !== count) throw ppovError('BAD_BLOCK', `transactions: expected ${count}, got ${out.length}`);
  return out;
}

/** A block's transactions on the wire: base64 of their framing. */
export const encodeTxs = (txs: readonly Uint8Array[]): string => frameTxs(txs).toString('base64');

export const decodeTxs = (txs: string, count: number): Uint8Array[] => unframeTxs(Buffer.from(txs, 'base64'), count);

/**
 * Computes a block's Merkle root (claim 14 (2)): the RFC 6962 §2.1 Merkle tree
 * hash of its transactions. Not Bitcoin's tree: the RFC's domain bytes keep a
 * leaf from passing for a node, and no two transaction lists share a root
 * (Bitcoin's duplicated odd node lets [a, b, c] and [a, b, c, c] collide,
 * CVE-2012-2459); it also costs 2 SHA-256 blocks per node instead of 3. The
 * engine's wasm provides a fast one (hasher.ts).
 */
export interface TxHasher {
  /** Merkle tree hash of one or more transactions, 32 bytes. */
  merkleRoot(txs: readonly Uint8Array[]): Uint8Array;
  /**
   * A hint: these are the transactions whose root will likely be asked next
   * (this node's next block), so the hasher may start on them elsewhere. It
   * never changes what merkleRoot returns.
   */
  prefetch?(txs: readonly Uint8Array[]): void;
}

const LEAF = Uint8Array.of(0x00);
const NODE = Uint8Array.of(0x01);

/** RFC 6962 §2.1 as written, on @noble/hashes: MTH(D[n]) = SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n])), k the largest power of two below n. */
function treeHash(txs: readonly Uint8Array[]): Uint8Array {
  if (txs.length === 1) return nobleSha256(concat(LEAF, txs[0]!));
  let k = 1;
  while (k * 2 < txs.length) k *= 2;
  return nobleSha256(concat(NODE, treeHash(txs.slice(0, k)), treeHash(txs.slice(k))));
}

/** The reference: RFC 6962's recursive definition on @noble/hashes. */
export const referenceTxHasher: TxHasher = { merkleRoot: treeHash };

/** Merkle root of the transactions, hex; an empty block's is SHA-256 of nothing (RFC 6962: MTH({})). */
export function txMerkleRoot(txs: readonly Uint8Array[], hasher: TxHasher): string {
  return bytesToHex(txs.length === 0 ? nobleSha256(new Uint8Array(0)) : hasher.merkleRoot(txs));
}
