/**
 * Load tiers on the bus: two real centers compete for one pool. The one
 * whose sub-account is served (measured demand 0) is light and lends the
 * part of its reservation it does not need; the one still behind is heavy
 * and gets it. The reservations are in the status the scheduler answers.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { connectBus } from '../../src/bus/connect.js';
import { request } from '../../src/bus/rpc.js';
import { SCHEMA_VERSION, SchedulerStatus, SchedulerStatusRequest } from '../../src/bus/schemas.js';
import { subjects } from '../../src/bus/subjects.js';
import { BuiltinChain } from '../../src/center/chain.js';
import { DistributionCenter } from '../../src/center/center.js';
import { NodeAgent } from '../../src/node/agent.js';
import { NodePool } from '../../src/node/pool.js';
import { Scheduler } from '../../src/scheduler/scheduler.js';
import { startServer, stopAll, waitFor } from '../helpers/nats.js';

afterAll(() => stopAll());

describe('load tiers', () => {
  it('reserves capacity per tier from measured demand, and lends what a satisfied center does not need', async () => {
    const server = await startServer();
    const nc = await connectBus({ servers: server.url });
    const chain = new BuiltinChain({ difficulty: 1, refreshMs: 0 });
    const big = await DistributionCenter.start({ nc, centerId: 'big', source: chain, subAccounts: [{ id: 'b', password: 'b-password', standard: 1e9, windowSeconds: 600 }], initialDifficulty: 2 ** -16 });
    const small = await DistributionCenter.start({ nc, centerId: 'small', source: chain, subAccounts: [{ id: 's', password: 's-password', standard: 20_000, windowSeconds: 20 }], initialDifficulty: 2 ** -16 });
    const pool = new NodePool(nc, { heartbeatMs: 500 });
    const nodeConn = await connectBus({ servers: server.url });
    const agent = await NodeAgent.start({ nc: nodeConn, nodeId: 't1', threads: 1, calibrateMs: 200 });
    await waitFor(() => pool.nodes().length === 1, 10_000, 'the node registered');
    const scheduler = await Scheduler.start({
      nc,
      pool,
      plan: { name: 'tiers', decisionMs: 250, sliceMs: 1000, subAccounts: [{ center: 'big', id: 'b', password: 'b-password' }, { center: 'small', id: 's', password: 's-password' }] },
    });
    await waitFor(() => small.info('s').upToStandard, 60_000, 'the small center satisfied');
    let status: SchedulerStatus | undefined;
    await waitFor(async () => {
      status = await request(nc, subjects.scheduler('tiers').status, SchedulerStatusRequest, { v: SCHEMA_VERSION }, SchedulerStatus, 'status');
      return status.reservations.small?.tier === 'light' && status.accounts.find((a) => a.key === 'small/s')?.state === 'up-to-standard';
    }, 10_000, 'the satisfied center ranked light, and up to standard in the scheduler\'s view');
    const r = status!.reservations;
    expect(status!.tiers).toEqual({ big: 'heavy', small: 'light' });
    expect(r.small!.demand).toBe(0);
    expect(r.big!.demand).toBeGreaterThan(0);
    // Reserved by tier (50 : 15 of the capacity), the small one keeps what keeps it up and lends the rest.
    expect(r.big!.reserved / r.small!.reserved).toBeCloseTo(0.5 / 0.15, 6);
    expect(r.small!.allotted).toBeCloseTo(20_000 * 1.1, 3);
    expect(r.small!.lent).toBeCloseTo(r.small!.reserved - 20_000 * 1.1, 3);
    expect(r.big!.allotted).toBeCloseTo(r.big!.reserved + r.small!.lent, 3);

    await scheduler.stop();
    await agent.stop();
    await nodeConn.close();
    pool.stop();
    await big.close();
    await small.close();
    chain.close();
    await nc.close();
  }, 90_000);
});
