/**
 * What the dashboard page shows: one snapshot of the grid, built from the
 * bus by GridWatcher and pushed to the page over SSE. Types only, shared by
 * the server and the page (which imports nothing else from src/).
 */

/** The dashboard's own connection to the bus. */
export interface BusView {
  connected: boolean;
  /** The server it is connected to (redacted), or was connected to. */
  server: string;
  /** When the connection last changed (ms since the epoch). */
  since: number;
  reconnects: number;
}

export interface NodeView {
  id: string;
  /** live: heartbeats arriving; lost: `lostAfterBeats` missed. */
  alive: boolean;
  state: 'idle' | 'mining' | 'paused';
  backends: string[];
  /** e.g. "Intel(R) Xeon(R) …, 2 cores, 24 GiB, avx512f sha_ni, no GPU". */
  hardware: string;
  hostname: string;
  /** Measured hashes per second (sum over backends), from the last heartbeat. */
  hashrate: number;
  /** Calibrated hashes per second, from the registration. */
  calibrated: number;
  sharesFound: number;
  /** Recent measured hashrate, one sample per watcher tick, oldest first. */
  spark: number[];
  /** What the scheduler does with it, when a scheduler is watched. */
  role?: 'active' | 'standby' | 'failed' | 'probation' | 'idle';
  /** Sub-accounts it works for, with the share of its time. */
  slices?: { account: string; fraction: number }[];
}

export interface RateView {
  hashrate: number;
  /** 1/√N relative error of the estimate. */
  relativeError: number;
  shares: number;
}

export interface AccountView {
  /** `<center>/<id>`, as the scheduler names it. */
  key: string;
  center: string;
  id: string;
  standard: number;
  windowSeconds: number;
  upToStandard: boolean;
  acceptedShares: number;
  /** Delivered hashrate per window: 1m, 10m, 1h, 24h and standardWindow. */
  delivered: Record<string, RateView>;
  /** From the scheduler, when one schedules this sub-account. */
  scheduled?: {
    plan: string;
    state: string;
    progress: number;
    nodes: string[];
    etaSeconds: number | null;
    reason?: string;
  };
  /** Recent delivered hashrate over the standard's window, oldest first. */
  spark: number[];
}

export interface CenterView {
  id: string;
  accepted: number;
  rejected: Record<string, number>;
  blocks: number;
}

export interface PlanView {
  plan: string;
  mode: string;
  leader: string;
  capacity: number;
  forwarded: { accepted: number; rejected: number };
}

export interface TimelineEntry {
  at: number;
  /** Where it came from: a scheduler plan, a center, or the bus. */
  source: string;
  kind: string;
  text: string;
}

/** One source that did not answer this tick (a center or scheduler that is down). */
export interface SourceProblem {
  source: string;
  code: string;
  message: string;
}

export interface Snapshot {
  at: number;
  bus: BusView;
  /** Grid hashrate over time: [ms since epoch, H/s], oldest first. */
  total: [number, number][];
  nodes: NodeView[];
  accounts: AccountView[];
  centers: CenterView[];
  plans: PlanView[];
  /** Newest first. */
  timeline: TimelineEntry[];
  problems: SourceProblem[];
  /** The PPoV ledger, or null when the dashboard follows none (or none answers). */
  ledger: LedgerView | null;
}

/** What the dashboard shows of a PPoV chain: one node's view and the last block groups. */
export interface LedgerView {
  chainId: string;
  /** The ledger node that answered. */
  nodeId: string;
  height: number;
  view: number;
  pending: number;
  /** Newest first. */
  groups: { height: number; groupId: string; leader: string; nextLeader: string; votes: number; approved: number; blocks: number; txs: number }[];
}
