/**
 * Variable difficulty per connection (pure: time comes in as an argument).
 * Every `retargetSeconds` it compares the observed share interval with the
 * target interval and scales the difficulty, clamped to ×4 per step and to
 * [min, max], rounded to a power of two so miners see stable values.
 */
export interface VardiffOptions {
  /** Seconds between shares the miner should see (default 5). */
  targetIntervalSeconds?: number;
  /** How often to reconsider (default 30 s). */
  retargetSeconds?: number;
  /** Default 2^-20 (tests and CPU miners need tiny difficulties). */
  min?: number;
  /** Default 2^40. */
  max?: number;
}

export interface VardiffState {
  difficulty: number;
  windowStart: number;
  shares: number;
}

export const newVardiff = (difficulty: number, now: number): VardiffState => ({ difficulty, windowStart: now, shares: 0 });

const roundPow2 = (x: number) => 2 ** Math.round(Math.log2(x));

/** Records an accepted share (if `share`), and returns the new difficulty when it should change. */
export function vardiffStep(state: VardiffState, now: number, share: boolean, o: VardiffOptions = {}): number | undefined {
  if (share) state.shares++;
  const elapsed = (now - state.windowStart) / 1000;
  if (elapsed < (o.retargetSeconds ?? 30)) return undefined;
  const target = o.targetIntervalSeconds ?? 5;
  // No shares at all: the rate is unknown but low; step down as far as allowed.
  const observed = state.shares > 0 ? elapsed / state.shares : elapsed * 4;
  let next = state.difficulty * (target / observed);
  next = Math.min(state.difficulty * 4, Math.max(state.difficulty / 4, next));
  next = Math.min(o.max ?? 2 ** 40, Math.max(o.min ?? 2 ** -20, roundPow2(next)));
  state.windowStart = now;
  state.shares = 0;
  if (next === state.difficulty) return undefined;
  state.difficulty = next;
  return next;
}
