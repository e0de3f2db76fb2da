/**
 * The grid over a 3-server NATS cluster on loopback: nodes on different
 * servers take work and deliver shares; killing a server stops nothing, and
 * every share JetStream acknowledged is still in the stream afterwards.
 */
import { jetstreamManager, jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, describe, expect, it } from 'vitest';
import { decode } from '../../src/bus/codec.js';
import { connectBus } from '../../src/bus/connect.js';
import { Share } from '../../src/bus/schemas.js';
import { streams } from '../../src/bus/subjects.js';
import { DemoFeeder } from '../../src/center/demo-feeder.js';
import { NodeAgent } from '../../src/node/agent.js';
import { NodePool } from '../../src/node/pool.js';
import { startCluster, stopAll, waitFor } from '../helpers/nats.js';

describe('a 3-server cluster', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => {});
    await stopAll();
  });

  it('keeps hashing through the loss of a server and loses no acknowledged share', { timeout: 120_000 }, async () => {
    const t0 = Date.now();
    const step = (s: string) => console.log(`${((Date.now() - t0) / 1000).toFixed(1)} s: ${s}`);
    const servers = await startCluster(3);
    const urls = servers.map((s) => s.url);
    // Each client prefers its "nearest" server and knows the others for fail-over.
    const prefer = (i: number) => [urls[i]!, ...urls.filter((_, j) => j !== i)];
    const connect = async (i: number, name: string): Promise<NatsConnection> => {
      const nc = await connectBus({ servers: prefer(i), name });
      cleanups.push(() => nc.close());
      return nc;
    };

    step('cluster up');
    const service = await connect(2, 'service');
    // The JetStream meta leader needs a moment after the cluster forms.
    const pool = new NodePool(service, { heartbeatMs: 250 });
    cleanups.push(async () => pool.stop());
    let feeder: DemoFeeder | undefined;
    await waitFor(
      async () => {
        try {
          feeder = await DemoFeeder.start(service, pool, { replicas: 3, sharesPerSecond: 20 });
          return true;
        } catch {
          return false;
        }
      },
      30_000,
      'JetStream ready and the SHARES stream created with 3 replicas',
    );
    cleanups.push(() => feeder!.stop());

    step('SHARES stream ready');
    const acked = new Set<string>();
    const agents: NodeAgent[] = [];
    const conns: NatsConnection[] = [];
    for (const [i, id] of [
      [0, 'node-on-0'],
      [1, 'node-on-1'],
    ] as const) {
      const nc = await connect(i, id);
      conns.push(nc);
      const agent = await NodeAgent.start({ nc, nodeId: id, threads: 1, calibrateMs: 300, events: { onShareAcked: (m) => acked.add(m) } });
      agents.push(agent);
      cleanups.push(() => agent.stop());
    }

    step('nodes started');
    const ackedBy = (id: string) => [...acked].filter((m) => m.startsWith(`${id}:`)).length;
    await waitFor(() => ackedBy('node-on-0') >= 10 && ackedBy('node-on-1') >= 10, 30_000, 'shares from both nodes');
    expect(feeder!.accepted).toBeGreaterThan(0);

    step('both nodes delivering');
    // Crash the server node-on-0 is attached to.
    expect(conns[0]!.getServer()).toBe(`127.0.0.1:${servers[0]!.port}`);
    await servers[0]!.kill('SIGKILL');
    step('server 0 killed');
    const ackedAtKill = ackedBy('node-on-0');
    await waitFor(() => ackedBy('node-on-0') >= ackedAtKill + 10, 30_000, 'node-on-0 hashing again through another server');
    await waitFor(() => ackedBy('node-on-1') >= 20, 30_000, 'node-on-1 still hashing');
    step('both nodes delivering after the kill');
    expect(conns[0]!.getServer()).not.toBe(`127.0.0.1:${servers[0]!.port}`);
    for (const a of agents) await a.stop();

    // Every acknowledged share is in the stream, read back through the surviving servers
    // (retrying while the stream's leadership settles after the crash).
    const stored = new Set<string>();
    await waitFor(
      async () => {
        try {
          const jsm = await jetstreamManager(service);
          const info = await jsm.streams.info(streams.shares.name);
          expect(info.config.num_replicas).toBe(3);
          const consumer = await jetstream(service).consumers.get(streams.shares.name);
          const messages = await consumer.fetch({ max_messages: info.state.messages, expires: 5000 });
          for await (const m of messages) {
            const s = decode(Share, m.data, 'Share');
            stored.add(`${s.nodeId}:${s.jobId}:0:${s.nonce}`);
            if (stored.size >= info.state.messages) break;
          }
          return stored.size >= info.state.messages;
        } catch {
          return false;
        }
      },
      30_000,
      'the stream read back',
    );
    step('stream read back');
    const missing = [...acked].filter((m) => !stored.has(m));
    expect(missing).toEqual([]);
    expect(acked.size).toBeGreaterThanOrEqual(40);
  });
});
