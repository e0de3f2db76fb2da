/**
 * Hashrate over a sliding window of completed work.
 */
export class HashrateMeter {
  private readonly samples: { at: number; hashes: number }[] = [];
  private total = 0;

  /** @param windowMs how far back `rate()` looks (default 10 s). */
  constructor(private readonly windowMs = 10_000) {}

  record(hashes: number, at = Date.now()): void {
    this.total += hashes;
    this.samples.push({ at, hashes });
    this.trim(at);
  }

  /** Hashes per second over the window (0 before any sample). */
  rate(now = Date.now()): number {
    this.trim(now);
    if (this.samples.length === 0) return 0;
    const span = Math.max(now - this.samples[0]!.at, 1000);
    return (this.samples.reduce((s, x) => s + x.hashes, 0) * 1000) / span;
  }

  get totalHashes(): number {
    return this.total;
  }

  private trim(now: number): void {
    while (this.samples.length > 0 && now - this.samples[0]!.at > this.windowMs) this.samples.shift();
  }
}
