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
    // Once the node stops and the last submits land, the pool credited exactly the shares the scheduler saw accepted.
    await agent.stop();
    await waitFor(() => pool.info('dave').acceptedShares === scheduler.forwarded.accepted, 5000, 'the last submits');
    expect(scheduler.forwarded.accepted).toBeGreaterThan(0);
  });
});
