/**
 * The drawing of lots for leaders (claim 11 S7; [0101]–[0102], [0116];
 * DaoliCloud's publicly verifiable drawing of lots).
 *
 * Every member commits in the genesis to the tip of a hash chain,
 * c = H^L(s). At height h a bookkeeper's block reveals r_h = H^(L−h)(s);
 * anyone checks H^(h−h')(r_h) = r_h' against its last reveal r_h' (or c).
 * The reveal for a height is unique, so a bookkeeper cannot grind it; it can
 * only withhold its block (a missed block: points lost, [0121]).
 *
 * seed_h = SHA-256(seed_(h−1) ‖ h ‖ reveals of the approved blocks), and the
 * leader of (h + 1, view v) is member[(seed_h mod n + v) mod n] in id order.
 * The leader that writes seed_h into the header cannot choose it: the results
 * are forced by the votes (quorum.ts) and the reveals by the commitments, so
 * every valid header at h carries the same seed. Anyone recomputes it.
 */
import { bytesToHex, hexToBytes } from '../core/bytes.js';
import { concat, sha256 } from './crypto.js';
import type { SlotResult } from './types.js';

const te = new TextEncoder();

/** The whole chain s, H(s), …, H^L(s); index i holds H^i(s). */
export function revealChain(secret: Uint8Array, length: number): Uint8Array[] {
  const chain: Uint8Array[] = [secret];
  for (let i = 1; i <= length; i++) chain.push(sha256(chain[i - 1]!));
  return chain;
}

const chains = new WeakMap<Uint8Array, Uint8Array[]>();
/** H^(L−height)(secret): the reveal for `height` (1 ≤ height < L), from a per-secret cached chain. */
export function revealFor(secret: Uint8Array, length: number, height: number): string {
  let chain = chains.get(secret);
  if (!chain || chain.length !== length + 1) chains.set(secret, (chain = revealChain(secret, length)));
  return bytesToHex(chain[length - height]!);
}

export const commitmentFor = (secret: Uint8Array, length: number): string => revealFor(secret, length, 0);

/** True when hashing `reveal` (height h) h − lastHeight times gives `last`. */
export function checkReveal(reveal: string, height: number, last: { height: number; reveal: string }): boolean {
  const steps = height - last.height;
  if (steps <= 0 || !/^[0-9a-f]{64}$/.test(reveal)) return false;
  let x = hexToBytes(reveal);
  for (let i = 0; i < steps; i++) x = sha256(x);
  return bytesToHex(x) === last.reveal;
}

export const genesisSeed = (genesisId: string): string => bytesToHex(sha256('hashgrid/ppov/genesis-seed', hexToBytes(genesisId)));

/** seed_h from seed_(h−1), h and the reveals of the approved blocks (in bookkeeper order). */
export function nextSeed(prevSeed: string, height: number, results: readonly SlotResult[], reveals: ReadonlyMap<string, string>): string {
  const parts: Uint8Array[] = [te.encode('hashgrid/ppov/seed'), hexToBytes(prevSeed), te.encode(String(height))];
  for (const r of results) if (r.block) parts.push(te.encode(r.bookkeeper), hexToBytes(reveals.get(r.block) ?? ''));
  return bytesToHex(sha256(concat(...parts)));
}

/** The member leading `view` after `seed`: a uniform pick by seed, then the next member per view (the fallback). */
export function leaderOf(seed: string, memberIds: readonly string[], view: number): string {
  const pick = Number(BigInt(`0x${seed.slice(0, 16)}`) % BigInt(memberIds.length));
  return memberIds[(pick + view) % memberIds.length]!;
}
