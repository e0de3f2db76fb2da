/**
 * The computing scheduling module (EP 4 178 150 claims 1–6) on the bus.
 *
 * For each sub-account of its plan it authenticates to the distribution
 * center (claim 3: credentials → result → only then tasks), fetches tasks,
 * and turns them into work for hashing nodes: each assignment carries the
 * task's coinbase and a range of extranonce2 values of its own, which the
 * node rolls through (extranonce2.ts), so nodes search disjoint headers.
 * Shares come back from the nodes through JetStream and are forwarded to the
 * center as task results, each checked against its assignment's range;
 * the center's delivered-hashrate windows and up-to-standard answers drive
 * the policy (policy.ts), which runs every `decisionMs`.
 *
 * State that must survive a restart — each sub-account's state machine,
 * center session tokens, extranonce2 counters (a range is reserved there
 * before its work is sent), assignments, the
 * sub-accounts as run-time changes left them — lives in JetStream KV,
 * written with compare-and-set. Leadership is a KV lease, so two
 * schedulers on one plan never both act, and only the leader answers the
 * bus (a standby only when no one leads: as standby, refusing changes). Shares are forwarded through a
 * durable consumer and acknowledged only after the center answered, so a
 * crash redelivers rather than loses them, and the center's duplicate check
 * keeps the accounting from counting one twice.
 */
import { randomBytes } from 'node:crypto';
import { AckPolicy, jetstream, jetstreamManager, type ConsumerMessages, type JetStreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { bytesToHex } from '../core/bytes.js';
import { ErrorCode, HashgridError, isHashgridError } from '../core/errors.js';
import { decode, encode } from '../bus/codec.js';
import { listen, request, serve, type BusErrorSink } from '../bus/rpc.js';
import {
  CoinbaseRoll,
  Control,
  ControlDone,
  Exhausted,
  JobChanged,
  SCHEMA_VERSION,
  SchedulerAccountChange,
  SchedulerEvent,
  SchedulerPlan,
  SchedulerStatus,
  SchedulerStatusRequest,
  Share,
  Task,
  WorkAccepted,
  WorkAssignment,
  type SchedulerSubAccount,
  type SubAccountInfo,
} from '../bus/schemas.js';
import { buckets, streams, subjects } from '../bus/subjects.js';
import { ensureSharesStream } from '../bus/jetstream.js';
import type { SchedulerMetrics } from '../metrics/metrics.js';
import type { NodePool } from '../node/pool.js';
import { buildHeader, hex32 } from '../stratum/job.js';
import { extranonce2Hex, jobIdOf, parseJobId, reserveExtranonce2, shareExtranonce2 } from './extranonce2.js';
import { NodeHealth } from './health.js';
import { NatsCenterLink, StratumPoolLink, type CenterLink } from './links.js';
import { decide, materiallyDifferent, type Plan, type PolicyAccount, type PolicyNode, type Slice } from './policy.js';

type AccountState = 'pending' | 'authenticating' | 'mining' | 'up-to-standard' | 'failed';

/** What survives a restart (KV key `state.<plan>`). */
interface DurableState {
  /** `nextExtranonce2`: where the sub-account's next extranonce2 range starts (reserveExtranonce2). */
  accounts: Record<string, { state: AccountState; token?: string; nextExtranonce2: number; priority: number; reason?: string }>;
  assignments: Record<string, Slice[]>;
  /**
   * The sub-accounts as run-time changes left them: every account's
   * definition, and the plan-file accounts removed over the bus (so a
   * restart with the same file does not bring them back).
   */
  definitions?: Record<string, SchedulerSubAccount>;
  removed?: string[];
}

interface Rotation {
  index: number;
  /** When the current slice's clock started (held while draining). */
  since: number;
  account?: string;
  /** Since when the node has worked without a break (switches do not break it: the engine's meter runs on). */
  workingSince?: number;
  /** Set from a switch until the old owner's shares stored before it are forwarded. */
  draining?: { account: string; seq: number; since: number };
  /** The work the node was last given, and the last work it reported spent (Exhausted): when equal, it needs new work. */
  jobId?: string;
  spent?: string;
}

interface Lease {
  id: string;
  until: number;
}

interface Live {
  /** Where the sub-account lives: a center id, or `<host>:<port>` of a Stratum pool. */
  center: string;
  id: string;
  priority: number;
  link: CenterLink;
  authenticated: boolean;
  info?: SubAccountInfo;
  task?: Task;
  /** The task's coinbase as a node rolls it; undefined where CoinbaseRoll cannot carry it (see rollableCoinbase). */
  coinbase?: RollableCoinbase;
  taskAt: number;
}

/** A task's coinbase as a work assignment carries it, less the range each assignment has of its own. */
const RollableCoinbase = CoinbaseRoll.omit({ extranonce2Start: true, extranonce2Count: true });
type RollableCoinbase = Omit<CoinbaseRoll, 'extranonce2Start' | 'extranonce2Count'>;

/** Scheduler options; every default is documented here (plan fields have theirs in the schema). */
export interface SchedulerOptions {
  nc: NatsConnection;
  pool: NodePool;
  plan: unknown;
  /** Identifies this instance in the leadership lease (default random). */
  instanceId?: string;
  /** Replicas of the SHARES stream if this scheduler creates it (default 1; 3 on a 3-server cluster). */
  replicas?: number;
  /**
   * How long a removed sub-account's link stays open so shares its nodes
   * found before the change still reach its center (default 30,000 ms, the
   * center's grace period for replaced jobs).
   */
  drainMs?: number;
  /** A node delivering under this share of its peers' (calibration-relative) rate for 3 decisions is failed (default 0.5). */
  underDelivery?: number;
  /** Decisions an under-delivering node sits out before it works on probation (default 10; see health.ts). */
  probationAfter?: number;
  /**
   * A sub-account's task is fetched again after this long (default 5000 ms). A
   * hashgrid center's JobChanged event refreshes it at once; the poll is for
   * Stratum pools and for a missed event.
   */
  taskRefreshMs?: number;
  /**
   * Extranonce2 values reserved for one assignment (default 256): 2^40
   * hashes, 157 s of the fastest GPU sha256d rate in sight (~7 GH/s) and
   * hours of a CPU node, after which the node reports its range spent and
   * gets the next; with 4-byte extranonce2 the space holds 2^24 such
   * ranges before values come round again. A 1- or 2-byte extranonce2
   * shrinks it (see MIN_RANGES_PER_SPACE in extranonce2.ts).
   */
  extranonce2Range?: number;
  /** Nonces a node searches in each header (default 2^32, the whole nonce field); fewer make nodes roll extranonce2 sooner (tests). */
  nonceCount?: number;
  onError?: BusErrorSink;
  metrics?: SchedulerMetrics;
  log?: (line: string) => void;
}

export class Scheduler {
  readonly plan: SchedulerPlan;
  readonly instanceId: string;
  leader = false;
  /** Shares the centers accepted and rejected, and those this scheduler refused to forward, by error code. */
  forwarded: { accepted: number; rejected: number; refused: Record<string, number> } = { accepted: 0, rejected: 0, refused: {} };
  private readonly live = new Map<string, Live>();
  /** Removed sub-accounts whose in-flight shares are still forwarded, until `until`. */
  private readonly retired = new Map<string, { live: Live; until: number }>();
  private state: DurableState = { accounts: {}, assignments: {} };
  private revision = 0;
  private kv!: KV;
  private current: Plan | undefined;
  private readonly health: NodeHealth;
  /** Per node: which slice it is on and since when. */
  private rotation = new Map<string, Rotation>();
  private lastDecision: ReturnType<typeof decide> | undefined;
  /** The sub-accounts the last decision scheduled (sorted keys). */
  private taking = '';
  private timer: NodeJS.Timeout | undefined;
  private messages: ConsumerMessages | undefined;
  private subs: Subscription[] = [];
  private leaseWatch: { stop(): void } | undefined;
  private stopped = false;
  private stepping = false;
  private again = false;
  private unwatchPool: (() => void) | undefined;
  private saving: Promise<void> = Promise.resolve();
  private readonly log: (line: string) => void;
  private readonly extranonce2Range: number;
  private jsm: Promise<JetStreamManager> | undefined;
  private readonly nonceCount: number;

  /** The lease as last read: who leads, until when. */
  private lease: Lease | undefined;

  private constructor(private readonly options: SchedulerOptions) {
    this.plan = parsePlan(options.plan);
    this.instanceId = options.instanceId ?? randomBytes(6).toString('hex');
    this.log = options.log ?? (() => {});
    this.extranonce2Range = options.extranonce2Range ?? 256;
    // Rule: extranonce2Range is a whole number of values, at least 1.
    if (!Number.isSafeInteger(this.extranonce2Range) || this.extranonce2Range < 1) {
      throw new HashgridError(ErrorCode.INVALID_ARGUMENT, `extranonce2Range: expected a whole number >= 1, got ${this.extranonce2Range}`);
    }
    this.nonceCount = options.nonceCount ?? 2 ** 32;
    // Rule: nonceCount is 1 to 2^32, the values of the header's nonce field.
    if (!Number.isSafeInteger(this.nonceCount) || this.nonceCount < 1 || this.nonceCount > 2 ** 32) {
      throw new HashgridError(ErrorCode.INVALID_NONCE_RANGE, `nonceCount: expected a whole number from 1 to 2^32, got ${this.nonceCount}`);
    }
    this.health = new NodeHealth({ ...(options.underDelivery !== undefined ? { underDelivery: options.underDelivery } : {}), ...(options.probationAfter !== undefined ? { probationAfter: options.probationAfter } : {}) });
  }

  private addLive(a: SchedulerSubAccount, priority: number): void {
    const link =
      'pool' in a
        ? new StratumPoolLink(a.pool.host, a.pool.port, a.worker ?? `${a.id}.hashgrid`, a.password, a.standard, a.windowSeconds)
        : new NatsCenterLink(this.options.nc, a.center, a.id, a.password, undefined);
    this.live.set(keyOf(a), { center: centerOf(a), id: a.id, priority, link, authenticated: false, taskAt: 0 });
  }

  static async start(options: SchedulerOptions): Promise<Scheduler> {
    const s = new Scheduler(options);
    s.kv = await new Kvm(options.nc).create(buckets.scheduler, { history: 1 });
    await s.load();
    await s.watchLease();
    await ensureSharesStream(options.nc, options.replicas ?? 1);
    await s.consumeShares();
    s.serve();
    // A lost node is replaced at once, not at the next tick: fail-over within two heartbeat intervals.
    s.unwatchPool = options.pool.watch((_, event) => {
      if (event === 'lost') void s.step().catch((e) => s.log(`step failed: ${(e as Error).message}`));
    });
    s.timer = setInterval(() => void s.step().catch((e) => s.log(`step failed: ${(e as Error).message}`)), s.plan.decisionMs);
    s.timer.unref();
    await s.step();
    return s;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    for (const sub of this.subs) sub.unsubscribe();
    this.leaseWatch?.stop();
    this.unwatchPool?.();
    for (const l of this.live.values()) l.link.close();
    for (const r of this.retired.values()) r.live.link.close();
    await this.messages?.close();
    if (this.leader) await this.kv.delete(`leader.${this.plan.name}`).catch(() => {});
  }

  // ---- one decision

  /** Leadership, center state, failures, policy, work. One at a time: a slow step skips the next tick. */
  async step(): Promise<void> {
    if (this.stepping) {
      this.again = true; // something happened mid-step (a node lost): decide once more right after
      return;
    }
    this.stepping = true;
    try {
      await this.stepOnce();
    } finally {
      this.stepping = false;
    }
    if (this.again) {
      this.again = false;
      await this.step();
    }
  }

  private async stepOnce(): Promise<void> {
    if (this.stopped || !(await this.lead())) return;
    this.closeRetired(Date.now());
    await Promise.all([...this.live.keys()].map((k) => this.refresh(k)));
    const nodes = this.nodes();
    const accounts = this.accounts();
    const d = decide(nodes, accounts, { mode: this.plan.mode, maintain: this.plan.maintain });
    this.lastDecision = d;
    // Hysteresis holds a plan against noise, never against a change in which sub-accounts take part.
    const taking = accounts.map((a) => a.key).sort().join();
    const joined = taking !== this.taking;
    this.taking = taking;
    if (joined || materiallyDifferent(this.current, d.plan, nodes)) {
      this.current = d.plan;
      this.state.assignments = Object.fromEntries(d.plan);
      await this.save();
      const targets = [...d.targets].map(([k, r]) => `${k} ${(r / 1e6).toFixed(2)} MH/s`).join(', ');
      const why = [...d.reasons, ...(this.plan.mode === 'parallel' && targets ? [`targets ${targets}`] : [])].join('; ');
      this.event('plan', why || 'no work: no node is active', { assignments: Object.fromEntries(d.plan) });
    }
    await this.drain(Date.now());
    await this.rotate(Date.now());
  }

  private accounts(): PolicyAccount[] {
    const out: PolicyAccount[] = [];
    for (const [key, l] of this.live) {
      const s = this.state.accounts[key]!;
      if (!l.info || s.state === 'failed' || s.state === 'authenticating' || s.state === 'pending') continue;
      const w = l.info.delivered.standardWindow ?? { hashrate: 0 };
      out.push({ key, center: l.center, standard: l.info.standard, windowSeconds: l.info.windowSeconds, delivered: w.hashrate, upToStandard: l.info.upToStandard, priority: s.priority });
    }
    return out;
  }

  /** Pool nodes through the health check (health.ts): failures, probation, recoveries, each an event. */
  private nodes(): PolicyNode[] {
    const pool = this.options.pool.nodes();
    const standby = new Set(this.plan.standby);
    const now = Date.now();
    // The node's meter reads low for its first second of work, and a heartbeat carries it a beat late.
    const settleMs = 1000 + 2 * this.options.pool.heartbeatMs;
    const { nodes, events } = this.health.assess(
      pool.map((n) => ({
        id: n.nodeId,
        alive: n.alive,
        mining: n.state === 'mining',
        calibrated: n.backends.reduce((s, b) => s + b.hashrate, 0),
        measured: Object.values(n.hashrate).reduce((s, r) => s + r, 0),
        settled: now - (this.rotation.get(n.nodeId)?.workingSince ?? now) >= settleMs,
        standby: standby.has(n.nodeId),
      })),
    );
    this.health.retain(new Set(pool.map((n) => n.nodeId)));
    for (const e of events) this.event(e.kind, e.reason, { nodeId: e.nodeId });
    return nodes;
  }

  /**
   * Moves each node to its current slice's account, cycling slices over
   * sliceMs. Every extranonce2 handed out in one rotation is saved once,
   * before any of that work leaves; then the requests go out together, a
   * few hundred at a time, so a rotation of 10,000 nodes is one KV write and
   * a few round trips, not 10,000 of each.
   */
  private async rotate(now: number): Promise<void> {
    const plan: Plan = this.current ?? new Map();
    const cancels: string[] = [];
    for (const [nodeId, r] of this.rotation) {
      if (!plan.has(nodeId) && r.account) {
        this.rotation.delete(nodeId);
        cancels.push(nodeId);
      }
    }
    const moves: { nodeId: string; r: Rotation; work: WorkAssignment }[] = [];
    for (const [nodeId, slices] of plan) {
      let r = this.rotation.get(nodeId);
      const due = !r || (!r.draining && now - r.since >= (slices[r.index % slices.length]?.fraction ?? 1) * this.plan.sliceMs) || !slices.some((sl: Slice) => sl.account === r!.account);
      if (!r) r = { index: 0, since: now };
      else if (due && slices.length > 1) r.index = (r.index + 1) % slices.length;
      const want = slices[r.index % slices.length]!.account;
      if (want !== r.account || (r.jobId !== undefined && r.spent === r.jobId)) {
        r.since = now;
        const work = this.workFor(want);
        if (work) moves.push({ nodeId, r, work });
      } else if (due) r.since = now;
      this.rotation.set(nodeId, r);
    }
    if (moves.length > 0) await this.save();
    const drainFrom = moves.some((m) => m.r.account) ? await this.lastShareSeq() : 0;
    await inBatches(cancels, 256, (nodeId) =>
      request(this.options.nc, subjects.nodeControl(nodeId), Control, { v: SCHEMA_VERSION, action: 'cancel' }, ControlDone, 'Control').then(
        () => {},
        () => {},
      ),
    );
    await inBatches(moves, 256, async ({ nodeId, r, work }) => {
      if (!(await this.send(nodeId, work))) return;
      // The old owner's shares already found are forwarded before the new slice's time counts (see drain()).
      if (r.account && r.account !== work.owner) r.draining = { account: r.account, seq: drainFrom, since: now };
      r.account = work.owner;
      r.jobId = work.jobId;
      r.workingSince ??= Date.now();
    });
  }

  /**
   * Switching drains in-flight shares first: a node that moved keeps its
   * new slice's clock stopped until every share stored before the switch
   * (stream sequence ≤ the one recorded then) has been forwarded — the
   * consumer's ack floor passed it — or `drainMs` ran out. Shares for the
   * old owner that arrive later are forwarded all the same (the job id says
   * whose they are; the center accepts them within its grace period).
   */
  private async drain(now: number): Promise<void> {
    const draining = [...this.rotation].filter(([, r]) => r.draining);
    if (draining.length === 0) return;
    const floor = await this.ackFloor();
    for (const [nodeId, r] of draining) {
      const d = r.draining!;
      const done = floor >= d.seq;
      if (!done && now - d.since < (this.options.drainMs ?? 30_000)) continue;
      r.draining = undefined;
      r.since = now;
      this.event('switched', `${nodeId}: ${d.account} → ${r.account ?? '-'} ${done ? `after its shares were forwarded (${now - d.since} ms)` : 'with shares still unforwarded after drainMs'}`, { nodeId, from: d.account, to: r.account, drainedMs: now - d.since, drained: done });
    }
  }

  /** One JetStream manager for the scheduler's life: making one costs a request to the server (its API check). */
  private manager(): Promise<JetStreamManager> {
    this.jsm ??= jetstreamManager(this.options.nc).catch((e: unknown) => {
      this.jsm = undefined; // a failed check is not kept: the next call asks again
      throw e;
    });
    return this.jsm;
  }

  private async lastShareSeq(): Promise<number> {
    const jsm = await this.manager();
    return (await jsm.streams.info(streams.shares.name)).state.last_seq;
  }

  private async ackFloor(): Promise<number> {
    const jsm = await this.manager();
    const c = await jsm.consumers.info(streams.shares.name, `scheduler-${this.plan.name}`);
    // Nothing waiting: everything stored so far is forwarded, whatever the floor says.
    return c.num_pending === 0 && c.num_ack_pending === 0 ? Number.MAX_SAFE_INTEGER : c.ack_floor.stream_seq;
  }

  /** Takes `key` out of the plan, keeping its link for the drain. */
  private retire(key: string): void {
    const l = this.live.get(key)!;
    this.live.delete(key);
    this.retired.set(key, { live: l, until: Date.now() + (this.options.drainMs ?? 30_000) });
    for (const r of this.rotation.values()) if (r.account === key) r.account = undefined;
  }

  private closeRetired(now: number): void {
    for (const [key, r] of this.retired) {
      if (r.until > now) continue;
      r.live.link.close();
      this.retired.delete(key);
    }
  }

  /**
   * Work on `key`'s current task: its coinbase and a fresh extranonce2 range
   * (reserved in the state here, saved by the caller before it is sent, so
   * not even a restart gives a range out twice); `header` is the header of
   * the range's first extranonce2.
   */
  private workFor(key: string): WorkAssignment | undefined {
    const l = this.live.get(key);
    const s = this.state.accounts[key];
    if (!l || !s || !l.task || !l.authenticated) return undefined; // removed since the plan was made
    const task = l.task;
    // A task no node can roll gets one extranonce2 an assignment, as before ranges.
    const { range, next, wrapped } = reserveExtranonce2(s.nextExtranonce2, task.extranonce2Size, l.coinbase ? this.extranonce2Range : 1);
    const extranonce2Start = extranonce2Hex(range.start, task.extranonce2Size);
    // Everything needed to check and forward a share rides in the job id, so a restarted scheduler can do it too.
    let jobId: string;
    try {
      jobId = jobIdOf({ center: l.center, id: l.id, taskJobId: task.jobId, extranonce2Start, extranonce2Count: range.count, ntime: task.ntime });
    } catch (e) {
      this.log(`${key}: no work: ${(e as Error).message}`);
      return undefined;
    }
    s.nextExtranonce2 = next;
    if (wrapped) this.log(`${key}: every ${task.extranonce2Size}-byte extranonce2 has been handed out; ranges start from 0 again`);
    const header = buildHeader(task, { extranonce1: task.extranonce1, extranonce2: extranonce2Start, ntime: task.ntime, nonce: '00000000' });
    return {
      v: SCHEMA_VERSION,
      jobId,
      owner: key,
      header: bytesToHex(header),
      nonceStart: 0,
      nonceCount: this.nonceCount,
      shareTarget: task.shareTarget,
      ...(l.coinbase ? { coinbase: { ...l.coinbase, extranonce2Start: range.start, extranonce2Count: range.count } } : {}),
    };
  }

  private async send(nodeId: string, work: WorkAssignment): Promise<boolean> {
    try {
      await request(this.options.nc, subjects.nodeWork(nodeId), WorkAssignment, work, WorkAccepted, 'WorkAssignment');
      const job = parseJobId(work.jobId)!;
      this.event('assign', `${nodeId} → ${work.owner}`, { nodeId, account: work.owner, extranonce2: job.extranonce2Start, extranonce2Count: job.extranonce2Count });
      return true;
    } catch (e) {
      this.log(`assign ${nodeId} → ${work.owner}: ${(e as Error).message}`);
      return false;
    }
  }

  // ---- the center

  /** Claim 3, then tasks and standards: the sub-account state machine. */
  private async refresh(key: string): Promise<void> {
    const l = this.live.get(key)!;
    const s = this.state.accounts[key]!;
    try {
      if (!l.authenticated) {
        // A center session saved by an earlier run is resumed; otherwise authenticate.
        if (s.token && l.link instanceof NatsCenterLink) l.link.session ??= s.token;
        else {
          this.transition(key, 'authenticating', 'authenticating to its distribution module');
          await l.link.authenticate();
          if (l.link.session) s.token = l.link.session;
          this.transition(key, 'mining', 'authenticated');
          await this.save();
        }
        l.authenticated = true;
      }
      // A fresh task after a JobChanged event, or every few seconds: new blocks make old jobs stale.
      if (!l.task || Date.now() - l.taskAt > (this.options.taskRefreshMs ?? 5000)) {
        const task = await l.link.task();
        const changed = !l.task || l.task.jobId.split('.')[0] !== task.jobId.split('.')[0] || l.task.prevhash !== task.prevhash;
        l.task = task;
        const rollable = rollableCoinbase(task);
        l.coinbase = rollable.coinbase;
        if (rollable.refused && changed) this.log(`${key}: task ${task.jobId}: its coinbase cannot ride in work (${rollable.refused}); nodes get one extranonce2 per assignment`);
        l.taskAt = Date.now();
        if (changed) for (const r of this.rotation.values()) if (r.account === key) r.account = undefined; // re-issue work on the new job
      }
      l.info = await l.link.info();
      this.options.metrics?.upToStandard.set({ account: key }, l.info.upToStandard ? 1 : 0);
      this.options.metrics?.delivered.set({ account: key }, l.info.delivered.standardWindow?.hashrate ?? 0);
      this.transition(key, l.info.upToStandard ? 'up-to-standard' : 'mining', l.info.upToStandard ? 'up to standard' : 'below standard');
    } catch (e) {
      if (isHashgridError(e) && e.code === ErrorCode.STRATUM && /token|unauthorized/.test(e.message) && s.token && l.authenticated) {
        // The center forgot our session (it restarted): authenticate again.
        delete s.token;
        l.link instanceof NatsCenterLink && (l.link.session = undefined);
        l.authenticated = false;
        return;
      }
      if (isHashgridError(e) && e.code === ErrorCode.INVALID_STATE && l.authenticated) {
        this.sessionLost(key, l, e);
        return;
      }
      if (isHashgridError(e) && (e.code === ErrorCode.STRATUM || e.code === ErrorCode.NOT_FOUND)) this.transition(key, 'failed', e.message);
      else this.log(`${key}: ${(e as Error).message}`);
    }
  }

  private transition(key: string, next: AccountState, reason: string): void {
    const s = this.state.accounts[key];
    if (!s || s.state === next) return; // removed while its center answered
    this.event('sub-account', `${key}: ${s.state} → ${next} (${reason})`, { account: key, from: s.state, to: next });
    s.state = next;
    s.reason = reason;
  }

  // ---- shares

  private async consumeShares(): Promise<void> {
    const jsm = await this.manager();
    const durable = `scheduler-${this.plan.name}`;
    await jsm.consumers.add(streams.shares.name, { durable_name: durable, ack_policy: AckPolicy.Explicit });
    const consumer = await jetstream(this.options.nc).consumers.get(streams.shares.name, durable);
    this.messages = await consumer.consume();
    void (async () => {
      for await (const m of this.messages!) {
        if (!this.leader) {
          m.nak(1000); // the leader forwards
          continue;
        }
        try {
          if ((await this.forward(decode(Share, m.data, 'Share'))) === 'later') {
            m.nak(500); // its sub-account is not connected yet: keep it, never drop it
            continue;
          }
        } catch (e) {
          this.refuse(m.subject, e);
        }
        m.ack();
      }
    })();
  }

  /**
   * A node's share → the distribution module's task result; 'later' when its
   * sub-account is not connected yet. Throws EXTRANONCE2_OUT_OF_RANGE for a
   * share its assignment did not cover, before anything is sent.
   */
  private async forward(share: Share): Promise<'done' | 'later'> {
    const job = parseJobId(share.jobId);
    if (!job) return 'done'; // not work of a scheduler
    const { center, id, taskJobId, ntime } = job;
    const key = `${center}/${id}`;
    // A removed sub-account's shares are still its center's while the drain lasts.
    const l = this.live.get(key) ?? this.retired.get(key)?.live;
    if (!l) return 'done'; // not work of this plan
    const extranonce2 = shareExtranonce2(job, share.extranonce2);
    if (!l.authenticated) {
      const token = this.state.accounts[key]?.token;
      if (!(token && l.link instanceof NatsCenterLink)) return 'later';
      l.link.session ??= token; // the session the work was given under
    }
    try {
      await l.link.submit({ jobId: taskJobId, extranonce2, ntime, nonce: hex32(share.nonce) });
      this.forwarded.accepted++;
      this.options.metrics?.forwarded.inc({ outcome: 'accepted' });
    } catch (e) {
      this.forwarded.rejected++;
      this.options.metrics?.forwarded.inc({ outcome: 'rejected' });
      this.log(`share for ${center}/${id} rejected: ${(e as Error).message}`);
      // Its job belonged to the lost session: the share cannot be sent on a new one. Reconnect now, not at the next task poll.
      if (isHashgridError(e) && e.code === ErrorCode.INVALID_STATE && l.authenticated && this.live.get(key) === l) {
        this.sessionLost(key, l, e);
        void this.step().catch((err) => this.log(`step failed: ${(err as Error).message}`));
      }
    }
    return 'done';
  }

  /** A share not forwarded (malformed, or outside its range): counted by code, told to onError, then dropped. */
  private refuse(subject: string, e: unknown): void {
    const code = isHashgridError(e) ? e.code : 'INTERNAL';
    this.forwarded.refused[code] = (this.forwarded.refused[code] ?? 0) + 1;
    this.options.metrics?.forwarded.inc({ outcome: 'refused' });
    this.options.onError?.(subject, code);
    this.log(`share on ${subject} refused: ${(e as Error).message}`);
  }

  /**
   * A link lost its session (a pool closed the connection): authenticate again
   * at the next step, and take the new session's task (its extranonce1 and
   * difficulty) before any node gets work again.
   */
  private sessionLost(key: string, l: Live, e: Error): void {
    l.authenticated = false;
    l.task = undefined;
    l.coinbase = undefined;
    this.log(`${key}: ${e.message}; authenticating again`);
  }

  // ---- durable state and leadership

  private async load(): Promise<void> {
    const entry = await this.kv.get(`state.${this.plan.name}`);
    if (entry?.value?.length) {
      this.adopt(JSON.parse(new TextDecoder().decode(entry.value)) as DurableState, entry.revision);
      this.current = new Map(Object.entries(this.state.assignments));
      this.log(`resumed plan ${this.plan.name} at revision ${this.revision}`);
    } else this.adopt({ accounts: {}, assignments: {} }, 0);
  }

  /**
   * Takes saved state as this instance's own: the sub-accounts are the plan
   * file's, minus those removed at run time, plus those added (a saved
   * definition wins over the file's), each with its saved priority.
   */
  private adopt(saved: DurableState, revision: number): void {
    this.state = saved;
    this.revision = revision;
    const removed = new Set(saved.removed ?? []);
    const wanted = new Map<string, SchedulerSubAccount>();
    const order = new Map<string, number>();
    this.plan.subAccounts.forEach((a, i) => {
      if (!removed.has(keyOf(a))) wanted.set(keyOf(a), a);
      order.set(keyOf(a), a.priority ?? i);
    });
    for (const [key, a] of Object.entries(saved.definitions ?? {})) wanted.set(key, a);
    for (const [key, l] of [...this.live]) {
      if (wanted.has(key)) continue;
      l.link.close();
      this.live.delete(key);
    }
    for (const [key, a] of wanted) {
      if (!this.live.has(key)) this.addLive(a, saved.accounts[key]?.priority ?? order.get(key) ?? a.priority ?? this.live.size);
      this.state.accounts[key] ??= { state: 'pending', nextExtranonce2: 0, priority: this.live.get(key)!.priority };
    }
    for (const key of Object.keys(this.state.accounts)) if (!wanted.has(key)) delete this.state.accounts[key];
    // Only sub-accounts added at run time keep a definition: the plan file's are read from the file, so editing it
    // takes effect (a definition equal to the file's entry, as earlier versions saved them, is the file's too).
    const fromFile = new Map(this.plan.subAccounts.map((a) => [keyOf(a), JSON.stringify(a)]));
    this.state.definitions = Object.fromEntries(
      Object.entries(saved.definitions ?? {}).filter(([key, a]) => wanted.has(key) && fromFile.get(key) !== JSON.stringify(a)),
    );
    this.state.removed = [...removed];
  }

  /** Compare-and-set: a write based on a stale revision fails instead of overwriting. Saves run one at a time. */
  private save(withChange?: () => DurableState): Promise<void> {
    this.saving = this.saving.catch(() => {}).then(() => this.saveNow(withChange ? withChange() : this.state));
    return this.saving;
  }

  private async saveNow(state: DurableState): Promise<void> {
    const data = new TextEncoder().encode(JSON.stringify(state));
    const key = `state.${this.plan.name}`;
    this.revision = this.revision === 0 ? await this.kv.create(key, data).catch(async () => this.kv.update(key, data, (await this.kv.get(key))!.revision)) : await this.kv.update(key, data, this.revision);
  }

  /** Takes or renews the lease; returns whether this instance leads. */
  private async lead(): Promise<boolean> {
    const key = `leader.${this.plan.name}`;
    const lease: Lease = { id: this.instanceId, until: Date.now() + 3 * this.plan.decisionMs };
    const data = new TextEncoder().encode(JSON.stringify(lease));
    const was = this.leader;
    try {
      const entry = await this.kv.get(key);
      const holder = entry?.value?.length ? (JSON.parse(new TextDecoder().decode(entry.value)) as Lease) : undefined;
      if (!entry || !holder) await this.kv.create(key, data);
      else if (holder.id === this.instanceId || holder.until < Date.now()) await this.kv.update(key, data, entry.revision);
      else {
        this.lease = holder;
        this.leader = false;
        if (was) this.event('leadership', `${this.instanceId} stands by`);
        return false;
      }
      this.lease = lease;
      this.leader = true;
    } catch {
      this.leader = false; // another instance won the race
    }
    if (this.leader !== was) {
      this.event('leadership', this.leader ? `${this.instanceId} leads plan ${this.plan.name}` : `${this.instanceId} stands by`);
      if (this.leader) {
        // Re-read what the previous leader saved: its accounting and its run-time account changes.
        const entry = await this.kv.get(`state.${this.plan.name}`);
        if (entry?.value?.length) this.adopt(JSON.parse(new TextDecoder().decode(entry.value)) as DurableState, entry.revision);
      }
    }
    return this.leader;
  }

  /**
   * Follows the lease as the leader renews it, so a standby knows at any
   * moment whether someone leads (its own decisions may be far apart), and
   * steps at once when the leader hands the lease back.
   */
  private async watchLease(): Promise<void> {
    // The lease as it stands now, before the first request can arrive; the watch keeps it current.
    const current = await this.kv.get(`leader.${this.plan.name}`);
    if (current?.value?.length) this.lease = JSON.parse(new TextDecoder().decode(current.value)) as Lease;
    const w = await this.kv.watch({ key: `leader.${this.plan.name}` });
    this.leaseWatch = w;
    void (async () => {
      for await (const e of w) {
        if (e.operation === 'PUT' && e.value.length) this.lease = JSON.parse(new TextDecoder().decode(e.value)) as Lease;
        else {
          this.lease = undefined;
          if (!this.leader && !this.stopped) void this.step().catch((err) => this.log(`step failed: ${(err as Error).message}`));
        }
      }
    })().catch(() => {});
  }

  /**
   * Whether this instance answers bus requests: the leader does; a standby
   * stays silent while a live lease says another instance leads (so the
   * requester gets the leader's answer), and answers itself — status as
   * standby, changes refused with NOT_LEADER — only when no one leads.
   */
  private answers(): boolean {
    return this.leader || !this.lease || this.lease.id === this.instanceId || this.lease.until < Date.now();
  }

  // ---- bus surface

  private serve(): void {
    const s = subjects.scheduler(this.plan.name);
    const opts = { answers: () => this.answers(), ...(this.options.onError ? { onError: this.options.onError } : {}) };
    this.subs = [
      serve(this.options.nc, s.status, SchedulerStatusRequest, SchedulerStatus, 'SchedulerStatus', () => this.status(), opts),
      serve(this.options.nc, s.accounts, SchedulerAccountChange, SchedulerStatus, 'SchedulerAccountChange', (c) => this.change(c), opts),
      listen(
        this.options.nc,
        subjects.allExhausted,
        Exhausted,
        'Exhausted',
        (m) => {
          // A node spent its whole extranonce2 range: it gets a new one now, not at the next tick. Its report may
          // come before the scheduler heard that it took the work, so the spent job is kept, not compared here.
          const r = this.rotation.get(m.nodeId);
          if (!r) return;
          r.spent = m.jobId;
          if (this.leader) void this.step().catch((e) => this.log(`step failed: ${(e as Error).message}`));
        },
        this.options.onError,
      ),
      listen(
        this.options.nc,
        subjects.allJobChanged,
        JobChanged,
        'JobChanged',
        (m) => {
          // A new block makes every task of that center stale: fetch the new one now, not at the next poll.
          let ours = false;
          for (const l of this.live.values()) if (l.center === m.centerId) (l.taskAt = 0), (ours = true);
          if (ours && m.clean && this.leader) void this.step().catch((e) => this.log(`step failed: ${(e as Error).message}`));
        },
        this.options.onError,
      ),
    ];
  }

  /**
   * A run-time change to the sub-accounts: checked, saved with
   * compare-and-set, and only then applied, so a refused or failed change
   * leaves the plan as it was.
   */
  private async change(c: SchedulerAccountChange): Promise<SchedulerStatus> {
    // Only the leader acts (issue scope 5): a standby's change would be overwritten or fight the leader's.
    if (!this.leader) throw new HashgridError(ErrorCode.NOT_LEADER, `scheduler ${this.instanceId} stands by for plan ${this.plan.name}; the leader applies changes`, { leader: this.lease?.id ?? '' });
    const key = c.action === 'add' ? keyOf(c.account) : `${c.center}/${c.id}`;
    if (c.action === 'add' && this.live.has(key)) throw new HashgridError(ErrorCode.INVALID_STATE, `${key} is in the plan already`);
    if (c.action !== 'add' && !this.live.has(key)) throw new HashgridError(ErrorCode.NOT_FOUND, `${key} is not in the plan`);
    const priority = c.action === 'add' ? (c.account.priority ?? this.live.size) : c.action === 'priority' ? c.priority : 0;
    const apply = (state: DurableState): void => {
      const defs = (state.definitions ??= {});
      if (c.action === 'add') {
        state.accounts[key] = { state: 'pending', nextExtranonce2: 0, priority };
        defs[key] = { ...c.account, priority };
        state.removed = (state.removed ?? []).filter((k) => k !== key);
      } else if (c.action === 'remove') {
        delete state.accounts[key];
        delete defs[key];
        state.removed = [...new Set([...(state.removed ?? []), key])];
      } else {
        state.accounts[key] = { ...state.accounts[key]!, priority };
        // A plan-file account keeps its definition in the file; its priority lives with its state.
        if (defs[key]) defs[key] = { ...defs[key], priority };
      }
    };
    // Saved first, applied after: while the save is in flight, the running state still has the account as it
    // was. The saved copy is taken when the save's turn comes, so it holds every change made before it.
    try {
      await this.save(() => {
        const next: DurableState = structuredClone(this.state);
        apply(next);
        return next;
      });
    } catch (e) {
      throw new HashgridError(ErrorCode.NOT_LEADER, `the change to ${key} was not saved (another instance wrote the plan's state): ${(e as Error).message}`);
    }
    apply(this.state);
    if (c.action === 'add') this.addLive(c.account, this.state.accounts[key]!.priority);
    else if (c.action === 'remove') this.retire(key);
    else this.live.get(key)!.priority = c.priority;
    this.event('plan-changed', `${c.action} ${key}${c.action === 'priority' ? ` → ${c.priority}` : ''}`, { action: c.action, account: key });
    void this.step().catch((e) => this.log(`step failed: ${(e as Error).message}`));
    return this.status();
  }

  status(): SchedulerStatus {
    const d = this.lastDecision;
    const nodes = this.options.pool.nodes();
    const byAccount = new Map<string, string[]>();
    for (const [n, slices] of this.current ?? []) for (const sl of slices) byAccount.set(sl.account, [...(byAccount.get(sl.account) ?? []), n]);
    return {
      v: SCHEMA_VERSION,
      plan: this.plan.name,
      mode: this.plan.mode,
      role: this.leader ? 'leader' : 'standby',
      leader: this.leader ? this.instanceId : this.lease && this.lease.until >= Date.now() ? this.lease.id : '',
      capacity: nodes.filter((n) => n.alive).reduce((s, n) => s + n.backends.reduce((x, b) => x + b.hashrate, 0), 0),
      tiers: Object.fromEntries(d?.tiers ?? []),
      reservations: Object.fromEntries(d?.reservations ?? []),
      accounts: [...this.live].map(([key, l]) => {
        const s = this.state.accounts[key]!;
        const w = l.info?.delivered.standardWindow;
        const delivered = w?.hashrate ?? 0;
        const target = d?.targets.get(key) ?? 0;
        const standard = l.info?.standard ?? 0;
        const missing = Math.max(0, (standard - delivered) * (l.info?.windowSeconds ?? 0));
        return {
          key,
          state: s.state,
          standard,
          delivered,
          relativeError: w?.relativeError ?? 1,
          progress: standard > 0 ? Math.min(1, delivered / standard) : 1,
          target,
          nodes: byAccount.get(key) ?? [],
          etaSeconds: s.state === 'up-to-standard' ? 0 : target > 0 ? missing / target : null,
          priority: s.priority,
          ...(s.reason ? { reason: s.reason } : {}),
        };
      }),
      nodes: nodes.map((n) => {
        const health = this.health.status(n.nodeId);
        return {
          id: n.nodeId,
          state: health !== 'ok' ? health : this.current?.has(n.nodeId) ? 'active' : this.plan.standby.includes(n.nodeId) ? 'standby' : 'idle',
          rate: n.backends.reduce((s, b) => s + b.hashrate, 0),
          slices: this.current?.get(n.nodeId) ?? [],
        };
      }),
      forwarded: this.forwarded,
    };
  }

  private event(kind: string, reason: string, data?: Record<string, unknown>): void {
    this.log(`${kind}: ${reason}`);
    this.options.metrics?.decisions.inc({ kind });
    if (this.options.nc.isClosed()) return;
    this.options.nc.publish(
      subjects.scheduler(this.plan.name).events,
      encode(SchedulerEvent, { v: SCHEMA_VERSION, plan: this.plan.name, at: Date.now(), kind, reason, ...(data ? { data } : {}) }),
    );
  }
}

/** Runs `fn` over `items`, at most `width` at a time. */
async function inBatches<T>(items: readonly T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += width) await Promise.all(items.slice(i, i + width).map(fn));
}

/**
 * The task's coinbase parts for a node to roll, or why CoinbaseRoll cannot
 * carry them (an extranonce2 over 8 bytes, a coinbase part over
 * COINBASE_PART_MAX_BYTES).
 */
function rollableCoinbase(task: Task): { coinbase?: RollableCoinbase; refused?: string } {
  const { prevhash, coinb1, coinb2, merkleBranch, version, nbits, ntime, extranonce1, extranonce2Size } = task;
  const parts = { prevhash, coinb1, coinb2, merkleBranch, version, nbits, ntime, extranonce1, extranonce2Size };
  const parsed = RollableCoinbase.safeParse(parts);
  if (parsed.success) return { coinbase: parts };
  return { refused: parsed.error.issues.slice(0, 2).map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') };
}

const centerOf = (a: SchedulerSubAccount) => ('pool' in a ? `${a.pool.host}:${a.pool.port}` : a.center);
const keyOf = (a: SchedulerSubAccount) => `${centerOf(a)}/${a.id}`;

/** Validates a plan (see SchedulerPlan in src/bus/schemas.ts); errors name the field. */
export function parsePlan(data: unknown): SchedulerPlan {
  const parsed = SchedulerPlan.safeParse(data);
  if (!parsed.success) {
    const i = parsed.error.issues[0]!;
    throw new HashgridError(ErrorCode.INVALID_ARGUMENT, `plan: ${i.path.join('.') || '(top level)'}: ${i.message}`, { path: i.path.join('.') });
  }
  const keys = parsed.data.subAccounts.map(keyOf);
  // A sub-account scheduled twice would be authenticated twice and double-count its nodes.
  const dup = keys.find((k, i) => keys.indexOf(k) !== i);
  if (dup) throw new HashgridError(ErrorCode.INVALID_ARGUMENT, `plan: subAccounts: ${dup} appears twice`);
  return parsed.data;
}
