/**
 * The node pool: the registry every scheduling service reads. It answers
 * registrations, follows heartbeats, and marks a node lost when no heartbeat
 * came for `lostAfterBeats` intervals (default 1.5: the next beat is half an
 * interval late). With the sweep every quarter interval, a dead node is
 * marked lost at most 1.75 intervals after its last heartbeat, so a
 * scheduler that reacts at once moves its work within two intervals
 * (issue 5, scope 4); the price is that a node whose heartbeats run half an
 * interval late is marked lost and comes back with its next one. A pool that starts after a node
 * registered (a dashboard, a restarted service) asks the node to describe
 * itself when its first heartbeat arrives.
 */
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { listen, request, serve, type BusErrorSink } from '../bus/rpc.js';
import { Heartbeat, NodeDescribe, NodeRegister, NodeRegistered, SCHEMA_VERSION, type HardwareProfile, type NodeState } from '../bus/schemas.js';
import { subjects } from '../bus/subjects.js';

export interface PoolNode {
  nodeId: string;
  profile: HardwareProfile;
  /** Calibrated hashrate per backend, from the registration. */
  backends: { backend: string; lanes: number; hashrate: number }[];
  registeredAt: number;
  lastSeen: number;
  state: NodeState;
  /** Measured hashrate per backend, from the last heartbeat. */
  hashrate: Record<string, number>;
  sharesFound: number;
  jobId?: string;
  alive: boolean;
}

/** Pool options; every default is documented here. */
export interface NodePoolOptions {
  /** Heartbeat period told to nodes (default 2000 ms). */
  heartbeatMs?: number;
  /** Heartbeat intervals without one before a node counts as lost (default 1.5; see the module comment). */
  lostAfterBeats?: number;
  onError?: BusErrorSink;
  /** Called when a node registers, is lost, or comes back. */
  onChange?: (node: PoolNode, event: PoolEvent) => void;
}

export type PoolEvent = 'registered' | 'lost' | 'back';

export class NodePool {
  private readonly table = new Map<string, PoolNode>();
  private readonly subs: Subscription[];
  private readonly timer: NodeJS.Timeout;
  /** Unknown nodes asked to describe themselves, and when (at most one question per node every 5 s). */
  private readonly asked = new Map<string, number>();
  readonly heartbeatMs: number;
  private stopped = false;
  private readonly watchers = new Set<(node: PoolNode, event: PoolEvent) => void>();

  constructor(
    private readonly nc: NatsConnection,
    private readonly options: NodePoolOptions = {},
  ) {
    this.heartbeatMs = options.heartbeatMs ?? 2000;
    this.subs = [
      serve(
        nc,
        subjects.nodeRegister,
        NodeRegister,
        NodeRegistered,
        'NodeRegister',
        (reg) => {
          this.admit(reg);
          return { v: SCHEMA_VERSION, heartbeatMs: this.heartbeatMs };
        },
        // No queue group: every pool instance (scheduler, center, dashboard) keeps the whole table.
        options.onError ? { onError: options.onError } : {},
      ),
      listen(
        nc,
        subjects.allHeartbeats,
        Heartbeat,
        'Heartbeat',
        (beat, msg) => {
          // A heartbeat must come from the node's own subject, and only registered nodes are tracked.
          if (msg.subject !== subjects.nodeHeartbeat(beat.nodeId)) return;
          const node = this.table.get(beat.nodeId);
          if (!node) return this.describe(beat.nodeId);
          node.lastSeen = Date.now();
          node.state = beat.state;
          node.hashrate = beat.hashrate;
          node.sharesFound = beat.sharesFound;
          if (beat.jobId) node.jobId = beat.jobId;
          else delete node.jobId;
          if (!node.alive) {
            node.alive = true;
            this.changed(node, 'back');
          }
        },
        options.onError,
      ),
    ];
    this.timer = setInterval(() => this.sweep(), Math.max(25, this.heartbeatMs / 4));
    this.timer.unref();
  }

  /** Calls `fn` on every registration, loss and return, as they happen; returns how to stop. */
  watch(fn: (node: PoolNode, event: PoolEvent) => void): () => void {
    this.watchers.add(fn);
    return () => this.watchers.delete(fn);
  }

  private changed(node: PoolNode, event: PoolEvent): void {
    this.options.onChange?.(node, event);
    for (const fn of this.watchers) fn(node, event);
  }

  nodes(): PoolNode[] {
    return [...this.table.values()];
  }

  get(nodeId: string): PoolNode | undefined {
    return this.table.get(nodeId);
  }

  /** Sum of measured hashrate over live nodes. */
  totalHashrate(): number {
    return this.nodes()
      .filter((n) => n.alive)
      .reduce((s, n) => s + Object.values(n.hashrate).reduce((a, b) => a + b, 0), 0);
  }

  /** Adds (or refreshes) a node from its registration. */
  private admit(reg: NodeRegister): void {
    const now = Date.now();
    const known = this.table.get(reg.nodeId);
    const node: PoolNode = {
      nodeId: reg.nodeId,
      profile: reg.profile,
      backends: reg.backends,
      registeredAt: now,
      lastSeen: now,
      state: known?.state ?? 'idle',
      hashrate: known?.hashrate ?? {},
      sharesFound: known?.sharesFound ?? 0,
      ...(known?.jobId ? { jobId: known.jobId } : {}),
      alive: true,
    };
    this.table.set(reg.nodeId, node);
    this.changed(node, 'registered');
  }

  /** Asks a node we have not seen register for its registration (a node that answers for another id is ignored). */
  private describe(nodeId: string): void {
    const now = Date.now();
    if (now - (this.asked.get(nodeId) ?? 0) < 5000) return;
    this.asked.set(nodeId, now);
    request(this.nc, subjects.nodeDescribe(nodeId), NodeDescribe, { v: SCHEMA_VERSION }, NodeRegister, 'NodeDescribe')
      .then((reg) => {
        if (reg.nodeId === nodeId && !this.table.has(nodeId) && !this.stopped) this.admit(reg);
      })
      .catch((e: unknown) => this.options.onError?.(subjects.nodeDescribe(nodeId), (e as { code?: string }).code ?? 'INTERNAL'));
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    for (const s of this.subs) s.unsubscribe();
  }

  private sweep(): void {
    const deadline = Date.now() - this.heartbeatMs * (this.options.lostAfterBeats ?? 1.5);
    for (const node of this.table.values()) {
      if (node.alive && node.lastSeen < deadline) {
        node.alive = false;
        this.changed(node, 'lost');
      }
    }
  }
}
