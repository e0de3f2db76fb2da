/**
 * The scheduler working for a Stratum V1 pool (no NATS on the pool's side):
 * it authorizes over Stratum, turns the pool's jobs into node work, submits
 * the nodes' shares, and measures the sub-account's delivered hashrate itself.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { connectBus } from '../../src/bus/connect.js';
import { BuiltinChain } from '../../src/center/chain.js';
import { DistributionCenter } from '../../src/center/center.js';
import { NodeAgent } from '../../src/node/agent.js';
import { NodePool } from '../../src/node/pool.js';
import { Scheduler } from '../../src/scheduler/scheduler.js';
import { StratumServer } from '../../src/stratum/server.js';
import { startServer, stopAll, waitFor } from '../helpers/nats.js';

describe('the scheduler and a Stratum V1 pool', () => {
  const cleanups: (() => unknown)[] = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
    await stopAll();
  });

  it('brings a pool sub-account to its standard through the Stratum client', async () => {
    // "Some pool": a hashgrid center reachable only over Stratum.
    const chain = new BuiltinChain({ difficulty: 1, refreshMs: 0 });
    const pool = await DistributionCenter.start({ centerId: 'elsewhere', source: chain, initialDifficulty: 2 ** -16, subAccounts: [{ id: 'dave', password: 'dave-secret', standard: 1 }] });
    const stratum = new StratumServer(pool, { allocateExtranonce1: pool.allocateExtranonce1 });
    const { port } = await stratum.listen();
    cleanups.push(() => chain.close(), () => pool.close(), () => stratum.close());

    const server = await startServer();
    const nc = await connectBus({ servers: server.url });
    const nodes = new NodePool(nc, { heartbeatMs: 250 });
    const agentConn = await connectBus({ servers: server.url });
    const agent = await NodeAgent.start({ nc: agentConn, nodeId: 'n1', threads: 1, calibrateMs: 200 });
    cleanups.push(() => nc.close(), () => nodes.stop(), () => agentConn.close(), () => agent.stop());
    await waitFor(() => nodes.nodes().length === 1, 10_000, 'the node');

    const scheduler = await Scheduler.start({
      nc,
      pool: nodes,
      plan: { name: 'pool', subAccounts: [{ pool: { host: '127.0.0.1', port }, id: 'dave', worker: 'dave.grid', password: 'dave-secret', standard: 200_000, windowSeconds: 60 }], decisionMs: 250 },
    });
    cleanups.push(() => scheduler.stop());
    await waitFor(() => scheduler.status().accounts[0]!.state === 'up-to-standard', 30_000, 'the pool sub-account up to standard');
    const [account] = scheduler.status().accounts;
    expect(account!.key).toBe(`127.0.0.1:${port}/dave`);
    expect(account!.delivered).toBeGreaterThan(200_000);
    // The pool drops the connection: the scheduler connects and authorizes again, and the pool credits new shares.
    const sessions = stratum.sessions().length;
    expect(sessions).toBe(1);
    for (const session of stratum.sessions()) session.close('dropped by the test');
    const atDrop = pool.info('dave').acceptedShares;
    await waitFor(() => stratum.sessions().length === 1 && pool.info('dave').acceptedShares > atDrop + 5, 15_000, 'shares accepted again after the pool dropped the connection');
    // Once the node stops and the last submits land, the pool credited exactly the shares the scheduler saw accepted.
    await agent.stop();
    await waitFor(() => pool.info('dave').acceptedShares === scheduler.forwarded.accepted, 5000, 'the last submits');
    expect(scheduler.forwarded.accepted).toBeGreaterThan(0);
  });
});
