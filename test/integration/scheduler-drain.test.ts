/**
 * Switching drains in-flight shares first: a node time-sliced between two
 * sub-accounts switches every few hundred milliseconds, each switch counting
 * only once the old owner's shares were forwarded; then the sub-account that
 * owns a backlog of shares is removed, and still every share the node stored
 * reaches the center and is accounted once — none is dropped because its
 * owner is no longer in the plan.
 */
import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, describe, expect, it } from 'vitest';
import { connectBus } from '../../src/bus/connect.js';
import { request } from '../../src/bus/rpc.js';
import { SCHEMA_VERSION, SchedulerAccountChange, SchedulerStatus } from '../../src/bus/schemas.js';
import { streams, subjects } from '../../src/bus/subjects.js';
import { NodeAgent } from '../../src/node/agent.js';
import { NodePool } from '../../src/node/pool.js';
import { Scheduler } from '../../src/scheduler/scheduler.js';
import { unreachableStandards } from '../helpers/center.js';
import { stopAll, waitFor } from '../helpers/nats.js';

afterAll(() => stopAll());

describe('switching sub-accounts', () => {
  it('loses no share at a switch, nor when the old owner is removed', async () => {
    // Standards out of reach: the work never stops.
    const { server, nc, accounts, center, close } = await unreachableStandards();
    const pool = new NodePool(nc, { heartbeatMs: 500 });
    const nodeConn = await connectBus({ servers: server.url });
    const agent = await NodeAgent.start({ nc: nodeConn, nodeId: 'n1', threads: 1, calibrateMs: 200 });
    await waitFor(() => pool.nodes().length === 1, 10_000, 'the node registered');
    const events: { kind: string; data?: { drained?: boolean; account?: string } }[] = [];
    const sub = nc.subscribe(subjects.scheduler('drain').events, { callback: (_, m) => void events.push(JSON.parse(new TextDecoder().decode(m.data))) });
    const plan = { name: 'drain', subAccounts: accounts.map((a) => ({ center: 'main', id: a.id, password: a.password })), decisionMs: 300, sliceMs: 500 };
    const schedulerConn = await connectBus({ servers: server.url });
    const first = await Scheduler.start({ nc: schedulerConn, pool, plan });
    const switched = () => events.filter((e) => e.kind === 'switched');
    await waitFor(() => switched().length >= 4, 30_000, 'four switches');
    expect(switched().every((e) => e.data?.drained === true)).toBe(true);

    // The scheduler dies (its connection is gone): the node keeps hashing its last assignment, its shares wait in the stream.
    await schedulerConn.close();
    await first.stop();
    // The node's last assignment from the dead scheduler names the backlog's owner.
    const owner = String(events.filter((e) => e.kind === 'assign').at(-1)!.data!.account).split('/')[1]!;
    // Its successor leads once the lease runs out; the backlog it saw before that comes back a second after it let it go.
    const second = await Scheduler.start({ nc, pool, plan });
    await waitFor(() => second.leader, 10_000, 'the successor leads');
    // Remove the owner of that backlog at once: its shares are still its center's.
    await request(nc, subjects.scheduler('drain').accounts, SchedulerAccountChange, { v: SCHEMA_VERSION, action: 'remove', center: 'main', id: owner }, SchedulerStatus, 'change');
    const atRemoval = center.info(owner).acceptedShares;
    await new Promise((r) => setTimeout(r, 1500));
    await agent.stop();
    await nodeConn.close();

    const jsm = await jetstreamManager(nc);
    await waitFor(async () => {
      const c = await jsm.consumers.info(streams.shares.name, 'scheduler-drain');
      return c.num_pending === 0 && c.num_ack_pending === 0;
    }, 30_000, 'every share forwarded');
    const stored = (await jsm.streams.info(streams.shares.name)).state.messages;
    const rejected = Object.values(center.stats.rejected).reduce((a, b) => a + b, 0);
    expect(stored).toBeGreaterThan(20);
    // Every stored share reached the center; none went stale or was dropped by the scheduler. Delivery is at
    // least once: a share redelivered across the fail-over reaches the center twice and is refused as a duplicate.
    const duplicates = center.stats.rejected.duplicate ?? 0;
    expect(center.stats.accepted + rejected - duplicates).toBe(stored);
    expect(center.stats.rejected.stale ?? 0).toBe(0);
    // The removed sub-account was credited with the backlog forwarded after its removal.
    expect(center.info(owner).acceptedShares).toBeGreaterThan(atRemoval);

    sub.unsubscribe();
    await second.stop();
    pool.stop();
    await close();
  });
});
