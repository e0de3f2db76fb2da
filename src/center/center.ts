/**
 * The distribution center (EP 4 178 150, "blockchain computing distribution
 * module", claims 1–3, [0017]–[0024]): it holds sub-accounts, sends each its
 * proof-of-work task, receives task results (shares), adds the capability
 * each proves to the sub-account's accumulated capability, and answers
 * whether the sub-account is up to standard.
 *
 * In mining terms it is a pool: tasks are Stratum jobs, results are shares.
 * Miners reach it over Stratum V1 (`handler` for a StratumServer); the
 * scheduler and hashing nodes reach it over NATS (`serveBus`). Accepted
 * shares are persisted to JetStream before the miner hears "accepted", and
 * replayed on start, so the accounting survives a crash.
 */
import { randomBytes } from 'node:crypto';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { ErrorCode, HashgridError } from '../core/errors.js';
import { hashToBigInt, sha256d } from '../core/sha256d.js';
import { bitsToTarget, difficultyToTarget, MAX_TARGET, targetToHex } from '../core/target.js';
import { encode } from '../bus/codec.js';
import { serve, type BusErrorSink } from '../bus/rpc.js';
import {
  Authenticate,
  CenterStatsRequest,
  CenterStats as CenterStatsSchema,
  type CenterStats as CenterStatsMessage,
  Authenticated,
  JobChanged,
  SCHEMA_VERSION,
  StandardChanged,
  StandardQuery,
  SubAccountAdd,
  SubAccountList,
  SubAccountListRequest,
  SubAccountReply,
  SubAccountSetStandard,
  Task,
  TaskRequest,
  TaskResult,
  TaskResultAck,
  type SubAccountInfo,
} from '../bus/schemas.js';
import { streams, subjects } from '../bus/subjects.js';
import { buildHeader, hex32, merkleRootFor, type StratumJob } from '../stratum/job.js';
import { ahex, StratumCode, StratumError } from '../stratum/protocol.js';
import type { StratumHandler, StratumSession, SubmitParams } from '../stratum/server.js';
import { templateToJob, type Template, type TemplateSource } from './chain.js';
import { HashrateEstimator, upToStandard, WINDOWS } from './hashrate.js';
import { CenterStore, type GroupCommitOptions } from './store.js';
import { loadSubAccount, verifyPassword, type SubAccount, type SubAccountConfig } from './subaccounts.js';
import { newVardiff, vardiffStep, type VardiffOptions, type VardiffState } from './vardiff.js';

/** Center options; every default is documented here. */
export interface CenterOptions {
  /** Names this center's subjects and stream (default `main`). */
  centerId?: string;
  source: TemplateSource;
  subAccounts: SubAccountConfig[];
  /** For persistence (JetStream) and the bus service; without it the center keeps memory only. */
  nc?: NatsConnection;
  /** Replicas of the center's stream and bucket (default 1). */
  replicas?: number;
  /** How accepted shares are batched into JetStream messages (see store.ts). */
  groupCommit?: GroupCommitOptions;
  /** Share difficulty a new connection starts at (default 2^-12: ~1 share/s at ~20 MH/s). */
  initialDifficulty?: number;
  vardiff?: VardiffOptions;
  /** How long a replaced (not clean) job still accepts shares (default 30 s). */
  graceMs?: number;
  /** How far past the job's ntime a miner may roll ntime (default 600 s). */
  ntimeRollSeconds?: number;
  /** Up-to-standard hysteresis (default 0.05). */
  hysteresis?: number;
  onError?: BusErrorSink;
  log?: (line: string) => void;
}

interface GlobalJob {
  id: string;
  template: Template;
  /** The template as a Stratum job, and what validation needs of it, computed once. */
  stratum: StratumJob;
  networkTarget: bigint;
  /** Merkle roots by extranonce1 + extranonce2: a miner submits many nonces per extranonce2. */
  roots: Map<string, Uint8Array>;
  createdAt: number;
  replacedAt?: number;
  /** A newer block made it worthless. */
  stale: boolean;
  /** Submissions already accepted (duplicate check). */
  seen: Set<string>;
}

/** What the center keeps per connection (Stratum or bus). */
interface SessionState {
  jobs: Map<string, { job: GlobalJob; difficulty: number }>;
  vardiff: VardiffState;
  issued: number;
  latest?: string;
}

interface AccountState {
  account: SubAccount;
  /** When it began to accumulate (persisted for accounts added over the bus). */
  since: number;
  estimator: HashrateEstimator;
  upToStandard: boolean;
}

/** The share counters (the CenterStats message without its envelope). */
export type CenterStats = Omit<CenterStatsMessage, 'v' | 'centerId'>;

const REJECT_REASON: Record<number, string> = {
  [StratumCode.OTHER]: 'invalid',
  [StratumCode.JOB_NOT_FOUND]: 'stale-or-unknown-job',
  [StratumCode.DUPLICATE]: 'duplicate',
  [StratumCode.LOW_DIFFICULTY]: 'low-difficulty',
  [StratumCode.UNAUTHORIZED]: 'unauthorized',
  [StratumCode.NOT_SUBSCRIBED]: 'not-subscribed',
};

export class DistributionCenter implements StratumHandler {
  readonly centerId: string;
  readonly accounts = new Map<string, AccountState>();
  readonly stats: CenterStats = { accepted: 0, rejected: {}, blocks: 0 };
  private readonly jobs = new Map<string, GlobalJob>();
  private current!: GlobalJob;
  private jobCounter = 0;
  private readonly ready = new Set<StratumSession>();
  private readonly busSessions = new Map<string, StratumSession>();
  private extranonce = Math.floor(Math.random() * 0x7fff) << 16;
  private store: CenterStore | undefined;
  /** Replayed shares whose sub-account no longer exists (neither configured nor stored): counted, not credited. */
  unknownReplayed = 0;
  /** Stored messages that were not share records (skipped on replay). */
  malformedReplayed = 0;
  private readonly adding = new Set<string>();
  private subs: Subscription[] = [];
  private readonly unsubscribe: () => void;
  private readonly timer: NodeJS.Timeout;
  private readonly log: (line: string) => void;

  private constructor(private readonly options: CenterOptions) {
    this.centerId = options.centerId ?? 'main';
    this.log = options.log ?? (() => {});
    for (const c of options.subAccounts) this.addAccount(c);
    this.newJob(options.source.current());
    this.unsubscribe = options.source.onTemplate((t) => this.onTemplate(t));
    this.timer = setInterval(() => this.tick(), 1000);
    this.timer.unref();
  }

  /** Starts a center: restores its stored sub-accounts and shares, then serves the bus if it has a connection. */
  static async start(options: CenterOptions): Promise<DistributionCenter> {
    const center = new DistributionCenter(options);
    if (options.nc) {
      await center.openStore(options.nc, options.replicas ?? 1);
      center.serveBus(options.nc);
    }
    return center;
  }

  /** What group commit stored so far (undefined without persistence). */
  get stored(): { batches: number; shares: number } | undefined {
    return this.store?.stored;
  }

  /** Hands out extranonce1 values, for every front end of this center. */
  readonly allocateExtranonce1 = (): string => hex32(this.extranonce++);

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.unsubscribe();
    for (const s of this.subs) s.unsubscribe();
    // Shares already accepted but still in a batch get stored (and their miners answered) first.
    await this.store?.drain();
  }

  // ---- sub-accounts

  addAccount(config: SubAccountConfig, since = Date.now()): AccountState {
    return this.insertAccount(this.newAccount(config), since);
  }

  private newAccount(config: SubAccountConfig): SubAccount {
    const account = loadSubAccount(config);
    if (this.accounts.has(account.id)) throw new HashgridError(ErrorCode.SUBACCOUNT, `sub-account ${account.id} exists already`);
    return account;
  }

  private insertAccount(account: SubAccount, since: number): AccountState {
    const state = { account, since, estimator: new HashrateEstimator(since), upToStandard: false };
    this.accounts.set(account.id, state);
    return state;
  }

  info(id: string): SubAccountInfo {
    const a = this.accountOrThrow(id);
    const now = Date.now();
    return {
      id,
      standard: a.account.standard,
      windowSeconds: a.account.windowSeconds,
      upToStandard: a.upToStandard,
      accumulatedHashes: a.estimator.totalHashes,
      acceptedShares: a.estimator.totalShares,
      delivered: { ...a.estimator.all(now), standardWindow: a.estimator.estimate(a.account.windowSeconds, now) },
    };
  }

  private accountOrThrow(id: string): AccountState {
    const a = this.accounts.get(id);
    if (!a) throw new HashgridError(ErrorCode.NOT_FOUND, `no sub-account "${id}"`);
    return a;
  }

  // ---- jobs

  private onTemplate(t: Template): void {
    this.newJob(t);
    for (const s of this.ready) this.sendJob(s);
    // Stratum miners got their notify; bus clients learn it here.
    this.options.nc?.publish(
      subjects.center(this.centerId).jobChanged,
      encode(JobChanged, { v: SCHEMA_VERSION, centerId: this.centerId, jobId: this.current.id, height: t.height, clean: t.clean, at: Date.now() }),
    );
  }

  private newJob(t: Template): void {
    const now = Date.now();
    for (const j of this.jobs.values()) {
      if (t.clean) j.stale = true;
      j.replacedAt ??= now;
    }
    const id = (++this.jobCounter).toString(16);
    const job: GlobalJob = {
      id,
      template: t,
      stratum: templateToJob(id, t),
      networkTarget: bitsToTarget(t.bits),
      roots: new Map(),
      createdAt: now,
      stale: false,
      seen: new Set(),
    };
    this.jobs.set(job.id, job);
    this.current = job;
    // Forget jobs nobody can submit to any more.
    for (const [id, j] of this.jobs) if (j !== job && (j.stale || now - j.replacedAt! > 2 * (this.options.graceMs ?? 30_000))) this.jobs.delete(id);
  }

  private stateOf(session: StratumSession): SessionState {
    let s = session.state.center as SessionState | undefined;
    if (!s) {
      const d = session.suggestedDifficulty ?? this.options.initialDifficulty ?? 2 ** -12;
      s = { jobs: new Map(), vardiff: newVardiff(d, Date.now()), issued: 0 };
      session.state.center = s;
    }
    return s;
  }

  /** Issues the current job to a session under a fresh id that remembers the difficulty it was sent with. */
  private issue(session: StratumSession): { id: string; job: StratumJob; difficulty: number } {
    const s = this.stateOf(session);
    const id = `${this.current.id}.${(s.issued++).toString(36)}`;
    s.jobs.set(id, { job: this.current, difficulty: s.vardiff.difficulty });
    s.latest = id;
    for (const [k, v] of s.jobs) if (!this.jobs.has(v.job.id)) s.jobs.delete(k);
    return { id, job: templateToJob(id, this.current.template), difficulty: s.vardiff.difficulty };
  }

  private sendJob(session: StratumSession): void {
    const { job, difficulty } = this.issue(session);
    session.notify('mining.set_difficulty', [difficulty]);
    session.notify('mining.notify', [job.jobId, job.prevhash, job.coinb1, job.coinb2, job.merkleBranch, job.version, job.nbits, job.ntime, job.cleanJobs]);
  }

  // ---- StratumHandler

  authorize(_session: StratumSession, worker: string, password: string): string {
    // Worker names are "<sub-account>.<rig>" (the pools' convention) or just "<sub-account>".
    return this.authenticate(worker.split('.')[0]!, password);
  }

  /** Claim 3: authentication information → result. Returns the sub-account id. */
  private authenticate(id: string, password: string): string {
    const a = this.accounts.get(id);
    if (!a || !verifyPassword(password, a.account.passwordHash)) {
      throw new StratumError(StratumCode.UNAUTHORIZED, 'unauthorized: unknown sub-account or wrong password');
    }
    return id;
  }

  onReady(session: StratumSession): void {
    this.ready.add(session);
    this.sendJob(session);
  }

  onClose(session: StratumSession): void {
    this.ready.delete(session);
  }

  onError(_session: StratumSession, code: number): void {
    const reason = REJECT_REASON[code] ?? 'invalid';
    this.stats.rejected[reason] = (this.stats.rejected[reason] ?? 0) + 1;
  }

  async submit(session: StratumSession, p: SubmitParams): Promise<boolean> {
    await this.validateAndAccount(session, p);
    return true;
  }

  /**
   * Validates one share (the rules in order, each quoted above its check),
   * accounts it, and reports whether it is also a block candidate.
   */
  private async validateAndAccount(session: StratumSession, p: SubmitParams): Promise<{ blockCandidate: boolean }> {
    const state = this.stateOf(session);
    const accountId = session.workers.get(p.worker) as string;
    // The job exists, and is current or replaced within the grace period (a new block ends it at once).
    const issued = state.jobs.get(p.jobId);
    const now = Date.now();
    if (!issued || issued.job.stale || (issued.job.replacedAt !== undefined && now - issued.job.replacedAt > (this.options.graceMs ?? 30_000))) {
      throw new StratumError(StratumCode.JOB_NOT_FOUND, 'job not found or stale');
    }
    const job = issued.job;
    // extranonce2 has exactly the size the session was given.
    const extranonce2 = ahex(p.extranonce2, session.extranonce2Size, 'extranonce2');
    const nonce = ahex(p.nonce, 4, 'nonce');
    // ntime within the allowed window: not before the job's, at most ntimeRollSeconds after.
    const ntime = ahex(p.ntime, 4, 'ntime');
    const t = Number.parseInt(ntime, 16);
    if (t < job.template.time || t > job.template.time + (this.options.ntimeRollSeconds ?? 600)) {
      throw new StratumError(StratumCode.OTHER, `ntime out of range (job ntime ${job.template.time})`);
    }
    // BIP 310: only the negotiated version bits may change.
    let version = job.template.version;
    if (p.versionBits !== undefined) {
      const bits = Number.parseInt(ahex(p.versionBits, 4, 'version bits'), 16) >>> 0;
      if ((bits & ~session.versionMask) >>> 0 !== 0) throw new StratumError(StratumCode.OTHER, 'version bits outside the negotiated mask');
      version = ((version & ~session.versionMask) | (bits & session.versionMask)) >>> 0;
    }
    // Not a duplicate of an accepted share.
    const key = `${session.extranonce1}:${extranonce2}:${ntime}:${nonce}:${version}`;
    if (job.seen.has(key)) throw new StratumError(StratumCode.DUPLICATE, 'duplicate share');
    // sha256d recomputed here; it must meet the difficulty the job was issued with, not the live one.
    const rootKey = session.extranonce1 + extranonce2;
    let root = job.roots.get(rootKey);
    if (!root) {
      if (job.roots.size > 100_000) job.roots.clear();
      root = merkleRootFor(job.stratum, session.extranonce1, extranonce2);
      job.roots.set(rootKey, root);
    }
    const header = buildHeader(job.stratum, { extranonce1: session.extranonce1, extranonce2, ntime, nonce, version }, root);
    const hash = sha256d(header);
    const value = hashToBigInt(hash);
    if (value > shareTarget(issued.difficulty)) throw new StratumError(StratumCode.LOW_DIFFICULTY, `low difficulty share (needs ${issued.difficulty})`);
    job.seen.add(key);

    const blockCandidate = value <= job.networkTarget;
    try {
      await this.account(accountId, issued.difficulty, now, job.id);
    } catch (e) {
      // Not stored, so not accepted: the miner may submit it again.
      job.seen.delete(key);
      throw new StratumError(StratumCode.OTHER, (e as Error).message);
    }
    if (blockCandidate) {
      this.stats.blocks++;
      this.log(`block candidate at height ${job.template.height} from ${accountId}`);
      this.options.source.submitBlock(header);
    }
    const next = vardiffStep(state.vardiff, now, true, this.options.vardiff);
    if (next !== undefined && this.ready.has(session)) this.sendJob(session);
    return { blockCandidate };
  }

  /** Persists (its batch's JetStream ack first) and adds an accepted share to its sub-account. */
  private async account(accountId: string, difficulty: number, at: number, jobId: string): Promise<void> {
    await this.store?.append({ subAccount: accountId, difficulty, at, jobId });
    this.apply(accountId, difficulty, at);
  }

  private apply(accountId: string, difficulty: number, at: number): void {
    const a = this.accounts.get(accountId);
    if (!a) {
      this.unknownReplayed++;
      return;
    }
    a.estimator.record(difficulty, at);
    this.stats.accepted++;
  }

  /** Re-evaluates standards and gives silent sessions lower difficulty. */
  private tick(): void {
    const now = Date.now();
    this.evaluateStandards(now);
    for (const s of this.ready) {
      const state = this.stateOf(s);
      if (vardiffStep(state.vardiff, now, false, this.options.vardiff) !== undefined) this.sendJob(s);
    }
  }

  private evaluateStandards(now: number): void {
    for (const a of this.accounts.values()) {
      const est = a.estimator.estimate(a.account.windowSeconds, now);
      const next = upToStandard(a.upToStandard, est, a.account.standard, this.options.hysteresis);
      if (next !== a.upToStandard) {
        a.upToStandard = next;
        this.log(`${a.account.id} ${next ? 'is up to standard' : 'fell below standard'} (${(est.hashrate / 1e6).toFixed(2)} MH/s)`);
        this.options.nc?.publish(
          subjects.center(this.centerId).standardChanged,
          encode(StandardChanged, { v: SCHEMA_VERSION, centerId: this.centerId, subAccount: a.account.id, upToStandard: next, hashrate: est.hashrate, at: now }),
        );
      }
    }
  }

  // ---- persistence

  private async openStore(nc: NatsConnection, replicas: number): Promise<void> {
    const store = await CenterStore.open(nc, this.centerId, replicas, this.options.groupCommit);
    const firstStart = await store.createdAt();
    // Configured accounts have accumulated since the center first started.
    for (const a of this.accounts.values()) {
      a.since = Math.min(a.since, firstStart);
      a.estimator.restoreSince(a.since);
    }
    // Accounts added or changed over the bus: the stored change wins over the configuration for the
    // standard and window, even when the file was edited after it (the store keeps no edit times of
    // the file), so an override is said in the log; credentials of a configured account stay the configured ones.
    for (const stored of await store.subAccounts()) {
      const existing = this.accounts.get(stored.id);
      if (existing) {
        const { standard, windowSeconds } = existing.account;
        if (standard !== stored.standard || windowSeconds !== stored.windowSeconds) {
          this.log(`sub-account ${stored.id}: a change made over the bus (standard ${stored.standard} H/s, window ${stored.windowSeconds} s) overrides the configured standard ${standard} H/s, window ${windowSeconds} s`);
        }
        existing.account.standard = stored.standard;
        existing.account.windowSeconds = stored.windowSeconds;
      } else {
        this.insertAccount({ id: stored.id, passwordHash: stored.passwordHash, standard: stored.standard, windowSeconds: stored.windowSeconds }, stored.since);
      }
    }
    // Replay: the same records in the same order give the same totals and windows (each share
    // carries its own time, so the 1m…24h windows are rebuilt as they were).
    const { messages, shares, malformed } = await store.replay((r) => this.apply(r.subAccount, r.difficulty, r.at));
    if (messages > 0) this.log(`replayed ${shares} accepted shares (${messages} messages) from ${streams.centerShares(this.centerId).name}`);
    this.malformedReplayed = malformed;
    if (malformed > 0) this.log(`${malformed} stored messages are not share records: skipped`);
    if (this.unknownReplayed > 0) this.log(`${this.unknownReplayed} replayed shares belong to sub-accounts that no longer exist: not credited`);
    this.store = store;
    this.evaluateStandards(Date.now());
  }

  // ---- bus

  private serveBus(nc: NatsConnection): void {
    const s = subjects.center(this.centerId);
    const opts = this.options.onError ? { onError: this.options.onError } : {};
    this.subs = [
      serve(nc, s.list, SubAccountListRequest, SubAccountList, 'SubAccountList', () => ({
        v: SCHEMA_VERSION,
        centerId: this.centerId,
        subAccounts: [...this.accounts.keys()].map((id) => this.info(id)),
      }), opts),
      serve(nc, s.add, SubAccountAdd, SubAccountReply, 'SubAccountAdd', async (r) => {
        const account = this.newAccount({ id: r.id, password: r.password, standard: r.standard, windowSeconds: r.windowSeconds });
        // Two adds of one id in flight at once: only the first may reach the store.
        if (this.adding.has(account.id)) throw new HashgridError(ErrorCode.SUBACCOUNT, `sub-account ${account.id} is being added already`);
        this.adding.add(account.id);
        try {
          const since = Date.now();
          // Stored before it exists here: an acknowledged change outlives a restart.
          await this.store?.putSubAccount({ ...account, since });
          this.insertAccount(account, since);
        } finally {
          this.adding.delete(account.id);
        }
        return { v: SCHEMA_VERSION, info: this.info(r.id) };
      }, opts),
      serve(nc, s.setStandard, SubAccountSetStandard, SubAccountReply, 'SubAccountSetStandard', async (r) => {
        const a = this.accountOrThrow(r.id);
        const changed = { ...a.account, standard: r.standard, windowSeconds: r.windowSeconds ?? a.account.windowSeconds };
        await this.store?.putSubAccount({ ...changed, since: a.since });
        a.account.standard = changed.standard;
        a.account.windowSeconds = changed.windowSeconds;
        return { v: SCHEMA_VERSION, info: this.info(r.id) };
      }, opts),
      serve(nc, s.stats, CenterStatsRequest, CenterStatsSchema, 'CenterStats', () => ({ v: SCHEMA_VERSION, centerId: this.centerId, ...this.stats }), opts),
      serve(nc, s.standard, StandardQuery, SubAccountReply, 'StandardQuery', (r) => ({ v: SCHEMA_VERSION, info: this.info(r.subAccount) }), opts),
      serve(nc, s.authenticate, Authenticate, Authenticated, 'Authenticate', (r) => {
        this.authenticate(r.subAccount, r.password);
        const token = randomBytes(16).toString('hex');
        this.busSessions.set(token, this.busSession(r.subAccount));
        return { v: SCHEMA_VERSION, subAccount: r.subAccount, token };
      }, opts),
      serve(nc, s.task, TaskRequest, Task, 'TaskRequest', (r) => {
        const session = this.sessionOf(r.token);
        const { job, difficulty } = this.issue(session);
        return {
          v: SCHEMA_VERSION,
          subAccount: session.workers.keys().next().value as string,
          ...job,
          extranonce1: session.extranonce1,
          extranonce2Size: session.extranonce2Size,
          versionMask: session.versionMask,
          shareTarget: targetToHex(shareTarget(difficulty)),
        };
      }, opts),
      serve(nc, s.result, TaskResult, TaskResultAck, 'TaskResult', async (r) => {
        const session = this.sessionOf(r.token);
        const worker = session.workers.keys().next().value as string;
        try {
          const { blockCandidate } = await this.validateAndAccount(session, {
            worker,
            jobId: r.jobId,
            extranonce2: r.extranonce2,
            ntime: r.ntime,
            nonce: r.nonce,
            ...(r.versionBits ? { versionBits: r.versionBits } : {}),
          });
          return { v: SCHEMA_VERSION, accepted: true as const, blockCandidate };
        } catch (e) {
          if (e instanceof StratumError) this.onError(session, e.stratumCode);
          throw e;
        }
      }, opts),
    ];
  }

  private sessionOf(token: string): StratumSession {
    const s = this.busSessions.get(token);
    // Claim 3: tasks only after a successful authentication.
    if (!s) throw new StratumError(StratumCode.UNAUTHORIZED, 'unknown token: authenticate first');
    return s;
  }

  /** A session for a bus client: same validation as a Stratum connection, no socket. */
  private busSession(accountId: string): StratumSession {
    return {
      id: -1,
      remote: 'bus',
      extranonce1: this.allocateExtranonce1(),
      extranonce2Size: 4,
      subscribed: true,
      workers: new Map([[accountId, accountId]]),
      versionMask: 0x1fffe000,
      state: {},
      notify: () => {},
      close: () => {},
    };
  }
}

const shareTargets = new Map<number, bigint>();

/** The share target of a difficulty (cached: sessions share a few powers of two), capped at 2^256 − 1. */
function shareTarget(difficulty: number): bigint {
  let t = shareTargets.get(difficulty);
  if (t === undefined) {
    try {
      t = difficultyToTarget(difficulty);
    } catch {
      t = MAX_TARGET;
    }
    if (shareTargets.size > 1000) shareTargets.clear();
    shareTargets.set(difficulty, t);
  }
  return t;
}

export { WINDOWS };
