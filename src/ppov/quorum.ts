/**
 * Quorum rules (docs/ppov.md, "Safety"). The patent's rule is "more than half
 * of the consortium nodes" for every block ([0149], claim 11 S5).
 *
 * A block's result is approved-with-hash-H when `approve` voters hold H and
 * approve it, and rejected when `reject` voters do not approve H for every H.
 * Two certified headers for one height then agree on every result unless more
 * than `approve + reject − n − 1` voters signed two different voting messages.
 */
import type { QuorumMode, SlotResult, Vote } from './types.js';

export interface Thresholds {
  n: number;
  /** Voters approving one hash that make it the block's result. */
  approve: number;
  /** Voters not approving any given hash that make the result "rejected". */
  reject: number;
  /** Timeouts that certify a view change. */
  timeout: number;
  /** Equivocating voters tolerated without a safety loss. */
  faults: number;
}

export function thresholds(n: number, mode: QuorumMode): Thresholds {
  if (mode === 'majority') {
    // "Each block must obtain more than half of the votes to be considered as a legal block" ([0149]).
    const approve = Math.floor(n / 2) + 1;
    // Rejected once approval is out of reach: with all n votes in, every block is decided.
    return { n, approve, reject: n - approve + 1, timeout: approve, faults: 0 };
  }
  // f < n/3 equivocators: any two quorums of q > (n + f)/2 share more than f voters.
  const faults = Math.floor((n - 1) / 3);
  const q = Math.floor((n + faults) / 2) + 1;
  return { n, approve: q, reject: q, timeout: q, faults };
}

/** The result for one bookkeeper's slot from distinct voters' votes, or undefined while undecided. */
export function tallySlot(votes: readonly Vote[], slot: number, t: Thresholds): SlotResult | undefined {
  const bookkeeper = votes[0]?.entries[slot]?.bookkeeper ?? '';
  const approvals = new Map<string, number>();
  for (const v of votes) {
    const e = v.entries[slot];
    if (e?.approve && e.block) approvals.set(e.block, (approvals.get(e.block) ?? 0) + 1);
  }
  let best = '';
  let bestCount = 0;
  for (const [h, c] of approvals) if (c > bestCount || (c === bestCount && h < best)) [best, bestCount] = [h, c];
  if (bestCount >= t.approve) return { bookkeeper, block: best };
  // Every hash is short of approval by the votes that do not approve it.
  if (votes.length - bestCount >= t.reject) return { bookkeeper, block: '' };
  return undefined;
}

/** Results for every slot once all are decided, else undefined. */
export function tallyAll(votes: readonly Vote[], slots: number, t: Thresholds): SlotResult[] | undefined {
  const out: SlotResult[] = [];
  for (let i = 0; i < slots; i++) {
    const r = tallySlot(votes, i, t);
    if (!r) return undefined;
    out.push(r);
  }
  return out;
}
