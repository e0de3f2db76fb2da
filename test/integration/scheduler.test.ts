/**
 * The scheduler with real parts: a nats-server, a distribution center, the
 * node pool, hashing nodes on the wasm engine. Three sub-accounts reach their
 * standards; a standby node replaces a killed one; two schedulers on one plan
 * never both lead; bad plans and requests are refused.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectBus } from '../../src/bus/connect.js';
import { request } from '../../src/bus/rpc.js';
import { SCHEMA_VERSION, SchedulerAccountChange, SchedulerStatus, SchedulerStatusRequest } from '../../src/bus/schemas.js';
import { subjects } from '../../src/bus/subjects.js';
import { BuiltinChain } from '../../src/center/chain.js';
import { DistributionCenter } from '../../src/center/center.js';
import { NodeAgent } from '../../src/node/agent.js';
import { NodePool } from '../../src/node/pool.js';
import { Scheduler } from '../../src/scheduler/scheduler.js';
import { startServer, stopAll, waitFor } from '../helpers/nats.js';

const accounts = [
  { id: 'alice', password: 'alice-secret', standard: 300_000, windowSeconds: 60 },
  { id: 'bob', password: 'bob-secret-1', standard: 200_000, windowSeconds: 60 },
  { id: 'carol', password: 'carol-secret', standard: 100_000, windowSeconds: 60 },
];

describe('the scheduler on a real grid', () => {
  let url: string;
  let service: NatsConnection;
  let chain: BuiltinChain;
  let center: DistributionCenter;
  let pool: NodePool;
  const agents = new Map<string, { agent: NodeAgent; nc: NatsConnection }>();
  const schedulers: Scheduler[] = [];

  const startNode = async (nodeId: string) => {
    const nc = await connectBus({ servers: url, name: nodeId });
    const agent = await NodeAgent.start({ nc, nodeId, threads: 1, calibrateMs: 300 });
    agents.set(nodeId, { agent, nc });
  };

  beforeAll(async () => {
    const server = await startServer();
    url = server.url;
    service = await connectBus({ servers: url });
    chain = new BuiltinChain({ difficulty: 1, refreshMs: 0 });
    center = await DistributionCenter.start({ nc: service, source: chain, subAccounts: accounts, initialDifficulty: 2 ** -16 });
    pool = new NodePool(service, { heartbeatMs: 250 });
    for (const id of ['node-a', 'node-b', 'node-s']) await startNode(id);
    await waitFor(() => pool.nodes().length === 3, 10_000, 'three nodes registered');
  });

  afterAll(async () => {
    for (const s of schedulers) await s.stop();
    for (const { agent, nc } of agents.values()) {
      await agent.stop();
      await nc.close();
    }
    pool?.stop();
    await center?.close();
    chain?.close();
    await service?.close();
    await stopAll();
  });

  const plan = {
    name: 'it',
    subAccounts: accounts.map((a) => ({ center: 'main', id: a.id, password: a.password })),
    standby: ['node-s'],
    decisionMs: 250,
    sliceMs: 2000,
  };

  it('brings three sub-accounts to their standards with real nodes and a real center', async () => {
    const scheduler = await Scheduler.start({ nc: service, pool, plan });
    schedulers.push(scheduler);
    await waitFor(() => scheduler.status().accounts.every((a) => a.state === 'up-to-standard'), 45_000, 'every sub-account up to standard');
    expect(accounts.every((a) => center.info(a.id).upToStandard)).toBe(true);
    const status = scheduler.status();
    expect(status.leader).toBe(scheduler.instanceId);
    expect(status.accounts.map((a) => a.state)).toEqual(['up-to-standard', 'up-to-standard', 'up-to-standard']);
    expect(status.nodes.find((n) => n.id === 'node-s')!.state).toBe('standby');
    expect(scheduler.forwarded.accepted).toBeGreaterThan(10);
    // Every accepted share was credited to the sub-account it was mined for.
    const credited = accounts.reduce((s, a) => s + center.info(a.id).acceptedShares, 0);
    expect(credited).toBe(center.stats.accepted);
  });

  it('answers status over the bus, and refuses bad account changes without changing the plan', async () => {
    const status = await request(service, subjects.scheduler('it').status, SchedulerStatusRequest, { v: SCHEMA_VERSION }, SchedulerStatus, 'status');
    expect(status.accounts.map((a) => a.key)).toEqual(['main/alice', 'main/bob', 'main/carol']);
    await expect(
      request(service, subjects.scheduler('it').accounts, SchedulerAccountChange, { v: SCHEMA_VERSION, action: 'remove', center: 'main', id: 'nobody' }, SchedulerStatus, 'change'),
    ).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const bad = await service.request(subjects.scheduler('it').accounts, new TextEncoder().encode('{"v":1,"action":"explode"}'));
    expect(JSON.parse(new TextDecoder().decode(bad.data)).error.code).toBe('INVALID_MESSAGE');
    const after = await request(service, subjects.scheduler('it').status, SchedulerStatusRequest, { v: SCHEMA_VERSION }, SchedulerStatus, 'status');
    expect(after.accounts).toHaveLength(3);
  });

  it('lets only one of two schedulers on a plan act', async () => {
    const second = await Scheduler.start({ nc: service, pool, plan });
    schedulers.push(second);
    await new Promise((r) => setTimeout(r, 1000));
    expect(schedulers[0]!.leader).toBe(true);
    expect(second.leader).toBe(false);
  });

  it('replaces a killed node with the standby within two heartbeat intervals of noticing', async () => {
    await waitFor(() => schedulers[0]!.status().nodes.filter((n) => n.state === 'active').length === 2, 5000, 'two active nodes');
    const active = schedulers[0]!.status().nodes.filter((n) => n.state === 'active').map((n) => n.id);
    expect(active.sort()).toEqual(['node-a', 'node-b']);
    const { agent, nc } = agents.get('node-a')!;
    const killedAt = Date.now();
    await agent.stop();
    await nc.close();
    // Lost after 3 missed heartbeats (750 ms), then ≤ 2 intervals to move the work.
    const state = (id: string) => schedulers[0]!.status().nodes.find((n) => n.id === id)!.state;
    await waitFor(() => state('node-s') === 'active' && state('node-a') === 'failed', 5000, 'standby active');
    expect(Date.now() - killedAt).toBeLessThan(750 + 2 * 250 + 1000 /* decision period and scheduling slack */);
    expect(state('node-b')).toBe('active');
  });

  it('refuses a bad plan with a typed error naming the field', async () => {
    await expect(Scheduler.start({ nc: service, pool, plan: { subAccounts: [] } })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: /plan: subAccounts/ });
    await expect(Scheduler.start({ nc: service, pool, plan: { subAccounts: [{ center: 'main', id: 'x', password: 'short' }] } })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: /password/ });
    await expect(Scheduler.start({ nc: service, pool, plan: { ...plan, mode: 'chaotic' } })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: /plan: mode/ });
  });
});
