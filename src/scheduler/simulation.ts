/**
 * A seeded simulation of the scheduling policy: nodes of mixed speed,
 * sub-accounts with different standards, delivered rates measured over a
 * sliding window with noise, and the center's up-to-standard rule. Used by
 * the tests and by bench/scheduler.ts; the same policy runs on the bus.
 */
import { upToStandard } from '../center/hashrate.js';
import { allocated, decide, materiallyDifferent, type Mode, type Plan, type PolicyAccount, type PolicyNode } from './policy.js';

export interface SimResult {
  /** Seconds until each account was first up to standard. */
  reached: Map<string, number>;
  /** Account the servers worked for, each time the plan changed (sequential). */
  targets: string[];
  planChanges: number;
  ideal: number;
  /** Milliseconds per policy decision, measured. */
  decisionMs: number[];
  /** Sub-accounts up to standard when the simulation ended. */
  upAtEnd: number;
}

/** Runs the policy against simulated delivery: 1 s steps, a decision every `every` s. */
export function simulate(
  seed: number,
  mode: Mode,
  nodeCount: number,
  accountCount: number,
  opts: { noise?: number; every?: number; horizon?: number; centers?: number; maintain?: boolean } = {},
): SimResult {
  let s = seed >>> 0 || 1;
  const random = () => (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32;
  const nodes: PolicyNode[] = Array.from({ length: nodeCount }, (_, i) => ({ id: `n${i}`, rate: (1 + Math.floor(random() * 20)) * 1e6, alive: true, failed: false, standby: false }));
  const capacity = nodes.reduce((x, n) => x + n.rate, 0);
  const W = 600;
  // Standards that together need 40–80% of the pool.
  const weights = Array.from({ length: accountCount }, () => 0.2 + random());
  const load = 0.4 + random() * 0.4;
  const wsum = weights.reduce((a, b) => a + b, 0);
  const accounts: PolicyAccount[] = weights.map((w, i) => ({
    // Several centers: accounts dealt round-robin, so the centers' demands differ (and so their tiers).
    key: opts.centers ? `c${i % opts.centers}/a${i}` : `c/a${i}`,
    center: opts.centers ? `c${i % opts.centers}` : 'c',
    standard: (capacity * load * w) / wsum,
    windowSeconds: W,
    delivered: 0,
    upToStandard: false,
    priority: i,
  }));
  const ideal = accounts.reduce((x, a) => x + a.standard * a.windowSeconds, 0) / capacity;
  // Work delivered per second per account, for the sliding window.
  const history = new Map(accounts.map((a) => [a.key, [] as number[]]));
  const reached = new Map<string, number>();
  const targets: string[] = [];
  let plan: Plan | undefined;
  let planChanges = 0;
  const decisionMs: number[] = [];
  const every = opts.every ?? 5;
  for (let t = 0; t < (opts.horizon ?? 3 * W); t++) {
    for (const a of accounts) {
      const h = history.get(a.key)!;
      const inWindow = h.slice(-W).reduce((x, y) => x + y, 0);
      // The center's estimate: window work / window, with Poisson-like noise.
      a.delivered = (inWindow / W) * (1 + (random() * 2 - 1) * (opts.noise ?? 0.03));
      a.upToStandard = upToStandard(a.upToStandard, { hashrate: a.delivered, relativeError: 0.01, shares: 10_000, seconds: W }, a.standard);
      if (a.upToStandard && !reached.has(a.key)) reached.set(a.key, t);
    }
    if (reached.size === accounts.length && mode === 'parallel') break;
    if (t % every === 0) {
      const t0 = performance.now();
      const d = decide(nodes, accounts, { mode, ...(opts.maintain !== undefined ? { maintain: opts.maintain } : {}) });
      decisionMs.push(performance.now() - t0);
      if (materiallyDifferent(plan, d.plan, nodes)) {
        plan = d.plan;
        planChanges++;
      }
      if (mode === 'sequential' && d.focus && targets.at(-1) !== d.focus) targets.push(d.focus);
    }
    const rates = plan ? allocated(plan, nodes) : new Map();
    for (const a of accounts) history.get(a.key)!.push(rates.get(a.key) ?? 0);
  }
  return { reached, targets, planChanges, ideal, decisionMs, upAtEnd: accounts.filter((a) => a.upToStandard).length };
}

