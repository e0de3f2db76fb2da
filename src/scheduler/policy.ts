/**
 * The scheduling policy, as pure code: nodes, sub-accounts and their
 * delivered rates in; a plan (which node works for which sub-account, and
 * for what fraction of its time) and the reasons out. Time, randomness and
 * messages never enter here, so the same policy runs in the seeded
 * simulation and on the bus.
 *
 * Two modes:
 *  - `sequential` — EP 4 178 150 claim 1: the servers work for the first
 *    sub-account (in priority order) that is not up to standard; when the
 *    distribution module reports it up to standard, they move to the next;
 *    repeat until every sub-account is up to standard. Those already up
 *    keep a maintenance share (their standard plus the margin), so their
 *    windows do not drain behind the pool's back and, once all are up, the
 *    servers keep them there instead of going idle; `maintain: false` is
 *    the claim to the letter (and its loop back to accounts that fell).
 *  - `parallel` (default) — the whole pool at once: up-to-standard
 *    sub-accounts get what keeps them there; the rest of the capacity goes
 *    to the others in proportion to the work each still misses, so they all
 *    reach their standard together and the last one arrives at the ideal
 *    time Σ need ÷ capacity. Whole nodes go first to the sub-accounts they
 *    fit; the remainder is shared by time-slicing nodes.
 *
 * Claim 4: a failed or under-delivering server is replaced by a standby one.
 * Load tiers (US 11 930 072): when several centers compete, each is ranked
 * heavy / medium / light by its measured demand (the rate its sub-accounts
 * still miss), and capacity is reserved per tier; a satisfied center keeps
 * what keeps it there and lends the rest of its reservation to the others.
 */

export type Mode = 'sequential' | 'parallel';

export interface PolicyNode {
  id: string;
  /** Calibrated hashes per second. */
  rate: number;
  alive: boolean;
  /** Marked failed (heartbeat loss or sustained under-delivery). */
  failed: boolean;
  /** Kept in reserve until an active node fails (claim 4). */
  standby: boolean;
  /** Back from under-delivery and proving itself: it works, but the standby that replaced it stays. */
  probation?: boolean;
}

export interface PolicyAccount {
  /** `<center>/<sub-account>` */
  key: string;
  center: string;
  /** H/s to sustain over windowSeconds. */
  standard: number;
  windowSeconds: number;
  /** Delivered H/s over the window, as the center reports it. */
  delivered: number;
  /** The center's up-to-standard decision (it applies hysteresis and the error bound). */
  upToStandard: boolean;
  /** Lower runs first in sequential mode (default: plan order). */
  priority: number;
}

export interface Slice {
  account: string;
  /** Share of the node's time, (0, 1]. */
  fraction: number;
}

export type Plan = Map<string, Slice[]>;

export type Tier = 'heavy' | 'medium' | 'light';

export interface PolicyOptions {
  mode: Mode;
  /** Extra over the standard to aim for (default 0.1), so noise stays above the line. */
  margin?: number;
  /** Capacity reserved per tier when several centers compete (default heavy 0.5, medium 0.35, light 0.15). */
  tierShares?: Record<Tier, number>;
  /**
   * Sequential mode: keep sub-accounts already up to standard there with a
   * maintenance share (default true). False is claim 1 to the letter: every
   * server on the first one behind, so the others' windows drain and the
   * loop comes back to them.
   */
  maintain?: boolean;
}

export interface Decision {
  plan: Plan;
  /** Target H/s per account. */
  targets: Map<string, number>;
  tiers: Map<string, Tier>;
  /** Per center when several compete (parallel mode): reservation, allotment, loans. */
  reservations: Map<string, Reservation>;
  /** Sequential mode: the sub-account the servers work for (the first one behind). */
  focus?: string;
  /** Nodes doing work, standby nodes included when they replaced failed ones. */
  active: string[];
  reasons: string[];
}

/**
 * Active nodes: every healthy regular node, plus as many healthy standby
 * nodes as regular ones failed or on probation, plus those on probation.
 */
export function activeNodes(nodes: readonly PolicyNode[]): PolicyNode[] {
  const healthy = (n: PolicyNode) => n.alive && !n.failed;
  const regular = nodes.filter((n) => !n.standby);
  const down = regular.filter((n) => !healthy(n) || n.probation).length;
  const standby = nodes.filter((n) => n.standby && healthy(n) && !n.probation).slice(0, down);
  return [...regular.filter((n) => healthy(n) && !n.probation), ...standby, ...nodes.filter((n) => healthy(n) && n.probation)];
}

/**
 * Each center's measured demand: the rate its sub-accounts still miss,
 * Σ max(0, standard × (1 + margin) − delivered), from the delivered rates
 * the centers report — not the standards alone, so a center whose accounts
 * are already served stops counting as heavy.
 */
export function demands(accounts: readonly PolicyAccount[], margin = 0.1): Map<string, number> {
  const out = new Map<string, number>();
  for (const a of accounts) out.set(a.center, (out.get(a.center) ?? 0) + Math.max(0, a.standard * (1 + margin) - a.delivered));
  return out;
}

/** Tiers (US 11 930 072): heavy above 1.5 × the mean demand of all centers, light under 0.5 ×, medium between. */
export function tiers(accounts: readonly PolicyAccount[], margin = 0.1): Map<string, Tier> {
  const demand = demands(accounts, margin);
  const mean = [...demand.values()].reduce((s, d) => s + d, 0) / Math.max(1, demand.size);
  const out = new Map<string, Tier>();
  for (const [center, d] of demand) out.set(center, d > 1.5 * mean ? 'heavy' : d < 0.5 * mean ? 'light' : 'medium');
  return out;
}

/** One center's share of the pool: reserved by its tier, what it was allotted, and what it lent. */
export interface Reservation {
  tier: Tier;
  /** Measured demand, H/s (see demands()). */
  demand: number;
  /** Capacity its tier reserves for it, H/s. */
  reserved: number;
  /** What it gets this decision, H/s: its reservation less what it lent, plus what it borrowed. */
  allotted: number;
  /** Reserved capacity it does not need (it is satisfied), lent to the centers behind, H/s. */
  lent: number;
}

export function decide(nodes: readonly PolicyNode[], accounts: readonly PolicyAccount[], options: PolicyOptions): Decision {
  const active = activeNodes(nodes).sort((a, b) => b.rate - a.rate || a.id.localeCompare(b.id));
  const capacity = active.reduce((s, n) => s + n.rate, 0);
  const reasons: string[] = [];
  const margin = options.margin ?? 0.1;
  const tierOf = tiers(accounts, margin);
  const ordered = [...accounts].sort((a, b) => a.priority - b.priority || a.key.localeCompare(b.key));
  const ids = active.map((n) => n.id);

  if (options.mode === 'sequential') {
    // Claim 1: schedule the servers to the first sub-account not up to standard.
    const focus = ordered.find((a) => !a.upToStandard);
    const also = focus ? { focus: focus.key } : {};
    if (options.maintain === false) {
      const plan: Plan = new Map();
      if (focus) {
        for (const n of active) plan.set(n.id, [{ account: focus.key, fraction: 1 }]);
        reasons.push(`sequential: ${focus.key} is not up to standard; all ${active.length} servers on it`);
      } else reasons.push('sequential: every sub-account is up to standard');
      return { plan, targets: new Map(focus ? [[focus.key, capacity]] : []), tiers: tierOf, reservations: new Map(), active: ids, reasons, ...also };
    }
    // With maintenance: those already up to standard keep what keeps them there; the first one behind gets the rest.
    const targets = new Map<string, number>();
    const keep = ordered.filter((a) => a.upToStandard);
    const keepRate = keep.reduce((s, a) => s + a.standard * (1 + margin), 0);
    const scale = keepRate > capacity ? capacity / keepRate : 1;
    for (const a of keep) targets.set(a.key, a.standard * (1 + margin) * scale);
    const rest = Math.max(0, capacity - keepRate * scale);
    if (focus) {
      targets.set(focus.key, rest);
      reasons.push(`sequential: ${focus.key} is not up to standard; it gets ${fmt(rest)} of ${fmt(capacity)}, ${keep.length} up to standard keep a maintenance share`);
    } else {
      // Everyone is up: the spare on top of maintenance, in proportion to standards, so the servers keep working and nobody falls back.
      const sum = keep.reduce((s, a) => s + a.standard, 0) || 1;
      for (const a of keep) targets.set(a.key, targets.get(a.key)! + (rest * (a.standard || sum / keep.length)) / sum);
      reasons.push('sequential: every sub-account is up to standard; each keeps a maintenance share');
    }
    return { plan: packNodes(active, targets), targets, tiers: tierOf, reservations: new Map(), active: ids, reasons, ...also };
  }

  const { targets, reservations } = parallelTargets(ordered, capacity, tierOf, options, reasons);
  return { plan: packNodes(active, targets), targets, tiers: tierOf, reservations, active: ids, reasons };
}

const fmt = (rate: number) => `${(rate / 1e6).toFixed(2)} MH/s`;

/**
 * Each center's budget: its tier's reservation; a satisfied center (every
 * sub-account up to standard) keeps what keeps it there and lends the rest
 * of its reservation to the centers still behind, in proportion to their
 * tier weights. With no center behind, nothing is lent.
 */
function budgets(accounts: PolicyAccount[], capacity: number, tierOf: Map<string, Tier>, options: PolicyOptions): Map<string, Reservation> {
  const margin = options.margin ?? 0.1;
  const shares = options.tierShares ?? { heavy: 0.5, medium: 0.35, light: 0.15 };
  const demand = demands(accounts, margin);
  const centers = [...tierOf.keys()];
  const weight = (c: string) => shares[tierOf.get(c)!];
  const totalWeight = centers.reduce((s, c) => s + weight(c), 0) || 1;
  const behind = new Set(accounts.filter((a) => !a.upToStandard).map((a) => a.center));
  const keep = new Map<string, number>();
  for (const a of accounts) keep.set(a.center, (keep.get(a.center) ?? 0) + a.standard * (1 + margin));
  const out = new Map<string, Reservation>();
  let lent = 0;
  for (const c of centers) {
    const reserved = centers.length === 1 ? capacity : (capacity * weight(c)) / totalWeight;
    const lends = behind.size > 0 && !behind.has(c) ? Math.max(0, reserved - keep.get(c)!) : 0;
    lent += lends;
    out.set(c, { tier: tierOf.get(c)!, demand: demand.get(c) ?? 0, reserved, allotted: reserved - lends, lent: lends });
  }
  const behindWeight = [...behind].reduce((s, c) => s + weight(c), 0) || 1;
  for (const c of behind) out.get(c)!.allotted += (lent * weight(c)) / behindWeight;
  return out;
}

/** Target rate per account in parallel mode (see the module comment). */
function parallelTargets(
  accounts: PolicyAccount[],
  capacity: number,
  tierOf: Map<string, Tier>,
  options: PolicyOptions,
  reasons: string[],
): { targets: Map<string, number>; reservations: Map<string, Reservation> } {
  const margin = options.margin ?? 0.1;
  // Several centers: split capacity by tier first, lending what satisfied ones do not need; one center gets it all.
  const reservations = budgets(accounts, capacity, tierOf, options);
  const targets = new Map<string, number>();
  for (const [center, r] of reservations) {
    const budget = r.allotted;
    if (reservations.size > 1) {
      const loan = r.lent > 0 ? `, lends ${fmt(r.lent)}` : r.allotted > r.reserved * (1 + 1e-9) ? `, borrows ${fmt(r.allotted - r.reserved)}` : '';
      reasons.push(`tier ${r.tier}: ${center} reserves ${((100 * r.reserved) / (capacity || 1)).toFixed(0)}% of capacity (demand ${fmt(r.demand)})${loan}`);
    }
    const mine = accounts.filter((a) => a.center === center);
    // Up to standard: keep it there (its standard plus the margin).
    const keep = mine.filter((a) => a.upToStandard);
    const keepRate = keep.reduce((s, a) => s + a.standard * (1 + margin), 0);
    const scale = keepRate > budget ? budget / keepRate : 1;
    for (const a of keep) targets.set(a.key, a.standard * (1 + margin) * scale);
    // Not yet: the rest in proportion to the work each still misses over its window.
    const behind = mine.filter((a) => !a.upToStandard);
    const missing = behind.map((a) => Math.max(0, (a.standard * (1 + margin) - a.delivered) * a.windowSeconds));
    const totalMissing = missing.reduce((s, m) => s + m, 0);
    let rest = Math.max(0, budget - keepRate * scale);
    if (totalMissing > 0) {
      behind.forEach((a, i) => targets.set(a.key, (rest * missing[i]!) / totalMissing));
      rest = 0;
    } else behind.forEach((a) => targets.set(a.key, 0));
    // Spare capacity (everyone up to standard): shared in proportion to standards.
    if (rest > 0) {
      const sum = mine.reduce((s, a) => s + a.standard, 0) || 1;
      for (const a of mine) targets.set(a.key, (targets.get(a.key) ?? 0) + (rest * (a.standard || 1 / mine.length)) / sum);
    }
  }
  return { targets, reservations };
}

/**
 * Whole nodes first, each to the account with the most unfilled target if it
 * fits there (largest nodes first; a max-heap keeps this O(n log m)); then
 * the remaining nodes' time is sliced over what is left, largest gaps first.
 */
export function packNodes(nodes: readonly PolicyNode[], targets: ReadonlyMap<string, number>): Plan {
  const heap = new MaxHeap([...targets].map(([account, remaining]) => ({ account, remaining })));
  const plan: Plan = new Map();
  const leftovers: PolicyNode[] = [];
  for (const n of nodes) {
    const top = heap.peek();
    if (!top || top.remaining < n.rate) {
      leftovers.push(n);
      continue;
    }
    plan.set(n.id, [{ account: top.account, fraction: 1 }]);
    top.remaining -= n.rate;
    heap.siftDown();
  }
  const gaps = heap.items.filter((g) => g.remaining > 0).sort((x, y) => y.remaining - x.remaining);
  let next = 0;
  for (const n of leftovers) {
    const slices: Slice[] = [];
    let free = 1;
    while (free > 1e-9 && next < gaps.length) {
      const g = gaps[next]!;
      const fraction = Math.min(free, g.remaining / n.rate);
      slices.push({ account: g.account, fraction });
      g.remaining -= fraction * n.rate;
      free -= fraction;
      if (g.remaining <= 1e-9 * n.rate) next++;
    }
    // Time nobody needs goes to the largest target, so no node idles.
    if (free > 1e-9 && targets.size > 0) {
      const topAccount = [...targets].reduce((x, y) => (y[1] > x[1] ? y : x))[0];
      const s = slices.find((x) => x.account === topAccount);
      if (s) s.fraction += free;
      else slices.push({ account: topAccount, fraction: free });
    }
    if (slices.length > 0) plan.set(n.id, slices);
  }
  return plan;
}

/** A binary max-heap on `remaining`, just enough for packNodes. */
class MaxHeap {
  constructor(readonly items: { account: string; remaining: number }[]) {
    for (let i = (items.length >> 1) - 1; i >= 0; i--) this.siftDown(i);
  }
  peek() {
    return this.items[0];
  }
  siftDown(i = 0): void {
    const a = this.items;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < a.length && a[l]!.remaining > a[m]!.remaining) m = l;
      if (r < a.length && a[r]!.remaining > a[m]!.remaining) m = r;
      if (m === i) return;
      [a[i], a[m]] = [a[m]!, a[i]!];
      i = m;
    }
  }
}

/** Allocated H/s per account under a plan. */
export function allocated(plan: Plan, nodes: readonly PolicyNode[]): Map<string, number> {
  const rate = new Map(nodes.map((n) => [n.id, n.rate]));
  const out = new Map<string, number>();
  for (const [id, slices] of plan) for (const s of slices) out.set(s.account, (out.get(s.account) ?? 0) + s.fraction * (rate.get(id) ?? 0));
  return out;
}

/**
 * Hysteresis between plans: keep the current plan unless the active set
 * changed, an account changed its up-to-standard state, or some account's
 * allocation would move by more than `threshold` of capacity.
 */
export function materiallyDifferent(current: Plan | undefined, next: Plan, nodes: readonly PolicyNode[], threshold = 0.1): boolean {
  if (!current) return true;
  const a = [...current.keys()].sort().join();
  const b = [...next.keys()].sort().join();
  if (a !== b) return true;
  const capacity = nodes.reduce((s, n) => s + n.rate, 0) || 1;
  const x = allocated(current, nodes);
  const y = allocated(next, nodes);
  for (const k of new Set([...x.keys(), ...y.keys()])) if (Math.abs((x.get(k) ?? 0) - (y.get(k) ?? 0)) > threshold * capacity) return true;
  return false;
}
