/**
 * The PPoV runtime: the pure state machine (machine.ts) on NATS. Time comes
 * from a real timer, messages from the bus (validated where they enter,
 * src/bus/codec.ts), and the machine's effects are executed: persisted in
 * one LMDB transaction (store.ts), then published. Catch-up fetches missing
 * block groups from a peer by request/reply and verifies each one (chain.ts)
 * before storing it.
 *
 * A `PpovTransport` is one connection's view of one chain. Several nodes of
 * one process (the benchmark, `hashgrid up`) may share it: each message is
 * then decoded once per process and handed to every local node; each node
 * still verifies it against its own chain state (verification results are
 * cached per decoded object, chain.ts). Subjects: src/bus/subjects.ts
 * (`subjects.ppov`), messages: src/bus/schemas.ts (`Ppov*`), documented in
 * docs/protocol.md.
 */
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import type { z } from 'zod';
import { decode, encode, PPOV_MAX_PAYLOAD_BYTES } from '../bus/codec.js';
import { replyError, request, serve, type BusErrorSink } from '../bus/rpc.js';
import {
  PpovAccepted,
  PpovBlock,
  PpovGroups,
  PpovHeader,
  PpovStatus,
  PpovStatusRequest,
  PpovSubmit,
  PpovSubmitted,
  PpovSyncRequest,
  PpovTimeout,
  PpovVote,
  SCHEMA_VERSION,
} from '../bus/schemas.js';
import { subjects } from '../bus/subjects.js';
import { ErrorCode, HashgridError, isHashgridError, type HashgridError as HashgridErrorType } from '../core/errors.js';
import type { Identity } from './crypto.js';
import type { TxHasher } from './encode.js';
import { PpovMachine, type Effect, type Evidence, type Input, type TraceEvent } from './machine.js';
import { checkGovSubmission } from './chain.js';
import type { PpovStore } from './store.js';
import type { BlockGroup, Genesis, PpovMessage } from './types.js';
import { BlockVerifier } from './verifier.js';

const v = SCHEMA_VERSION;
const encoder = new TextEncoder();

/** The round messages and how each travels. */
const ROUND = {
  block: { schema: PpovBlock, wrap: (m: PpovMessage) => (m.type === 'block' ? { v, block: m.block } : undefined), unwrap: (d: z.output<typeof PpovBlock>): PpovMessage => ({ type: 'block', block: d.block }) },
  vote: { schema: PpovVote, wrap: (m: PpovMessage) => (m.type === 'vote' ? { v, vote: m.vote } : undefined), unwrap: (d: z.output<typeof PpovVote>): PpovMessage => ({ type: 'vote', vote: d.vote }) },
  timeout: {
    schema: PpovTimeout,
    wrap: (m: PpovMessage) => (m.type === 'timeout' ? { v, timeout: m.timeout } : undefined),
    unwrap: (d: z.output<typeof PpovTimeout>): PpovMessage => ({ type: 'timeout', timeout: d.timeout }),
  },
  header: { schema: PpovHeader, wrap: (m: PpovMessage) => (m.type === 'header' ? { v, header: m.header } : undefined), unwrap: (d: z.output<typeof PpovHeader>): PpovMessage => ({ type: 'header', header: d.header }) },
} as const;
type RoundType = keyof typeof ROUND;
const ROUND_NAMES: Record<RoundType, string> = { block: 'PpovBlock', vote: 'PpovVote', timeout: 'PpovTimeout', header: 'PpovHeader' };

export interface TransportOptions {
  /** Counts every rejected message by subject and code (hashgrid_bus_errors_total). */
  onError?: BusErrorSink;
  /** Sync requests time out after this long (default 5 s). */
  syncTimeoutMs?: number;
  /** Threads that decode and hash incoming blocks and this connection's nodes' next blocks (default 2; 0: on this thread). verifier.ts */
  verifyThreads?: number;
}

/** One connection's publish/subscribe for one chain, shared by the local nodes attached to it. */
export class PpovTransport {
  readonly subjects: ReturnType<typeof subjects.ppov>;
  private readonly nodes = new Map<string, PpovNode>();
  private readonly subs: Subscription[] = [];
  private readonly verifier: BlockVerifier;
  /** The round messages not yet handed to the nodes, in arrival order. */
  private inbox: Promise<void> = Promise.resolve();
  /** Largest message the server takes (nats-server's max_payload). */
  readonly maxPayload: number;

  constructor(
    readonly nc: NatsConnection,
    readonly chainId: string,
    private readonly options: TransportOptions = {},
  ) {
    this.subjects = subjects.ppov(chainId);
    this.maxPayload = Math.min(nc.info?.max_payload ?? PPOV_MAX_PAYLOAD_BYTES, PPOV_MAX_PAYLOAD_BYTES);
    this.verifier = BlockVerifier.start(options.verifyThreads === undefined ? {} : { threads: options.verifyThreads });
    for (const type of Object.keys(ROUND) as RoundType[]) {
      this.subs.push(nc.subscribe(this.subjects[type], { callback: (err, msg) => void (err || this.intake(type, msg)) }));
    }
  }

  /**
   * Round messages reach the nodes in arrival order. A block is decoded and
   * hashed by the verifier's worker meanwhile, and what arrived after it
   * waits for it, so the machines see what the bus delivered, as delivered.
   */
  private intake(type: RoundType, msg: Msg): void {
    const subject = this.subjects[type];
    const r = ROUND[type];
    const decoded: Promise<PpovMessage> =
      type === 'block'
        ? this.verifier.check(msg.data).then((block) => ({ type: 'block', block }))
        : new Promise((resolve) => resolve((r.unwrap as (d: unknown) => PpovMessage)(decode(r.schema as z.ZodType, msg.data, ROUND_NAMES[type], PPOV_MAX_PAYLOAD_BYTES))));
    // Handled in turn below; until then a refused message must not count as an unhandled rejection.
    decoded.catch(() => {});
    this.inbox = this.inbox.then(async () => {
      try {
        this.deliver(await decoded);
        if (msg.reply) msg.respond(encode(PpovAccepted, { v, accepted: true }));
      } catch (e) {
        this.options.onError?.(subject, isHashgridError(e) ? e.code : 'INTERNAL');
        replyError(msg, e);
      }
    });
  }

  /**
   * Hands a message to every local node. A ledger rule that rejects it in
   * any node is thrown: the error reply of a request; a plain publish gets
   * nothing back.
   */
  private deliver(msg: PpovMessage): void {
    let failed: HashgridErrorType | undefined;
    for (const node of this.nodes.values()) {
      const error = node.receive(msg);
      failed ??= error;
    }
    if (failed) throw failed;
  }

  attach(node: PpovNode): Subscription[] {
    this.nodes.set(node.id, node);
    const s = this.subjects;
    const onError = this.options.onError;
    const opts = { maxBytes: PPOV_MAX_PAYLOAD_BYTES, ...(onError ? { onError } : {}) };
    return [
      serve(this.nc, s.sync(node.id), PpovSyncRequest, PpovGroups, 'PpovSyncRequest', (r) => ({ v, groups: node.groupsFrom(r.height, this.maxPayload) }), opts),
      serve(this.nc, s.groups(node.id), PpovGroups, PpovAccepted, 'PpovGroups', (r) => {
        const failed = node.receive({ type: 'sync-response', groups: r.groups });
        if (failed) throw failed;
        return { v, accepted: true as const };
      }, opts),
      serve(this.nc, s.submit(node.id), PpovSubmit, PpovSubmitted, 'PpovSubmit', (r) => {
        const txs = r.txs.map((t) => new Uint8Array(Buffer.from(t, 'base64')));
        // All or nothing: one governance transaction that breaks a rule refuses the whole submission.
        for (const tx of txs) checkGovSubmission(node.machine.state, tx);
        node.submit(txs);
        return { v, accepted: r.txs.length, pending: node.machine.pendingTxs };
      }, opts),
      serve(this.nc, s.status(node.id), PpovStatusRequest, PpovStatus, 'PpovStatusRequest', () => node.status(), opts),
    ];
  }

  /** `hasher` for one node, with its next blocks hashed ahead on the verifier's pool (BlockVerifier.prefetching). */
  prefetching(hasher: TxHasher): TxHasher {
    return this.verifier.prefetching(hasher);
  }

  detach(node: PpovNode): void {
    this.nodes.delete(node.id);
  }

  publish(msg: PpovMessage): void {
    if (msg.type === 'sync-request' || msg.type === 'sync-response') return;
    const r = ROUND[msg.type];
    this.nc.publish(this.subjects[msg.type], encoder.encode(JSON.stringify(r.wrap(msg))));
  }

  /** Sends groups to a node that is behind, one message per group that fits the server's limit. */
  sendGroups(to: string, groups: readonly BlockGroup[]): void {
    for (const g of groups) {
      // The transactions dominate a group's size: skip one that cannot fit without serializing it (the peer can still fetch it by sync).
      if (g.blocks.reduce((s, b) => s + b.txs.length, 0) > this.maxPayload) continue;
      const data = encoder.encode(JSON.stringify({ v, groups: [g] }));
      if (data.length <= this.maxPayload) this.nc.publish(this.subjects.groups(to), data);
    }
  }

  /** Fetches block groups from `height` on from `peer` (request/reply; the reply is validated). */
  async fetchGroups(peer: string, from: string, height: number): Promise<BlockGroup[]> {
    const reply = await request(this.nc, this.subjects.sync(peer), PpovSyncRequest, { v, from, height }, PpovGroups, 'PpovSyncRequest', this.options.syncTimeoutMs ?? 5000, PPOV_MAX_PAYLOAD_BYTES);
    return reply.groups;
  }

  /** Stops listening; resolves once the verifier's threads are gone. */
  async close(): Promise<void> {
    for (const s of this.subs.splice(0)) s.unsubscribe();
    await this.verifier.close();
  }
}

/** S1–S4 of one round as Table 1 splits it ([0152]–[0156], [0170]), seconds, measured on this node. */
export interface RoundTiming {
  height: number;
  /** Round start → own block built, signed (S1). */
  s1: number;
  /** Own block → every block received and verified, own vote signed (S2). */
  s2: number;
  /** Own vote → the leader's header taken up: votes counted, header written, signed, published (S3). */
  s3: number;
  /** Header → group verified and committed to the store (S4). */
  s4: number;
  /** Round start → group committed. */
  round: number;
  txs: number;
}

export interface PpovNodeOptions {
  transport: PpovTransport;
  genesis: Genesis;
  identity: Identity;
  hasher: TxHasher;
  store: PpovStore;
  /** Timer period driving the machine's clock (default 5 ms). */
  tickMs?: number;
  log?: (line: string) => void;
  onRound?: (t: RoundTiming) => void;
  onStored?: (group: BlockGroup) => void;
}

const evidenceKey = (e: Evidence): string => `${e.height}/${e.offender}/${e.kind}`;

export class PpovNode {
  readonly machine: PpovMachine;
  readonly rejected: Record<string, number> = {};
  /** Evidence of misbehaviour this node holds (stored; by height, offender and kind). */
  private readonly evidence = new Set<string>();
  private readonly transport: PpovTransport;
  private readonly store: PpovStore;
  private readonly log: (line: string) => void;
  private subs: Subscription[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** Effects go out in step order, each after the step's store transaction committed. */
  private outbox: Promise<void> = Promise.resolve();
  private syncing = false;
  private closed = false;
  /**
   * The tip whose store transaction has committed. The machine's own tip runs
   * ahead of it by at most one step; what others are told (status, sync, the
   * height getter) is only what survives a SIGKILL.
   */
  private committed: { height: number; tipId: string };
  /** When each milestone of each height happened (performance.now()). */
  private marks = new Map<number, Partial<Record<TraceEvent, number>>>();

  private constructor(private readonly options: PpovNodeOptions) {
    this.transport = options.transport;
    this.store = options.store;
    this.log = options.log ?? (() => {});
    const restore = options.store.load();
    for (const e of restore.evidence) this.evidence.add(evidenceKey(e));
    this.machine = new PpovMachine({
      genesis: options.genesis,
      identity: options.identity,
      hasher: options.transport.prefetching(options.hasher),
      restore,
      trace: (event, height) => this.mark(event, height),
    });
    this.committed = { height: this.machine.state.height, tipId: this.machine.state.tipId };
  }

  /** Opens the node from its store (replaying and re-verifying every stored group) and joins the bus. */
  static start(options: PpovNodeOptions): PpovNode {
    const node = new PpovNode(options);
    node.subs = node.transport.attach(node);
    node.timer = setInterval(() => node.input({ kind: 'tick', now: Date.now() }), options.tickMs ?? 5);
    node.input({ kind: 'tick', now: Date.now() });
    return node;
  }

  get id(): string {
    return this.machine.id;
  }
  /** The height of the last block group committed to the store. */
  get height(): number {
    return this.committed.height;
  }

  /** A message from the bus; returns the ledger rule it broke, if any (no state changed then). */
  receive(msg: PpovMessage): HashgridError | undefined {
    return this.input({ kind: 'message', msg, now: Date.now() });
  }

  submit(txs: Uint8Array[]): void {
    this.input({ kind: 'submit', txs });
  }

  status(): z.input<typeof PpovStatus> {
    const s = this.machine.state;
    return { v, nodeId: this.id, chainId: s.genesis.chainId, height: this.committed.height, tipId: this.committed.tipId, view: this.machine.currentView, pending: this.machine.pendingTxs, rejected: { ...this.rejected }, evidence: this.evidence.size };
  }

  /** Consecutive groups from `height`, as many as fit in `maxBytes` of JSON (at least one, or a typed error). */
  groupsFrom(height: number, maxBytes: number): BlockGroup[] {
    const out: BlockGroup[] = [];
    let bytes = 64;
    for (const g of this.machine.groups.slice(height - 1, Math.min(height - 1 + 16, this.committed.height))) {
      const size = JSON.stringify(g).length + 1;
      if (bytes + size > maxBytes) break;
      bytes += size;
      out.push(g);
    }
    if (out.length === 0 && this.committed.height >= height) {
      throw new HashgridError(ErrorCode.PAYLOAD_TOO_LARGE, `PpovSyncRequest: group ${height} is larger than the server's max_payload (${maxBytes} bytes)`);
    }
    return out;
  }

  private input(input: Input): HashgridError | undefined {
    if (this.closed) return undefined;
    const fx = this.machine.step(input);
    this.execute(fx);
    return fx.find((e): e is Extract<Effect, { kind: 'rejected' }> => e.kind === 'rejected')?.error;
  }

  private execute(fx: Effect[]): void {
    const committed = this.store.write(fx);
    const stored = fx.filter((e): e is Extract<Effect, { kind: 'stored' }> => e.kind === 'stored');
    this.outbox = Promise.all([this.outbox, committed]).then(
      () => {
        const last = stored.at(-1)?.group.header;
        if (last) this.committed = { height: last.height, tipId: last.groupId };
        if (this.closed) return;
        for (const e of stored) this.onCommitted(e.group);
        for (const e of fx) this.send(e);
      },
      (err) => {
        // A store that cannot commit must not let the node send what it could not persist.
        this.log(`store failed, stopping: ${(err as Error).message}`);
        void this.stop();
      },
    );
  }

  private send(e: Effect): void {
    switch (e.kind) {
      case 'broadcast':
        this.transport.publish(e.msg);
        return;
      case 'send':
        if (e.msg.type === 'sync-request') this.catchUp(e.to, e.msg.height);
        else if (e.msg.type === 'sync-response') this.transport.sendGroups(e.to, e.msg.groups);
        else this.transport.publish(e.msg);
        return;
      case 'evidence':
        this.evidence.add(evidenceKey(e.evidence));
        this.log(`evidence: ${e.evidence.kind} by ${e.evidence.offender} at height ${e.evidence.height}`);
        return;
      case 'rejected':
        this.rejected[e.error.code] = (this.rejected[e.error.code] ?? 0) + 1;
        return;
      default:
        return;
    }
  }

  /** Catch-up: fetch groups from a peer; each is verified by the machine before it is stored. */
  private catchUp(peer: string, height: number): void {
    if (this.syncing || peer === this.id) return;
    this.syncing = true;
    this.transport
      .fetchGroups(peer, this.id, height)
      .then((groups) => {
        if (groups.length > 0) this.receive({ type: 'sync-response', groups });
      })
      .catch((e) => this.log(`catch-up from ${peer} failed: ${(e as Error).message}`))
      .finally(() => (this.syncing = false));
  }

  private mark(event: TraceEvent, height: number): void {
    let m = this.marks.get(height);
    if (!m) this.marks.set(height, (m = {}));
    m[event] ??= performance.now();
  }

  private onCommitted(group: BlockGroup): void {
    const h = group.header.height;
    const m = this.marks.get(h) ?? {};
    for (const k of this.marks.keys()) if (k <= h) this.marks.delete(k);
    const start = m.round;
    const header = m.header;
    this.options.onStored?.(group);
    if (this.options.onRound && start !== undefined && header !== undefined) {
      const proposed = m.proposed ?? start;
      const voted = m.voted ?? proposed;
      const now = performance.now();
      const txs = group.blocks.reduce((s, b) => s + b.txCount, 0);
      this.options.onRound({ height: group.header.height, s1: (proposed - start) / 1e3, s2: (voted - proposed) / 1e3, s3: (header - voted) / 1e3, s4: (now - header) / 1e3, round: (now - start) / 1e3, txs });
    }
  }

  async stop(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    for (const s of this.subs) s.unsubscribe();
    this.transport.detach(this);
    await this.outbox.catch(() => {});
    await this.store.close();
  }
}

