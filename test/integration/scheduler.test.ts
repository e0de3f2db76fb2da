/**
 * The scheduler with real parts: a nats-server, a distribution center, the
 * node pool, hashing nodes on the wasm engine. Three sub-accounts reach their
 * standards; a standby node replaces a killed one; two schedulers on one plan
 * never both lead; bad plans and requests are refused.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectBus } from '../../src/bus/connect.js';
import { request } from '../../src/bus/rpc.js';
import { SCHEMA_VERSION, SchedulerAccountChange, SchedulerStatus, SchedulerStatusRequest } from '../../src/bus/schemas.js';
import { subjects } from '../../src/bus/subjects.js';
import { BuiltinChain } from '../../src/center/chain.js';
import { bytesToHex } from '../../src/core/bytes.js';
import { sha256d } from '../../src/core/sha256d.js';
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
/** Wide enough that a busy shared machine does not make healthy nodes miss beats (they are lost 1.5 intervals after one). */
const HEARTBEAT_MS = 500;
/** On the center but not in the plan: added at run time. */
const dave = { id: 'dave', password: 'dave-secret1', standard: 50_000, windowSeconds: 60 };

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
    center = await DistributionCenter.start({ nc: service, source: chain, subAccounts: [...accounts, dave], initialDifficulty: 2 ** -16 });
    pool = new NodePool(service, { heartbeatMs: HEARTBEAT_MS });
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
    const failures: string[] = [];
    const scheduler = await Scheduler.start({ nc: service, pool, plan, taskRefreshMs: 60_000, log: (l) => void (/^node-failed/.test(l) && failures.push(l)) });
    schedulers.push(scheduler);
    await waitFor(() => scheduler.status().accounts.every((a) => a.state === 'up-to-standard'), 45_000, 'every sub-account up to standard');
    expect(accounts.every((a) => center.info(a.id).upToStandard)).toBe(true);
    const status = scheduler.status();
    expect(status.leader).toBe(scheduler.instanceId);
    expect(status.role).toBe('leader');
    expect(status.accounts.map((a) => a.state)).toEqual(['up-to-standard', 'up-to-standard', 'up-to-standard']);
    // The standby stays in reserve unless a node really failed (on a machine this shared, one may under-deliver).
    expect(status.nodes.find((n) => n.id === 'node-s')!.state, failures.join('; ')).toBe(failures.length === 0 ? 'standby' : 'active');
    expect(scheduler.forwarded.accepted).toBeGreaterThan(10);
    // Every accepted share was credited to the sub-account it was mined for.
    const credited = [...accounts, dave].reduce((s, a) => s + center.info(a.id).acceptedShares, 0);
    expect(credited).toBe(center.stats.accepted);
  });

  it('moves the nodes to a new block as soon as the center announces it, not at the next task poll', async () => {
    // Watch the work the nodes are given (a second subscriber on their work subjects; only the node replies).
    const prevhashes: { nodeId: string; prevhash: string }[] = [];
    const sub = service.subscribe(subjects.nodeWork('*'), {
      callback: (_, m) => {
        const w = JSON.parse(new TextDecoder().decode(m.data)) as { header: string };
        prevhashes.push({ nodeId: m.subject.split('.')[2]!, prevhash: w.header.slice(8, 72) });
      },
    });
    const mining = schedulers[0]!.status().nodes.filter((n) => n.state === 'active').map((n) => n.id);
    expect(mining.length).toBeGreaterThan(0);
    // Any header will do: the built-in chain takes it as the next block, and the center announces a clean job.
    const header = new Uint8Array(80).fill(7);
    const tip = bytesToHex(sha256d(header));
    chain.submitBlock(header);
    // The scheduler polls tasks only every minute here (taskRefreshMs): only the event can move the nodes in time.
    await waitFor(() => mining.every((id) => prevhashes.some((p) => p.nodeId === id && p.prevhash === tip)), 10_000, 'every active node on the new block');
    sub.unsubscribe();
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

  const change = (c: unknown) => request(service, subjects.scheduler('it').accounts, SchedulerAccountChange, c as never, SchedulerStatus, 'change');

  it('adds, removes and re-prioritises sub-accounts at run time, and keeps the changes across a restart', async () => {
    const added = await change({ v: SCHEMA_VERSION, action: 'add', account: { center: 'main', id: 'dave', password: dave.password } });
    expect(added.accounts.map((a) => a.key)).toEqual(['main/alice', 'main/bob', 'main/carol', 'main/dave']);
    const bumped = await change({ v: SCHEMA_VERSION, action: 'priority', center: 'main', id: 'bob', priority: 7 });
    expect(bumped.accounts.find((a) => a.key === 'main/bob')!.priority).toBe(7);
    const removed = await change({ v: SCHEMA_VERSION, action: 'remove', center: 'main', id: 'carol' });
    expect(removed.accounts.map((a) => a.key)).toEqual(['main/alice', 'main/bob', 'main/dave']);
    // The added account is scheduled like the others.
    await waitFor(() => schedulers[0]!.status().accounts.find((a) => a.key === 'main/dave')!.state === 'up-to-standard', 30_000, 'dave up to standard');

    // A restart from the same plan file resumes the changed set, not the file's.
    await schedulers[0]!.stop();
    const restarted = await Scheduler.start({ nc: service, pool, plan });
    schedulers[0] = restarted;
    await waitFor(() => restarted.leader, 10_000, 'the restarted scheduler leads');
    const after = restarted.status();
    expect(after.accounts.map((a) => [a.key, a.priority])).toEqual([
      ['main/alice', 0],
      ['main/bob', 7],
      ['main/dave', 3],
    ]);
    // Up to standard still: the accounting was resumed, not restarted.
    await waitFor(() => restarted.status().accounts.every((a) => a.state === 'up-to-standard'), 20_000, 'every account up to standard after the restart');
  });

  it('lets only one of two schedulers on a plan act: the standby answers nothing while the leader lives', async () => {
    const second = await Scheduler.start({ nc: service, pool, plan });
    schedulers.push(second);
    await new Promise((r) => setTimeout(r, 1000));
    expect(schedulers[0]!.leader).toBe(true);
    expect(second.leader).toBe(false);
    expect(second.status()).toMatchObject({ role: 'standby', leader: schedulers[0]!.instanceId });
    // Requests reach both; only the leader answers, so the answer is always the leader's.
    for (let i = 0; i < 5; i++) {
      const status = await request(service, subjects.scheduler('it').status, SchedulerStatusRequest, { v: SCHEMA_VERSION }, SchedulerStatus, 'status');
      expect(status).toMatchObject({ role: 'leader', leader: schedulers[0]!.instanceId });
    }
  });

  it('has a standby refuse changes with NOT_LEADER once the leader is gone, and take over with its changes', async () => {
    // Plan "ha" on a center nobody runs: no work, only the leadership is at stake.
    const ha = { name: 'ha', subAccounts: [{ center: 'nowhere', id: 'x', password: 'x-password' }], decisionMs: 250 };
    const leaderConn = await connectBus({ servers: url });
    const leader = await Scheduler.start({ nc: leaderConn, pool, plan: ha });
    // The standby decides rarely, so the gap between the lease running out and its take-over is wide enough to ask in.
    const standby = await Scheduler.start({ nc: service, pool, plan: { ...ha, decisionMs: 60_000 } });
    schedulers.push(standby);
    expect(leader.leader).toBe(true);
    expect(standby.leader).toBe(false);
    const haChange = (c: unknown) => request(service, subjects.scheduler('ha').accounts, SchedulerAccountChange, c as never, SchedulerStatus, 'change');
    const ok = await haChange({ v: SCHEMA_VERSION, action: 'add', account: { center: 'nowhere', id: 'y', password: 'y-password' } });
    expect(ok).toMatchObject({ role: 'leader', leader: leader.instanceId });
    expect(standby.status().accounts.map((a) => a.key)).toEqual(['nowhere/x']); // the standby applied nothing

    // The leader dies without handing the lease back (its connection is gone).
    await leaderConn.close();
    await leader.stop();
    let status: SchedulerStatus | undefined;
    await waitFor(
      async () => (status = await request(service, subjects.scheduler('ha').status, SchedulerStatusRequest, { v: SCHEMA_VERSION }, SchedulerStatus, 'status', 300).catch(() => undefined)) !== undefined,
      10_000,
      'the standby answers once the lease ran out',
    );
    expect(status).toMatchObject({ role: 'standby', leader: '' });
    await expect(haChange({ v: SCHEMA_VERSION, action: 'remove', center: 'nowhere', id: 'y' })).rejects.toMatchObject({ code: 'NOT_LEADER' });
    await standby.step();
    expect(standby.leader).toBe(true);
    expect(standby.status().accounts.map((a) => a.key)).toEqual(['nowhere/x', 'nowhere/y']);
  });

  it('replaces a killed node with the standby within two heartbeat intervals of its last heartbeat', async () => {
    await waitFor(() => schedulers[0]!.status().nodes.filter((n) => n.state === 'active').length === 2, 5000, 'two active nodes');
    const active = schedulers[0]!.status().nodes.filter((n) => n.state === 'active').map((n) => n.id);
    expect(active.sort()).toEqual(['node-a', 'node-b']);
    const assigned: { at: number; nodeId: string }[] = [];
    const sub = service.subscribe(subjects.scheduler('it').events, {
      callback: (_, m) => {
        const e = JSON.parse(new TextDecoder().decode(m.data)) as { at: number; kind: string; data?: { nodeId?: string } };
        if (e.kind === 'assign' && e.data?.nodeId === 'node-s') assigned.push({ at: e.at, nodeId: 'node-s' });
      },
    });
    // This process runs the scheduler, the pool and the nodes: timers here fire late by the event loop's delay,
    // so that delay (measured, not guessed) is the tolerance.
    const lag = monitorEventLoopDelay({ resolution: 10 });
    lag.enable();
    const { agent, nc } = agents.get('node-a')!;
    await agent.stop();
    await nc.close();
    const state = (id: string) => schedulers[0]!.status().nodes.find((n) => n.id === id)!.state;
    await waitFor(() => state('node-s') === 'active' && state('node-a') === 'failed' && assigned.length > 0, 10_000, 'standby active');
    // Read only now: a beat sent just before the close may reach the pool after it.
    const lastBeat = pool.get('node-a')!.lastSeen;
    lag.disable();
    sub.unsubscribe();
    const intervals = (assigned[0]!.at - lastBeat) / HEARTBEAT_MS;
    const slack = lag.max / 1e6 / HEARTBEAT_MS;
    expect(intervals, `take-over ${intervals.toFixed(2)} intervals after the last heartbeat (event-loop delay up to ${slack.toFixed(2)} intervals)`).toBeLessThanOrEqual(2 + slack);
    expect(state('node-b')).toBe('active');
  });

  it('refuses a bad plan with a typed error naming the field', async () => {
    await expect(Scheduler.start({ nc: service, pool, plan: { subAccounts: [] } })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: /plan: subAccounts/ });
    await expect(Scheduler.start({ nc: service, pool, plan: { subAccounts: [{ center: 'main', id: 'x', password: 'short' }] } })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: /password/ });
    await expect(Scheduler.start({ nc: service, pool, plan: { ...plan, mode: 'chaotic' } })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: /plan: mode/ });
  });
});
