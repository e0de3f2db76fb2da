/**
 * The hashing node agent: joins the bus, registers with its hardware profile
 * and calibrated hashrate, heartbeats, takes work, streams shares, and obeys
 * pause/resume/cancel.
 *
 *   register   request  hashgrid.nodes.register            (retried until a pool answers)
 *   heartbeat  publish  hashgrid.nodes.<id>.heartbeat       (every heartbeatMs)
 *   work       serve    hashgrid.nodes.<id>.work           (switches the engine at once)
 *   control    serve    hashgrid.nodes.<id>.control
 *   shares     JetStream hashgrid.shares.<id>               (acked; retried until stored)
 *   discovery  $SRV.PING / $SRV.INFO / $SRV.STATS           (NATS Services, name hashgrid-node)
 *
 * After a reconnect the node registers again. Every share is a hit the
 * engine already re-verified on the reference.
 */
import { jetstream } from '@nats-io/jetstream';
import { Svcm, type Service, type ServiceMsg } from '@nats-io/services';
import type { NatsConnection } from '@nats-io/transport-node';
import { ErrorCode, HashgridError, isHashgridError } from '../core/errors.js';
import { bytesToHex, hexToBytes } from '../core/bytes.js';
import type { Hit, MiningJob } from '../core/job.js';
import { hashToDisplayHex } from '../core/sha256d.js';
import { parseTargetHex } from '../core/target.js';
import { decode, encode } from '../bus/codec.js';
import { request, replyError, type BusErrorSink } from '../bus/rpc.js';
import {
  Control,
  ControlDone,
  Exhausted,
  Heartbeat,
  NodeDescribe,
  NodeRegister,
  NodeRegistered,
  Share,
  WorkAccepted,
  WorkAssignment,
  SCHEMA_VERSION,
  type HardwareProfile,
  type NodeState,
} from '../bus/schemas.js';
import { isValidNodeId, NODE_SERVICE_NAME, subjects } from '../bus/subjects.js';
import { createEngine, gpuBackendsOf, type BackendSpec, type HashEngine } from '../engine/index.js';
import type { AdapterSelector } from '../engine/gpu/webgpu.js';
import type { NodeMetrics } from '../metrics/metrics.js';
import { rollingHeaders } from './coinbase-roll.js';
import { ShareOutbox } from './outbox.js';
import { hardwareProfile } from './profile.js';

export const HASHGRID_VERSION = '0.1.0';

/** Agent options; every default is documented here. */
export interface NodeAgentOptions {
  nc: NatsConnection;
  /** Subject-safe id (default: hostname-pid). */
  nodeId: string;
  /** Engine backend (default `wasm`). */
  backend?: BackendSpec;
  threads?: number;
  /** GPU adapter for the `gpu` backend (index or name, see `hashgrid gpus`; default $HASHGRID_GPU, else high-performance). */
  adapter?: AdapterSelector;
  /** Heartbeat period until a pool says otherwise (default 2000 ms). */
  heartbeatMs?: number;
  /** Calibration time at start (default 1000 ms; 0 skips calibration). */
  calibrateMs?: number;
  metrics?: NodeMetrics;
  /** Also told of every rejected bus message (besides the metrics counter). */
  onBusError?: BusErrorSink;
  log?: (line: string) => void;
  /** Hardware profile to report (default: this machine's). */
  profile?: HardwareProfile;
  /** Observers, for tests and benchmarks (times are performance.now()). */
  events?: {
    /** A share was handed to the outbox; `at` is when the engine found it (the backend's clock where it reports one). */
    onShare?: (msgId: string, at: number) => void;
    /** JetStream stored a share. */
    onShareAcked?: (msgId: string) => void;
    /** Every lane started hashing `jobId` at `at`, `engineMs` after the node handed it to its engine (reported a chunk later). */
    onSwitched?: (jobId: string, at: number, engineMs: number) => void;
  };
}

export class NodeAgent {
  readonly nodeId: string;
  state: NodeState = 'idle';
  sharesFound = 0;
  /** Hits lost to a full backend hit buffer (also logged, and counted in hashgrid_node_hits_dropped_total). */
  droppedHits = 0;
  private overflowLoggedAt = -Infinity;
  /** Calibrated hashes per second of the engine at start (every backend together). */
  calibratedRate = 0;
  /** Calibrated hashes per second of each backend (each part of a mix), as registered. */
  calibrated: { backend: string; lanes: number; hashrate: number }[] = [];
  private readonly engine: HashEngine;
  private readonly outbox: ShareOutbox;
  private service: Service | undefined;
  private job: { assignment: WorkAssignment; mining: MiningJob; extranonce2?: (roll: number) => string } | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private heartbeatMs: number;
  private seq = 0;
  private readonly startedAt = Date.now();
  private stopped = false;
  private registered = false;
  private readonly log: (line: string) => void;
  private readonly onBusError: BusErrorSink;
  private profile: HardwareProfile;

  private constructor(private readonly options: NodeAgentOptions) {
    if (!isValidNodeId(options.nodeId)) {
      throw new HashgridError(ErrorCode.INVALID_ARGUMENT, `node id: expected letters, digits, _ and - (at most 64), got "${options.nodeId}"`);
    }
    this.nodeId = options.nodeId;
    this.heartbeatMs = options.heartbeatMs ?? 2000;
    this.log = options.log ?? (() => {});
    this.profile = options.profile ?? hardwareProfile();
    this.onBusError = (subject, code) => {
      options.metrics?.busErrors(subject, code);
      options.onBusError?.(subject, code);
    };
    this.engine = createEngine({
      backend: options.backend ?? 'wasm',
      ...(options.threads ? { threads: options.threads } : {}),
      ...(options.adapter !== undefined ? { adapter: options.adapter } : {}),
      // A GPU falling back to wasm is news for the node's operator: it goes to the node's log.
      log: this.log,
    });
    this.outbox = new ShareOutbox(jetstream(options.nc), {
      onAck: (msgId) => {
        options.metrics?.sharesAcked.inc();
        options.events?.onShareAcked?.(msgId);
      },
    });
  }

  /** Starts the agent: calibrates, serves its subjects, registers, heartbeats. */
  static async start(options: NodeAgentOptions): Promise<NodeAgent> {
    const agent = new NodeAgent(options);
    await agent.calibrate(options.calibrateMs ?? 1000);
    agent.profile = options.profile ?? (await agent.machineProfile());
    await agent.serve();
    agent.heartbeat();
    void agent.registerLoop();
    void agent.watchConnection();
    return agent;
  }

  get engineBackend(): string {
    return this.engine.backend.name;
  }

  get hashrate(): number {
    return this.engine.meter.rate();
  }

  get pendingShares(): number {
    return this.outbox.pending;
  }

  get currentJobId(): string | undefined {
    return this.job?.assignment.jobId;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.heartbeatTimer);
    await this.outbox.flush(2000);
    this.outbox.close();
    await this.service?.stop().catch(() => {});
    await this.engine.close();
  }

  /** This machine, with the GPU adapters the engine hashes on (those that opened). */
  private async machineProfile(): Promise<HardwareProfile> {
    const opened = await Promise.allSettled(gpuBackendsOf(this.engine.backend).map(async (g) => (await g.ready, g.gpu.adapter)));
    const adapters = opened.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
    return hardwareProfile(adapters.map(({ vendor, architecture, description }) => ({ vendor, architecture, description })));
  }

  private async calibrate(ms: number): Promise<void> {
    this.calibrated = this.engine.backendRates().map(({ backend, lanes }) => ({ backend, lanes, hashrate: 0 }));
    if (ms <= 0) return;
    const header = new Uint8Array(80);
    await this.engine.scan({ header, start: 0, count: 1 << 16, target: 1n }); // warm up
    const before = this.engine.backendRates();
    const t0 = performance.now();
    let start = 1 << 16;
    while (performance.now() - t0 < ms) {
      const r = await this.engine.scan({ header, start, count: 1 << 20, target: 1n });
      start += r.hashes;
    }
    const seconds = (performance.now() - t0) / 1000;
    // Per part: a mix's GPU and wasm threads are registered (and scheduled) by what each does.
    this.calibrated = this.engine.backendRates().map(({ backend, lanes, hashes }, i) => ({ backend, lanes, hashrate: (hashes - before[i]!.hashes) / seconds }));
    this.calibratedRate = this.calibrated.reduce((sum, b) => sum + b.hashrate, 0);
    this.log(`calibrated ${this.calibrated.map((b) => `${b.backend} ${(b.hashrate / 1e6).toFixed(2)} MH/s`).join(', ')}`);
  }

  private async serve(): Promise<void> {
    const svcm = new Svcm(this.options.nc as never);
    this.service = await svcm.add({
      name: NODE_SERVICE_NAME,
      version: HASHGRID_VERSION,
      description: `hashgrid hashing node ${this.nodeId}`,
      metadata: { nodeId: this.nodeId, backend: this.engine.backend.name },
      // Each node answers its own subjects: no queue group.
      queue: '',
      statsHandler: async () => ({ state: this.state, hashrate: this.hashrate, sharesFound: this.sharesFound }),
    });
    this.service.addEndpoint('work', { subject: subjects.nodeWork(this.nodeId), handler: (err, msg) => err || this.onWork(msg) });
    this.service.addEndpoint('describe', {
      subject: subjects.nodeDescribe(this.nodeId),
      handler: (err, msg) => err || this.reply(msg, () => (decode(NodeDescribe, msg.data, 'NodeDescribe'), encode(NodeRegister, this.registration()))),
    });
    this.service.addEndpoint('control', { subject: subjects.nodeControl(this.nodeId), handler: (err, msg) => err || this.onControl(msg) });
  }

  private onWork(msg: ServiceMsg): void {
    try {
      const work = decode(WorkAssignment, msg.data, 'WorkAssignment');
      const header = hexToBytes(work.header, 80, 'header');
      const target = parseTargetHex(work.shareTarget, 'shareTarget');
      if (work.nonceStart + work.nonceCount > 2 ** 32) {
        throw new HashgridError(ErrorCode.INVALID_NONCE_RANGE, `WorkAssignment: nonceStart + nonceCount must be <= 2^32`);
      }
      // With the coinbase the node rolls extranonce2 when the window is spent; without, it has one header.
      const rolling = work.coinbase ? rollingHeaders(work.coinbase, header) : undefined;
      const mining: MiningJob = {
        id: work.jobId,
        target,
        nonces: { start: work.nonceStart, count: work.nonceCount },
        header: rolling ? rolling.header : (roll) => (roll === 0 ? header : undefined),
      };
      this.job = { assignment: work, mining, ...(rolling ? { extranonce2: rolling.extranonce2 } : {}) };
      this.options.metrics?.jobSwitches.inc();
      if (this.state !== 'paused') this.mine();
      msg.respond(encode(WorkAccepted, { v: SCHEMA_VERSION, jobId: work.jobId }));
    } catch (e) {
      this.onBusError(msg.subject, isHashgridError(e) ? e.code : 'INTERNAL');
      replyError(msg, e);
    }
  }

  private onControl(msg: ServiceMsg): void {
    try {
      const { action } = decode(Control, msg.data, 'Control');
      if (action === 'pause') {
        this.engine.stop();
        this.state = 'paused';
      } else if (action === 'resume') {
        this.state = 'idle';
        if (this.job) this.mine();
      } else {
        this.engine.stop();
        this.job = undefined;
        this.state = 'idle';
      }
      this.log(`control: ${action} → ${this.state}`);
      msg.respond(encode(ControlDone, { v: SCHEMA_VERSION, state: this.state }));
      this.heartbeatNow();
    } catch (e) {
      this.onBusError(msg.subject, isHashgridError(e) ? e.code : 'INTERNAL');
      replyError(msg, e);
    }
  }

  private mine(): void {
    const job = this.job!;
    this.state = 'mining';
    this.engine.mine(job.mining, {
      onHit: (hit) => this.publishShare(job.assignment, hit, job.extranonce2?.(hit.roll)),
      onExhausted: () => {
        this.log(`job ${job.assignment.jobId} exhausted`);
        this.options.nc.publish(subjects.nodeExhausted(this.nodeId), encode(Exhausted, { v: SCHEMA_VERSION, nodeId: this.nodeId, jobId: job.assignment.jobId }));
        if (this.job === job) this.state = 'idle';
      },
      onSwitched: (ms, completedAt) => {
        this.options.metrics?.switchLatency.observe(ms / 1000);
        this.options.events?.onSwitched?.(job.assignment.jobId, completedAt - performance.timeOrigin, ms);
      },
      onError: (e) => this.log(`engine error: ${e.message}`),
      onOverflow: (dropped) => this.onOverflow(job.assignment, dropped),
    });
  }

  private onOverflow(work: WorkAssignment, dropped: number): void {
    this.droppedHits += dropped;
    this.options.metrics?.hitsDropped.inc(dropped);
    // A buffer that overflows once overflows every chunk: one line per 10 s, with the running total.
    const now = performance.now();
    if (now - this.overflowLoggedAt < 10_000) return;
    this.overflowLoggedAt = now;
    this.log(
      `hit buffer full on job ${work.jobId}: ${this.droppedHits} hits dropped so far (the share target is too easy for the ${this.engine.backend.name} backend)`,
    );
  }

  private publishShare(work: WorkAssignment, hit: Hit, extranonce2?: string): void {
    this.sharesFound++;
    this.options.metrics?.shares.inc();
    const share = {
      v: SCHEMA_VERSION,
      nodeId: this.nodeId,
      jobId: work.jobId,
      owner: work.owner,
      nonce: hit.nonce,
      header: bytesToHex(hit.header),
      hash: hashToDisplayHex(hit.hash),
      ...(extranonce2 !== undefined ? { extranonce2 } : {}),
      foundAt: Math.round(hit.foundAt ?? Date.now()),
    } as const;
    // The id makes retries idempotent: the same share is stored once.
    const msgId = `${this.nodeId}:${work.jobId}:${hit.roll}:${hit.nonce}`;
    this.options.events?.onShare?.(msgId, hit.foundAt !== undefined ? hit.foundAt - performance.timeOrigin : performance.now());
    this.outbox.push(subjects.share(this.nodeId), encode(Share, share), msgId);
  }

  private heartbeat(): void {
    clearInterval(this.heartbeatTimer);
    this.heartbeatNow();
    this.heartbeatTimer = setInterval(() => this.heartbeatNow(), this.heartbeatMs);
    this.heartbeatTimer.unref();
  }

  private heartbeatNow(): void {
    if (this.stopped || this.options.nc.isClosed()) return;
    const rates = this.engine.backendRates();
    for (const { backend, hashrate } of rates) this.options.metrics?.hashrate.set({ backend }, hashrate);
    const beat = {
      v: SCHEMA_VERSION,
      nodeId: this.nodeId,
      seq: this.seq++,
      state: this.state,
      ...(this.job ? { jobId: this.job.assignment.jobId } : {}),
      hashrate: Object.fromEntries(rates.map((r) => [r.backend, r.hashrate])),
      sharesFound: this.sharesFound,
      uptimeSeconds: (Date.now() - this.startedAt) / 1000,
    } as const;
    this.options.nc.publish(subjects.nodeHeartbeat(this.nodeId), encode(Heartbeat, beat));
  }

  /** What this node registers with (and answers NodeDescribe with). */
  private registration(): NodeRegister {
    return {
      v: SCHEMA_VERSION,
      nodeId: this.nodeId,
      version: HASHGRID_VERSION,
      profile: this.profile,
      backends: this.calibrated,
    };
  }

  /** Answers `msg` with `answer()`, or a typed error (counted) if it throws. */
  private reply(msg: ServiceMsg, answer: () => Uint8Array): void {
    try {
      msg.respond(answer());
    } catch (e) {
      this.onBusError(msg.subject, isHashgridError(e) ? e.code : 'INTERNAL');
      replyError(msg, e);
    }
  }

  /** Registers until a pool answers, backing off; again after every reconnect. */
  private async registerLoop(): Promise<void> {
    let backoff = 250;
    while (!this.stopped && !this.registered) {
      try {
        const reply = await request(
          this.options.nc,
          subjects.nodeRegister,
          NodeRegister,
          this.registration(),
          NodeRegistered,
          'NodeRegister',
        );
        this.registered = true;
        if (reply.heartbeatMs !== this.heartbeatMs) {
          this.heartbeatMs = reply.heartbeatMs;
          this.heartbeat();
        }
        this.log(`registered (heartbeat every ${this.heartbeatMs} ms)`);
      } catch (e) {
        if (this.stopped) return;
        this.log(`register: ${(e as Error).message}; retrying in ${backoff} ms`);
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(backoff * 2, 5000);
      }
    }
  }

  private async watchConnection(): Promise<void> {
    for await (const status of this.options.nc.status()) {
      if (this.stopped) return;
      if (status.type === 'disconnect') this.log('bus disconnected; reconnecting');
      if (status.type === 'reconnect') {
        this.log('bus reconnected; registering again');
        this.registered = false;
        void this.registerLoop();
      }
    }
  }
}
