/**
 * GridWatcher: the dashboard's only source of truth is the bus. It keeps a
 * NodePool (registrations and heartbeats), asks every watched center for
 * its sub-accounts and share counters and every watched scheduler for its
 * status once per tick, listens to their events for the timeline, and
 * follows its own connection so the page can say when the bus is down.
 * Each tick it builds one Snapshot (view.ts) and hands it to its listeners.
 */
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { redactUrl } from '../bus/auth.js';
import { PPOV_MAX_PAYLOAD_BYTES } from '../bus/codec.js';
import { listen, request, type BusErrorSink } from '../bus/rpc.js';
import {
  PpovGroups,
  PpovStatus,
  PpovStatusRequest,
  PpovSyncRequest,
  CenterStats,
  CenterStatsRequest,
  SCHEMA_VERSION,
  SchedulerEvent,
  SchedulerStatus,
  SchedulerStatusRequest,
  StandardChanged,
  SubAccountList,
  SubAccountListRequest,
  type HardwareProfile,
} from '../bus/schemas.js';
import { subjects } from '../bus/subjects.js';
import { NodePool, type PoolNode } from '../node/pool.js';
import type { AccountView, BusView, LedgerView, NodeView, Snapshot, SourceProblem, TimelineEntry } from './view.js';

/** Watcher options; every default is documented here. */
export interface GridWatcherOptions {
  nc: NatsConnection;
  /** Distribution centers to read (default `['main']`, the one `hashgrid up` runs). */
  centers?: string[];
  /** Scheduler plans to read (default `['default']`). */
  plans?: string[];
  /** How often to ask the centers and schedulers and push a snapshot (default 1000 ms). */
  tickMs?: number;
  /** Samples kept per sparkline, one per tick (default 120: two minutes at 1 s). */
  sparkSamples?: number;
  /** Timeline entries kept (default 200). */
  timelineSize?: number;
  /** Timeout of each request to a center or scheduler (default 1500 ms). */
  requestTimeoutMs?: number;
  /** A PPoV chain to follow: its id and the ledger nodes to ask (the first that answers). */
  ledger?: { chain: string; nodes: string[] };
  onError?: BusErrorSink;
}

type Listener = (snapshot: Snapshot) => void;

/** The last answer of one request/reply source, or why there is none. */
type Answer<T> = { ok: true; value: T } | { ok: false; problem: SourceProblem };

export class GridWatcher {
  private readonly pool: NodePool;
  private readonly centers: string[];
  private readonly plans: string[];
  private readonly subs: Subscription[] = [];
  private readonly listeners = new Set<Listener>();
  private readonly nodeSpark = new Map<string, number[]>();
  private readonly accountSpark = new Map<string, number[]>();
  private readonly total: [number, number][] = [];
  private readonly timeline: TimelineEntry[] = [];
  private readonly bus: BusView;
  private readonly timer: NodeJS.Timeout;
  private ticking = false;
  private stopped = false;
  private last: Snapshot;

  constructor(private readonly options: GridWatcherOptions) {
    const { nc } = options;
    this.centers = options.centers ?? ['main'];
    this.plans = options.plans ?? ['default'];
    this.bus = { connected: !nc.isClosed(), server: redactUrl(nc.getServer()), since: Date.now(), reconnects: 0 };
    this.pool = new NodePool(nc, {
      ...(options.onError ? { onError: options.onError } : {}),
      onChange: (node, event) =>
        this.note('pool', event, `${node.nodeId} ${event === 'lost' ? 'missed its heartbeats' : event === 'back' ? 'is back' : `registered (${node.backends.map((b) => b.backend).join(', ')})`}`),
    });
    for (const plan of this.plans) {
      this.subs.push(listen(nc, subjects.scheduler(plan).events, SchedulerEvent, 'SchedulerEvent', (e) => this.note(`scheduler ${e.plan}`, e.kind, e.reason, e.at), options.onError));
    }
    for (const cid of this.centers) {
      this.subs.push(
        listen(nc, subjects.center(cid).standardChanged, StandardChanged, 'StandardChanged', (e) =>
          this.note(`center ${e.centerId}`, 'standard', `${e.subAccount} ${e.upToStandard ? 'is up to standard' : 'fell below standard'}`, e.at), options.onError),
      );
    }
    this.last = this.build([], [], []);
    void this.followConnection();
    this.timer = setInterval(() => void this.tick(), options.tickMs ?? 1000);
    this.timer.unref();
    void this.tick();
  }

  /** The latest snapshot. */
  snapshot(): Snapshot {
    return this.last;
  }

  /** Calls `listener` with every new snapshot; returns the unsubscribe function. */
  onSnapshot(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    this.pool.stop();
    for (const s of this.subs) s.unsubscribe();
    this.listeners.clear();
  }

  /** One round: ask every source at once; a source that does not answer becomes a problem, not a stall. */
  private async tick(): Promise<void> {
    if (this.ticking || this.stopped) return;
    this.ticking = true;
    try {
      const ask = <T>(source: string, run: () => Promise<T>): Promise<Answer<T>> =>
        run().then(
          (value) => ({ ok: true as const, value }),
          (e: { code?: string; message?: string }) => ({ ok: false as const, problem: { source, code: e.code ?? 'INTERNAL', message: e.message ?? String(e) } }),
        );
      const t = this.options.requestTimeoutMs ?? 1500;
      const nc = this.options.nc;
      const v = { v: SCHEMA_VERSION } as const;
      const [lists, stats, statuses] = await Promise.all([
        Promise.all(this.centers.map((c) => ask(`center ${c}`, () => request(nc, subjects.center(c).list, SubAccountListRequest, v, SubAccountList, 'SubAccountList', t)))),
        Promise.all(this.centers.map((c) => ask(`center ${c}`, () => request(nc, subjects.center(c).stats, CenterStatsRequest, v, CenterStats, 'CenterStats', t)))),
        Promise.all(this.plans.map((p) => ask(`scheduler ${p}`, () => request(nc, subjects.scheduler(p).status, SchedulerStatusRequest, v, SchedulerStatus, 'SchedulerStatus', t)))),
      ]);
      const ledger = await this.ledger(t);
      if (this.stopped) return;
      this.last = this.build(lists, stats, statuses);
      this.last.ledger = ledger;
      for (const l of this.listeners) l(this.last);
    } finally {
      this.ticking = false;
    }
  }

  /** One ledger node's status and its last five block groups (the newest first). */
  private async ledger(timeoutMs: number): Promise<LedgerView | null> {
    const l = this.options.ledger;
    if (!l) return null;
    for (const nodeId of l.nodes) {
      try {
        const s = subjects.ppov(l.chain);
        const st = await request(this.options.nc, s.status(nodeId), PpovStatusRequest, { v: SCHEMA_VERSION }, PpovStatus, 'PpovStatus', timeoutMs);
        const from = Math.max(1, st.height - 4);
        const groups = st.height > 0 ? (await request(this.options.nc, s.sync(nodeId), PpovSyncRequest, { v: SCHEMA_VERSION, from: nodeId, height: from }, PpovGroups, 'PpovGroups', timeoutMs, PPOV_MAX_PAYLOAD_BYTES)).groups : [];
        return {
          chainId: st.chainId,
          nodeId,
          height: st.height,
          view: st.view,
          pending: st.pending,
          groups: groups
            .map((g) => ({
              height: g.header.height,
              groupId: g.header.groupId,
              leader: g.header.leader,
              nextLeader: g.header.nextLeader,
              votes: g.header.votes.length,
              approved: g.header.results.filter((r) => r.block !== '').length,
              blocks: g.header.results.length,
              txs: g.blocks.reduce((n, b) => n + b.txCount, 0),
            }))
            .reverse(),
        };
      } catch {
        // That node is down or busy: ask the next.
      }
    }
    return null;
  }

  private build(
    lists: Answer<SubAccountList>[],
    stats: Answer<CenterStats>[],
    statuses: Answer<SchedulerStatus>[],
  ): Snapshot {
    const now = Date.now();
    const problems: SourceProblem[] = [];
    const ok = <T>(a: Answer<T>): T[] => (a.ok ? [a.value] : (problems.push(a.problem), []));
    const schedulers = statuses.flatMap(ok);
    const centerLists = lists.flatMap(ok);
    const centerStats = stats.flatMap((a) => (a.ok ? [a.value] : [])); // same source as lists: reported once

    const roles = new Map(schedulers.flatMap((s) => s.nodes.map((n) => [n.id, n] as const)));
    const nodes = this.pool.nodes().map((n) => this.nodeView(n, roles.get(n.nodeId)));
    const scheduled = new Map(schedulers.flatMap((s) => s.accounts.map((a) => [a.key, { plan: s.plan, a }] as const)));
    const accounts: AccountView[] = centerLists.flatMap((list) =>
      list.subAccounts.map((info) => {
        const key = `${list.centerId}/${info.id}`;
        const s = scheduled.get(key);
        const delivered = Object.fromEntries(
          Object.entries(info.delivered).map(([w, r]) => [w, { hashrate: r.hashrate, relativeError: r.relativeError, shares: r.shares }]),
        );
        return {
          key,
          center: list.centerId,
          id: info.id,
          standard: info.standard,
          windowSeconds: info.windowSeconds,
          upToStandard: info.upToStandard,
          acceptedShares: info.acceptedShares,
          delivered,
          ...(s
            ? { scheduled: { plan: s.plan, state: s.a.state, progress: s.a.progress, nodes: s.a.nodes, etaSeconds: s.a.etaSeconds, ...(s.a.reason ? { reason: s.a.reason } : {}) } }
            : {}),
          spark: this.sample(this.accountSpark, key, info.delivered.standardWindow?.hashrate ?? 0),
        };
      }),
    );
    const totalRate = nodes.filter((n) => n.alive).reduce((s, n) => s + n.hashrate, 0);
    this.total.push([now, totalRate]);
    if (this.total.length > this.sparkSamples) this.total.shift();
    return {
      at: now,
      bus: { ...this.bus },
      total: [...this.total],
      nodes,
      accounts,
      centers: centerStats.map((c) => ({ id: c.centerId, accepted: c.accepted, rejected: c.rejected, blocks: c.blocks })),
      plans: schedulers.map((s) => ({ plan: s.plan, mode: s.mode, leader: s.leader, capacity: s.capacity, forwarded: s.forwarded })),
      timeline: [...this.timeline],
      problems,
      ledger: null,
    };
  }

  private nodeView(n: PoolNode, role: SchedulerStatus['nodes'][number] | undefined): NodeView {
    const hashrate = n.alive ? Object.values(n.hashrate).reduce((a, b) => a + b, 0) : 0;
    return {
      id: n.nodeId,
      alive: n.alive,
      state: n.state,
      backends: n.backends.map((b) => b.backend),
      hardware: describeHardware(n.profile),
      hostname: n.profile.hostname,
      hashrate,
      calibrated: n.backends.reduce((s, b) => s + b.hashrate, 0),
      sharesFound: n.sharesFound,
      spark: this.sample(this.nodeSpark, n.nodeId, hashrate),
      ...(role ? { role: role.state, slices: role.slices } : {}),
    };
  }

  private get sparkSamples(): number {
    return this.options.sparkSamples ?? 120;
  }

  /** Appends `value` to `key`'s series and returns a copy of it. */
  private sample(series: Map<string, number[]>, key: string, value: number): number[] {
    const s = series.get(key) ?? [];
    s.push(value);
    if (s.length > this.sparkSamples) s.shift();
    series.set(key, s);
    return [...s];
  }

  private note(source: string, kind: string, text: string, at = Date.now()): void {
    this.timeline.unshift({ at, source, kind, text });
    if (this.timeline.length > (this.options.timelineSize ?? 200)) this.timeline.pop();
  }

  /** Follows the connection: the page shows "bus disconnected" from this, not from failing requests. */
  private async followConnection(): Promise<void> {
    for await (const s of this.options.nc.status()) {
      if (this.stopped) return;
      if (s.type === 'disconnect') {
        Object.assign(this.bus, { connected: false, since: Date.now(), server: redactUrl(s.server) });
        this.note('bus', 'disconnected', `lost ${redactUrl(s.server)}; reconnecting`);
      } else if (s.type === 'reconnect') {
        Object.assign(this.bus, { connected: true, since: Date.now(), server: redactUrl(s.server), reconnects: this.bus.reconnects + 1 });
        this.note('bus', 'reconnected', `connected to ${redactUrl(s.server)}`);
      } else if (s.type === 'close') {
        Object.assign(this.bus, { connected: false, since: Date.now() });
      }
      if (s.type === 'disconnect' || s.type === 'reconnect') {
        // Tell the page at once rather than at the next tick (which may wait on timeouts).
        this.last = { ...this.last, bus: { ...this.bus }, timeline: [...this.timeline] };
        for (const l of this.listeners) l(this.last);
      }
    }
  }
}

/** One line an operator reads: CPU, cores, memory, the SIMD that matters, GPUs. */
export function describeHardware(p: HardwareProfile): string {
  const simd = p.simd.filter((f) => ['avx2', 'avx512f', 'sha_ni', 'neon', 'sha2'].includes(f));
  const gpus = p.gpus.length ? p.gpus.map((g) => g.description || `${g.vendor} ${g.architecture}`).join(', ') : 'no GPU';
  return [p.cpuModel, `${p.cores} cores`, `${Math.round(p.memoryBytes / 2 ** 30)} GiB`, simd.join(' ') || null, gpus].filter(Boolean).join(' · ');
}
