/**
 * Delivered hashrate per sub-account, from accepted shares: a share of
 * difficulty d stands for d · 2^32 hashes on average, so over a window of T
 * seconds the rate is Σd · 2^32 / T. Share arrivals are Poisson, so with N
 * shares in the window the relative standard error is 1/√N.
 */
export const WINDOWS = { '1m': 60, '10m': 600, '1h': 3600, '24h': 86_400 } as const;
export type WindowName = keyof typeof WINDOWS;

export interface RateEstimate {
  /** Hashes per second. */
  hashrate: number;
  /** Relative standard error (1/√N; 1 when there are no shares). */
  relativeError: number;
  shares: number;
  seconds: number;
}

export class HashrateEstimator {
  /** (time ms, difficulty) of accepted shares within the longest window, oldest first. */
  private readonly shares: { at: number; difficulty: number }[] = [];
  /** Σ difficulty of every accepted share ever (the accumulated capability, in difficulty-1 units). */
  totalDifficulty = 0;
  totalShares = 0;

  constructor(private since = Date.now()) {}

  /** Moves the start of the history back to `at` (a restart restores it from the stored shares). */
  restoreSince(at: number): void {
    this.since = Math.min(this.since, at);
  }

  record(difficulty: number, at = Date.now()): void {
    // A replayed share is older than this estimator: the history reaches back at least to it.
    if (at < this.since) this.since = at;
    this.shares.push({ at, difficulty });
    this.totalDifficulty += difficulty;
    this.totalShares++;
    const horizon = at - WINDOWS['24h'] * 1000;
    while (this.shares.length > 0 && this.shares[0]!.at < horizon) this.shares.shift();
  }

  /** Accumulated work in hashes. */
  get totalHashes(): number {
    return this.totalDifficulty * 2 ** 32;
  }

  estimate(windowSeconds: number, now = Date.now()): RateEstimate {
    // A window longer than our history is cut to the history (the rate would otherwise be diluted).
    const seconds = Math.max(1, Math.min(windowSeconds, (now - this.since) / 1000));
    const from = now - seconds * 1000;
    let sum = 0;
    let n = 0;
    for (let i = this.shares.length - 1; i >= 0 && this.shares[i]!.at >= from; i--) {
      sum += this.shares[i]!.difficulty;
      n++;
    }
    return { hashrate: (sum * 2 ** 32) / seconds, relativeError: n > 0 ? 1 / Math.sqrt(n) : 1, shares: n, seconds };
  }

  all(now = Date.now()): Record<WindowName, RateEstimate> {
    return Object.fromEntries(Object.entries(WINDOWS).map(([k, s]) => [k, this.estimate(s, now)])) as Record<WindowName, RateEstimate>;
  }
}

/**
 * The up-to-standard decision with hysteresis: a sub-account becomes up to
 * standard when its delivered rate is above the standard by a margin, and
 * stops being so only when it falls below by that margin. The margin is the
 * larger of `hysteresis` and twice the estimate's relative error, so noise
 * alone does not flip it.
 */
export function upToStandard(previous: boolean, estimate: RateEstimate, standard: number, hysteresis = 0.05): boolean {
  const margin = Math.max(hysteresis, 2 * estimate.relativeError);
  if (previous) return estimate.hashrate >= standard * (1 - margin);
  return estimate.shares > 0 && estimate.hashrate >= standard * (1 + margin);
}
