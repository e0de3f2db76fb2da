/**
 * How the scheduler talks to a sub-account's distribution module. Claim 1's
 * steps — authenticate, receive the task, send task results, receive the
 * up-to-standard result — behind one interface, with two implementations:
 *
 *  - `NatsCenterLink`: a hashgrid distribution center over NATS
 *    (hashgrid.center.<cid>.*). The center measures delivered hashrate.
 *  - `StratumPoolLink`: any Stratum V1 pool. A pool does not report
 *    delivered hashrate per sub-account, so the link measures it from the
 *    shares the pool accepted, with the center's own estimator and rule.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { ErrorCode, HashgridError } from '../core/errors.js';
import { difficultyToTarget, MAX_TARGET, targetToHex } from '../core/target.js';
import { request } from '../bus/rpc.js';
import { Authenticate, Authenticated, SCHEMA_VERSION, StandardQuery, SubAccountReply, Task, TaskRequest, TaskResult, TaskResultAck, type SubAccountInfo } from '../bus/schemas.js';
import { subjects } from '../bus/subjects.js';
import { HashrateEstimator, upToStandard, WINDOWS } from '../center/hashrate.js';
import { StratumClient } from '../stratum/client.js';

export interface ResultToSubmit {
  jobId: string;
  extranonce2: string;
  ntime: string;
  nonce: string;
}

export interface CenterLink {
  /** A session to resume (a center token), if the link has one. */
  readonly session: string | undefined;
  /** Claim 3: authentication information → result. Throws when refused. */
  authenticate(): Promise<void>;
  /** The current task. */
  task(): Promise<Task>;
  /** Forwards one task result; throws (typed) when the distribution module rejects it. */
  submit(result: ResultToSubmit): Promise<void>;
  /** Standard, delivered hashrate and the up-to-standard decision. */
  info(): Promise<SubAccountInfo>;
  close(): void;
}

export class NatsCenterLink implements CenterLink {
  constructor(
    private readonly nc: NatsConnection,
    private readonly center: string,
    private readonly id: string,
    private readonly password: string,
    public session: string | undefined,
  ) {}

  private get s() {
    return subjects.center(this.center);
  }

  async authenticate(): Promise<void> {
    const auth = await request(this.nc, this.s.authenticate, Authenticate, { v: SCHEMA_VERSION, subAccount: this.id, password: this.password }, Authenticated, 'Authenticate');
    this.session = auth.token;
  }

  task(): Promise<Task> {
    return request(this.nc, this.s.task, TaskRequest, { v: SCHEMA_VERSION, token: this.token() }, Task, 'TaskRequest');
  }

  async submit(r: ResultToSubmit): Promise<void> {
    await request(this.nc, this.s.result, TaskResult, { v: SCHEMA_VERSION, token: this.token(), ...r }, TaskResultAck, 'TaskResult');
  }

  async info(): Promise<SubAccountInfo> {
    return (await request(this.nc, this.s.standard, StandardQuery, { v: SCHEMA_VERSION, subAccount: this.id }, SubAccountReply, 'StandardQuery')).info;
  }

  close(): void {}

  private token(): string {
    if (!this.session) throw new HashgridError(ErrorCode.INVALID_STATE, `${this.center}/${this.id}: not authenticated`);
    return this.session;
  }
}

export class StratumPoolLink implements CenterLink {
  readonly session = undefined;
  private client: StratumClient | undefined;
  private readonly estimator = new HashrateEstimator();
  private up = false;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly worker: string,
    private readonly password: string,
    private readonly standard: number,
    private readonly windowSeconds: number,
  ) {}

  async authenticate(): Promise<void> {
    this.client?.close();
    const client = await StratumClient.connect({ host: this.host, port: this.port });
    const job = new Promise<void>((resolve) => client.once('notify', () => resolve()));
    await client.configureVersionRolling().catch(() => 0);
    await client.subscribe();
    if (!(await client.authorize(this.worker, this.password))) {
      client.close();
      throw new HashgridError(ErrorCode.STRATUM, `${this.worker}: the pool refused the credentials`);
    }
    await job;
    this.client = client;
    // A pool that drops the connection (or that the client closed on a protocol error) leaves no job to hand
    // out: the link reports itself not connected, and the scheduler authenticates again.
    client.once('close', () => {
      if (this.client === client) this.client = undefined;
    });
  }

  async task(): Promise<Task> {
    const c = this.connected();
    const j = c.job!;
    let target: bigint;
    try {
      target = difficultyToTarget(c.difficulty);
    } catch {
      target = MAX_TARGET;
    }
    return {
      v: SCHEMA_VERSION,
      subAccount: this.worker.split('.')[0]!,
      ...j,
      extranonce1: c.extranonce1,
      extranonce2Size: c.extranonce2Size,
      versionMask: c.versionMask,
      shareTarget: targetToHex(target),
    };
  }

  async submit(r: ResultToSubmit): Promise<void> {
    const c = this.connected();
    const difficulty = c.difficulty;
    await c.submit(this.worker, r.jobId, r.extranonce2, r.ntime, r.nonce);
    this.estimator.record(difficulty);
  }

  async info(): Promise<SubAccountInfo> {
    const now = Date.now();
    const window = this.estimator.estimate(this.windowSeconds, now);
    this.up = upToStandard(this.up, window, this.standard);
    const delivered: SubAccountInfo['delivered'] = { standardWindow: window };
    for (const [name, seconds] of Object.entries(WINDOWS)) delivered[name] = this.estimator.estimate(seconds, now);
    return {
      id: this.worker.split('.')[0]!,
      standard: this.standard,
      windowSeconds: this.windowSeconds,
      upToStandard: this.up,
      accumulatedHashes: this.estimator.totalHashes,
      acceptedShares: this.estimator.totalShares,
      delivered,
    };
  }

  close(): void {
    this.client?.close();
  }

  private connected(): StratumClient {
    if (!this.client?.job) throw new HashgridError(ErrorCode.INVALID_STATE, `${this.worker}@${this.host}:${this.port}: not connected`);
    return this.client;
  }
}
