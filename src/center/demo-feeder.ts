/**
 * Demo work for a local grid: gives every live node in the pool a job of its
 * own and validates the shares that come back through JetStream.
 *
 * It is the smallest distribution center there can be: one synthetic header
 * per job, a share difficulty sized to each node's calibrated hashrate, and
 * full re-validation of every share (sha256d recomputed, target checked, the
 * header matched to the job the node was given). The Stratum-speaking
 * distribution center with sub-accounts grows from here.
 */
import { AckPolicy, jetstream, jetstreamManager, type ConsumerMessages } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { ensureSharesStream } from '../bus/jetstream.js';
import { bytesToHex, hexToBytes } from '../core/bytes.js';
import { encodeHeader } from '../core/header.js';
import { meetsTarget, sha256d, hashToDisplayHex } from '../core/sha256d.js';
import { difficultyToTarget, MAX_TARGET, targetToHex } from '../core/target.js';
import { decode } from '../bus/codec.js';
import { listen, request, type BusErrorSink } from '../bus/rpc.js';
import { Exhausted, SCHEMA_VERSION, Share, WorkAccepted, WorkAssignment } from '../bus/schemas.js';
import { streams, subjects } from '../bus/subjects.js';
import type { NodePool } from '../node/pool.js';

/** Options; every default is documented here. */
export interface DemoFeederOptions {
  /** Shares per second each node should find (default 1). */
  sharesPerSecond?: number;
  /** Replicas of the SHARES stream (default 1; 3 on a 3-server cluster). */
  replicas?: number;
  /** Give work to idle nodes (default true; false only validates shares). */
  assign?: boolean;
  /** Owner tag on demo work (default `demo`). */
  owner?: string;
  onError?: BusErrorSink;
  log?: (line: string) => void;
}

interface IssuedJob {
  nodeId: string;
  header: Uint8Array;
  target: bigint;
}

export class DemoFeeder {
  accepted = 0;
  rejected = new Map<string, number>();
  private readonly jobs = new Map<string, IssuedJob>();
  private readonly assigned = new Map<string, string>();
  private readonly seen = new Set<string>();
  private jobCounter = 0;
  private messages: ConsumerMessages | undefined;
  private readonly timer: NodeJS.Timeout;
  private stopped = false;
  private readonly subs;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly pool: NodePool,
    private readonly options: DemoFeederOptions,
  ) {
    this.subs = [
      listen(nc, subjects.allExhausted, Exhausted, 'Exhausted', (m) => {
        if (this.assigned.get(m.nodeId) === m.jobId) this.assigned.delete(m.nodeId);
      }, options.onError),
    ];
    this.timer = setInterval(() => options.assign !== false && void this.assignIdle(), 250);
    this.timer.unref();
  }

  static async start(nc: NatsConnection, pool: NodePool, options: DemoFeederOptions = {}): Promise<DemoFeeder> {
    await ensureSharesStream(nc, options.replicas ?? 1);
    const feeder = new DemoFeeder(nc, pool, options);
    await feeder.consume();
    return feeder;
  }

  get totalRejected(): number {
    return [...this.rejected.values()].reduce((a, b) => a + b, 0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    for (const s of this.subs) s.unsubscribe();
    await this.messages?.close();
  }

  /** Gives a fresh job to every live node that has none. */
  private async assignIdle(): Promise<void> {
    for (const node of this.pool.nodes()) {
      if (this.stopped || !node.alive || node.state === 'paused' || this.assigned.has(node.nodeId)) continue;
      const rate = node.backends.reduce((s, b) => s + b.hashrate, 0) || 1e6;
      // Expected shares per second at difficulty d: rate / (d · 2^32).
      const difficulty = rate / ((this.options.sharesPerSecond ?? 1) * 2 ** 32);
      let target: bigint;
      try {
        target = difficultyToTarget(difficulty);
      } catch {
        target = MAX_TARGET;
      }
      const jobId = `demo-${++this.jobCounter}`;
      const header = encodeHeader({
        version: 0x20000000,
        prevHash: sha256d(new TextEncoder().encode(`prev:${jobId}`)),
        merkleRoot: sha256d(new TextEncoder().encode(`root:${node.nodeId}:${jobId}`)),
        time: Math.floor(Date.now() / 1000),
        bits: 0x1d00ffff,
        nonce: 0,
      });
      this.jobs.set(jobId, { nodeId: node.nodeId, header, target });
      this.assigned.set(node.nodeId, jobId);
      try {
        await request(
          this.nc,
          subjects.nodeWork(node.nodeId),
          WorkAssignment,
          {
            v: SCHEMA_VERSION,
            jobId,
            owner: this.options.owner ?? 'demo',
            header: bytesToHex(header),
            nonceStart: 0,
            nonceCount: 2 ** 32,
            shareTarget: targetToHex(target),
          },
          WorkAccepted,
          'WorkAssignment',
        );
        this.options.log?.(`assigned ${jobId} to ${node.nodeId} (share difficulty ${difficulty.toPrecision(3)})`);
      } catch (e) {
        this.assigned.delete(node.nodeId);
        this.options.log?.(`could not assign work to ${node.nodeId}: ${(e as Error).message}`);
      }
    }
  }

  private reject(reason: string): void {
    this.rejected.set(reason, (this.rejected.get(reason) ?? 0) + 1);
  }

  /** Validates one share; returns the rejection reason, or undefined when accepted. */
  private validate(share: Share, subject: string): string | undefined {
    const job = this.jobs.get(share.jobId);
    if (!job) return 'unknown-job';
    // The share must come from the node the job was given to, on that node's own subject.
    if (job.nodeId !== share.nodeId || subject !== subjects.share(share.nodeId)) return 'wrong-node';
    const header = hexToBytes(share.header, 80, 'header');
    if (bytesToHex(header.subarray(0, 76)) !== bytesToHex(job.header.subarray(0, 76))) return 'header-mismatch';
    const hash = sha256d(header);
    if (hashToDisplayHex(hash) !== share.hash) return 'hash-mismatch';
    if (!meetsTarget(hash, job.target)) return 'low-difficulty';
    const key = `${share.jobId}:${share.nonce}`;
    if (this.seen.has(key)) return 'duplicate';
    this.seen.add(key);
    return undefined;
  }

  private async consume(): Promise<void> {
    const jsm = await jetstreamManager(this.nc);
    await jsm.consumers.add(streams.shares.name, { durable_name: 'demo-feeder', ack_policy: AckPolicy.Explicit });
    const consumer = await jetstream(this.nc).consumers.get(streams.shares.name, 'demo-feeder');
    this.messages = await consumer.consume();
    void (async () => {
      for await (const m of this.messages!) {
        try {
          const share = decode(Share, m.data, 'Share');
          const reason = this.validate(share, m.subject);
          if (reason) this.reject(reason);
          else this.accepted++;
        } catch (e) {
          this.reject('malformed');
          this.options.onError?.(m.subject, (e as { code?: string }).code ?? 'INTERNAL');
        }
        m.ack();
      }
    })();
  }
}
