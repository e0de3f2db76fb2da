/**
 * The center's accounting as pure code: delivered-hashrate windows and their
 * error bound, the up-to-standard hysteresis, vardiff, stored share records.
 */
import { describe, expect, it } from 'vitest';
import { HashrateEstimator, upToStandard } from '../../src/center/hashrate.js';
import { newVardiff, vardiffStep } from '../../src/center/vardiff.js';
import { storedShares } from '../../src/center/store.js';

/** A seeded Poisson share stream: shares of difficulty d from a miner of `rate` H/s. */
function shareStream(seed: number, rate: number, difficulty: number, seconds: number): number[] {
  let s = seed >>> 0 || 1;
  const random = () => ((s = (s * 1664525 + 1013904223) >>> 0) + 1) / 2 ** 32;
  const meanGap = (difficulty * 2 ** 32) / rate; // seconds between shares
  const times: number[] = [];
  for (let t = -Math.log(random()) * meanGap; t < seconds; t += -Math.log(random()) * meanGap) times.push(t);
  return times;
}

describe('delivered hashrate', () => {
  it('states an error bound that covers the true rate as often as a standard error should', () => {
    // A single stream may fall outside 3σ by chance (0.3% of the time), so the bound is checked
    // the way a standard error is meant: over 300 fixed seeds, ~68% within 1σ and ~99.7% within 3σ.
    const within = { one: 0, three: 0 };
    const runs = 300;
    for (let seed = 1; seed <= runs; seed++) {
      const rate = [1e6, 5e7, 2e9][seed % 3]!;
      const difficulty = rate / 2 ** 32; // ~1 share per second
      const start = 1_000_000_000;
      const est = new HashrateEstimator(start);
      for (const t of shareStream(seed * 2654435761, rate, difficulty, 600)) est.record(difficulty, start + t * 1000);
      const e = est.estimate(600, start + 600_000);
      expect(e.shares).toBeGreaterThan(400);
      expect(e.relativeError).toBeCloseTo(1 / Math.sqrt(e.shares), 10);
      const deviation = Math.abs(e.hashrate - rate) / rate / e.relativeError;
      if (deviation <= 1) within.one++;
      if (deviation <= 3) within.three++;
    }
    expect(within.one / runs).toBeGreaterThan(0.6);
    expect(within.one / runs).toBeLessThan(0.76);
    expect(within.three / runs).toBeGreaterThanOrEqual(0.98);
  });

  it('counts only the window, and cuts a window to the history it has', () => {
    const est = new HashrateEstimator(0);
    est.record(1, 10_000);
    est.record(1, 70_000);
    expect(est.estimate(60, 80_000).shares).toBe(1);
    // 80 s of history: the 10-minute window divides by 80 s, not 600 s.
    expect(est.estimate(600, 80_000)).toMatchObject({ shares: 2, seconds: 80, hashrate: (2 * 2 ** 32) / 80 });
    expect(est.totalHashes).toBe(2 * 2 ** 32);
  });

  it('counts shares older than itself (a replay after restart) in every window', () => {
    // Restarted at 1,000 s; the shares were accepted at 950–990 s, before the restart.
    const est = new HashrateEstimator(1_000_000);
    for (let t = 950; t < 1000; t += 10) est.record(1, t * 1000);
    const e = est.estimate(60, 1_001_000);
    expect(e).toMatchObject({ shares: 5, seconds: 51, hashrate: (5 * 2 ** 32) / 51 });
    expect(est.all(1_001_000)['24h'].shares).toBe(5);
    // The history can also be set back explicitly (to the center's first start).
    est.restoreSince(900_000);
    expect(est.estimate(600, 1_001_000).seconds).toBe(101);
  });
});

describe('up to standard', () => {
  const estimate = (hashrate: number, shares: number) => ({ hashrate, shares, relativeError: 1 / Math.sqrt(shares), seconds: 600 });

  it('needs the standard plus the margin to become true, and minus the margin to become false', () => {
    // 10,000 shares: relative error 1%, so the 5% hysteresis is the margin.
    expect(upToStandard(false, estimate(104, 10_000), 100)).toBe(false);
    expect(upToStandard(false, estimate(106, 10_000), 100)).toBe(true);
    expect(upToStandard(true, estimate(96, 10_000), 100)).toBe(true);
    expect(upToStandard(true, estimate(94, 10_000), 100)).toBe(false);
  });

  it('widens the margin to twice the relative error when shares are few', () => {
    // 25 shares: 20% error → 40% margin.
    expect(upToStandard(false, estimate(130, 25), 100)).toBe(false);
    expect(upToStandard(false, estimate(141, 25), 100)).toBe(true);
  });

  it('does not flap under noisy estimates around the standard', () => {
    let state = false;
    let flips = 0;
    let s = 7;
    for (let i = 0; i < 1000; i++) {
      s = (s * 1103515245 + 12345) >>> 0;
      const noisy = 110 * (1 + ((s / 2 ** 32) * 2 - 1) * 0.03); // ±3% around 110
      const next = upToStandard(state, estimate(noisy, 2500), 100);
      if (next !== state) flips++;
      state = next;
    }
    expect(flips).toBe(1);
    expect(state).toBe(true);
  });
});

describe('vardiff', () => {
  it('raises the difficulty of a fast miner and lowers that of a slow one, ×4 per step at most, powers of two', () => {
    const fast = newVardiff(1, 0);
    for (let i = 1; i <= 300; i++) vardiffStep(fast, i * 100, true); // 10 shares/s for 30 s
    expect(fast.difficulty).toBe(4);
    const slow = newVardiff(1, 0);
    expect(vardiffStep(slow, 31_000, false)).toBe(0.25);
    const steady = newVardiff(1, 0);
    for (let i = 1; i <= 6; i++) vardiffStep(steady, i * 5000, true); // one share per 5 s: on target
    expect(steady.difficulty).toBe(1);
  });

  it('stays within its clamps', () => {
    const s = newVardiff(2 ** -20, 0);
    expect(vardiffStep(s, 31_000, false, { min: 2 ** -20 })).toBeUndefined();
    expect(s.difficulty).toBe(2 ** -20);
  });
});

describe('stored share records', () => {
  const enc = (x: unknown) => new TextEncoder().encode(JSON.stringify(x));
  const one = { subAccount: 'shares', difficulty: 0.5, at: 1, jobId: 'shares' };

  it('tells a batch from a single record by its shares array, not by the word "shares"', () => {
    expect(storedShares(enc({ v: 1, centerId: 'c', ...one }))).toEqual([one]);
    expect(storedShares(enc({ v: 1, centerId: 'c', shares: [one, { ...one, jobId: 'j2' }] }))).toEqual([one, { ...one, jobId: 'j2' }]);
  });

  it('turns junk into a typed error', () => {
    expect(() => storedShares(new TextEncoder().encode('{not json'))).toThrow(expect.objectContaining({ code: 'BAD_MESSAGE' }));
    expect(() => storedShares(enc({ v: 1, centerId: 'c', shares: [] }))).toThrow(expect.objectContaining({ code: 'INVALID_MESSAGE' }));
  });
});
