/**
 * Node health for the scheduler (claim 4), as pure code: pool snapshots in,
 * policy nodes and failure/recovery events out, one call per decision.
 *
 * A node fails on heartbeat loss, or on delivering under `underDelivery` of
 * what its peers deliver relative to their calibration (the median ratio)
 * for `strikes` decisions in a row. Comparing with peers rather than with
 * the calibration alone keeps a machine whose cores are all shared from
 * failing every node at once.
 *
 * Recovery needs evidence. A node back from heartbeat loss has shown it is
 * alive again. An under-delivering one has not shown anything by going
 * idle (it goes idle because it was taken off work), so it waits
 * `probationAfter` decisions, then works on probation — beside the standby
 * that replaced it, which stays — and returns to the pool only after
 * `strikes` decisions of delivering; under-delivering again fails it for
 * twice as long.
 */
import type { PolicyNode } from './policy.js';

export interface NodeSample {
  id: string;
  alive: boolean;
  /** Whether the node reports working (its heartbeat state is `mining`). */
  mining: boolean;
  /** Calibrated H/s (Σ over backends). */
  calibrated: number;
  /** Measured H/s from its last heartbeat. */
  measured: number;
  /**
   * Working long enough for its measured rate to mean something (the node's
   * meter averages over its window, so a node that just started reads low).
   */
  settled: boolean;
  standby: boolean;
}

export interface HealthEvent {
  kind: 'node-failed' | 'node-probation' | 'node-recovered';
  nodeId: string;
  reason: string;
}

export interface HealthOptions {
  /** Share of the peers' calibration-relative rate under which a node under-delivers (default 0.5). */
  underDelivery?: number;
  /** Decisions in a row that fail a node, and that recover one on probation (default 3). */
  strikes?: number;
  /** Decisions an under-delivering node sits out before its probation (default 10; doubled at each relapse, up to 64×). */
  probationAfter?: number;
}

type NodeRecord =
  | { status: 'ok'; under: number }
  | { status: 'lost' }
  | { status: 'failed'; wait: number; relapses: number }
  | { status: 'probation'; good: number; under: number; relapses: number };

export class NodeHealth {
  private readonly records = new Map<string, NodeRecord>();
  private readonly strikes: number;
  private readonly probationAfter: number;
  private readonly underDelivery: number;

  constructor(options: HealthOptions = {}) {
    this.strikes = options.strikes ?? 3;
    this.probationAfter = options.probationAfter ?? 10;
    this.underDelivery = options.underDelivery ?? 0.5;
  }

  /** Which nodes are failed or on probation now. */
  status(nodeId: string): 'ok' | 'failed' | 'probation' {
    const r = this.records.get(nodeId);
    return !r || r.status === 'ok' ? 'ok' : r.status === 'probation' ? 'probation' : 'failed';
  }

  /** One decision's assessment: O(n log n) in the pool size (the median sort). */
  assess(samples: readonly NodeSample[]): { nodes: PolicyNode[]; events: HealthEvent[] } {
    const working = (n: NodeSample) => n.alive && n.mining && n.settled && n.calibrated > 0;
    const ratios = samples
      .filter((n) => working(n) && this.status(n.id) === 'ok')
      .map((n) => n.measured / n.calibrated)
      .sort((a, b) => a - b);
    const median = ratios.length > 1 ? ratios[Math.floor(ratios.length / 2)]! : 1;
    const under = (n: NodeSample) => working(n) && n.measured < this.underDelivery * median * n.calibrated;
    const delivering = (n: NodeSample) => working(n) && !under(n);
    const events: HealthEvent[] = [];
    const nodes: PolicyNode[] = [];
    for (const n of samples) {
      let r: NodeRecord = this.records.get(n.id) ?? { status: 'ok', under: 0 };
      if (!n.alive) {
        if (r.status !== 'lost') events.push({ kind: 'node-failed', nodeId: n.id, reason: `${n.id}: missed heartbeats` });
        r = { status: 'lost' };
      } else if (r.status === 'lost') {
        events.push({ kind: 'node-recovered', nodeId: n.id, reason: `${n.id}: heartbeats again` });
        r = { status: 'ok', under: 0 };
      } else if (r.status === 'ok') {
        r = { status: 'ok', under: under(n) ? r.under + 1 : 0 };
        if (r.under >= this.strikes) {
          events.push({ kind: 'node-failed', nodeId: n.id, reason: `${n.id}: delivering ${mhs(n.measured)} of its calibrated ${mhs(n.calibrated)} MH/s` });
          r = { status: 'failed', wait: this.probationAfter, relapses: 0 };
        }
      } else if (r.status === 'failed') {
        r = { ...r, wait: r.wait - 1 };
        if (r.wait <= 0) {
          events.push({ kind: 'node-probation', nodeId: n.id, reason: `${n.id}: on probation, back to work beside its replacement` });
          r = { status: 'probation', good: 0, under: 0, relapses: r.relapses };
        }
      } else {
        // Probation: only decisions it actually worked count, either way.
        r = { ...r, good: delivering(n) ? r.good + 1 : under(n) ? 0 : r.good, under: under(n) ? r.under + 1 : delivering(n) ? 0 : r.under };
        if (r.good >= this.strikes) {
          events.push({ kind: 'node-recovered', nodeId: n.id, reason: `${n.id}: delivered ${mhs(n.measured)} of its calibrated ${mhs(n.calibrated)} MH/s on probation` });
          r = { status: 'ok', under: 0 };
        } else if (r.under >= this.strikes) {
          const relapses = Math.min(r.relapses + 1, 6);
          events.push({ kind: 'node-failed', nodeId: n.id, reason: `${n.id}: under-delivered again on probation` });
          r = { status: 'failed', wait: this.probationAfter * 2 ** relapses, relapses };
        }
      }
      this.records.set(n.id, r);
      nodes.push({ id: n.id, rate: n.calibrated || 1e6, alive: n.alive, failed: r.status === 'lost' || r.status === 'failed', standby: n.standby, ...(r.status === 'probation' ? { probation: true } : {}) });
    }
    return { nodes, events };
  }

  /** Forgets nodes the pool no longer lists. */
  retain(ids: ReadonlySet<string>): void {
    for (const id of this.records.keys()) if (!ids.has(id)) this.records.delete(id);
  }
}

const mhs = (rate: number) => (rate / 1e6).toFixed(2);
