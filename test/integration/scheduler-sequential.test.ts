/**
 * `mode: sequential` on the bus with real nodes and a real center: the
 * servers work for one sub-account at a time, in priority order, moving on
 * when the center reports it up to standard; once all are, they keep
 * working for them (the maintenance share) instead of going idle and letting
 * every account fall back and the loop start over.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { connectBus } from '../../src/bus/connect.js';
import { subjects } from '../../src/bus/subjects.js';
import { BuiltinChain } from '../../src/center/chain.js';
import { DistributionCenter } from '../../src/center/center.js';
import { NodeAgent } from '../../src/node/agent.js';
import { NodePool } from '../../src/node/pool.js';
import { Scheduler } from '../../src/scheduler/scheduler.js';
import { startServer, stopAll, waitFor } from '../helpers/nats.js';

afterAll(() => stopAll());

describe('sequential mode on the bus', () => {
  it('brings sub-accounts up one after another in priority order, then keeps them all up', async () => {
    const server = await startServer();
    const nc = await connectBus({ servers: server.url });
    const chain = new BuiltinChain({ difficulty: 1, refreshMs: 0 });
    // Short windows: an account left without work would fall below its standard within seconds.
    const accounts = [
      { id: 'carol', password: 'carol-secret', standard: 60_000, windowSeconds: 8 },
      { id: 'alice', password: 'alice-secret', standard: 100_000, windowSeconds: 8 },
      { id: 'bob', password: 'bob-secret-1', standard: 80_000, windowSeconds: 8 },
    ];
    const center = await DistributionCenter.start({ nc, source: chain, subAccounts: accounts, initialDifficulty: 2 ** -16 });
    const pool = new NodePool(nc, { heartbeatMs: 500 });
    const nodes: { agent: NodeAgent; conn: Awaited<ReturnType<typeof connectBus>> }[] = [];
    for (const nodeId of ['s1', 's2']) {
      const conn = await connectBus({ servers: server.url });
      nodes.push({ agent: await NodeAgent.start({ nc: conn, nodeId, threads: 1, calibrateMs: 200 }), conn });
    }
    await waitFor(() => pool.nodes().length === 2, 10_000, 'two nodes registered');
    const events: { kind: string; reason: string; data?: { account?: string; to?: string; from?: string } }[] = [];
    const sub = nc.subscribe(subjects.scheduler('seq').events, { callback: (_, m) => void events.push(JSON.parse(new TextDecoder().decode(m.data))) });
    // Priorities, not file order, set the sequence: alice, bob, carol.
    const plan = {
      name: 'seq',
      mode: 'sequential',
      decisionMs: 250,
      sliceMs: 1000,
      subAccounts: [
        { center: 'main', id: 'carol', password: 'carol-secret', priority: 3 },
        { center: 'main', id: 'alice', password: 'alice-secret', priority: 1 },
        { center: 'main', id: 'bob', password: 'bob-secret-1', priority: 2 },
      ],
    };
    const scheduler = await Scheduler.start({ nc, pool, plan });
    const up = () => scheduler.status().accounts.filter((a) => a.state === 'up-to-standard').length;
    await waitFor(() => up() === 3, 90_000, 'every sub-account up to standard');
    // The events travel over the bus: the last one may land just after the status says so.
    const reached = () => events.filter((e) => e.kind === 'sub-account' && e.data?.to === 'up-to-standard').length;
    await waitFor(() => reached() >= 3, 5000, 'the third up-to-standard event');
    const reachedOrder = events.filter((e) => e.kind === 'sub-account' && e.data?.to === 'up-to-standard').map((e) => e.data!.account);
    expect([...new Set(reachedOrder)]).toEqual(['main/alice', 'main/bob', 'main/carol']);
    // Each plan worked for the first one behind (claim 1), in order.
    const focus = events.filter((e) => e.kind === 'plan').map((e) => /^sequential: (\S+) is not up to standard/.exec(e.reason)?.[1]).filter((k) => k !== undefined);
    expect([...new Set(focus)]).toEqual(['main/alice', 'main/bob', 'main/carol']);

    // All up: the servers keep working (the plan is not empty) and no account falls back for a whole window.
    expect(scheduler.status().nodes.filter((n) => n.state === 'active').map((n) => n.id).sort()).toEqual(['s1', 's2']);
    const allUpAt = events.length;
    await new Promise((r) => setTimeout(r, 9000));
    const fellBack = events.slice(allUpAt).filter((e) => e.kind === 'sub-account' && e.data?.from === 'up-to-standard');
    expect(fellBack.map((e) => e.reason)).toEqual([]);
    expect(accounts.every((a) => center.info(a.id).upToStandard)).toBe(true);

    sub.unsubscribe();
    await scheduler.stop();
    for (const n of nodes) {
      await n.agent.stop();
      await n.conn.close();
    }
    pool.stop();
    await center.close();
    chain.close();
    await nc.close();
  }, 150_000);
});
