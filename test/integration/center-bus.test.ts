/**
 * The distribution center over NATS, as the scheduler uses it (claims 1–3):
 * authenticate → task → task results → accumulated capability → up to
 * standard, with typed errors for everything out of order.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectBus } from '../../src/bus/connect.js';
import { decode } from '../../src/bus/codec.js';
import { request } from '../../src/bus/rpc.js';
import {
  Authenticate,
  Authenticated,
  JobChanged,
  SCHEMA_VERSION,
  StandardChanged,
  StandardQuery,
  SubAccountAdd,
  SubAccountList,
  SubAccountListRequest,
  SubAccountReply,
  SubAccountSetStandard,
  Task,
  TaskRequest,
  TaskResult,
  TaskResultAck,
} from '../../src/bus/schemas.js';
import { subjects } from '../../src/bus/subjects.js';
import { BuiltinChain } from '../../src/center/chain.js';
import { DistributionCenter } from '../../src/center/center.js';
import { deliverShares } from '../helpers/center.js';
import { startServer, stopAll, waitFor } from '../helpers/nats.js';

const s = subjects.center('test');

describe('the center on the bus', () => {
  let nc: NatsConnection;
  let chain: BuiltinChain;
  let center: DistributionCenter;
  const events: unknown[] = [];

  beforeAll(async () => {
    const server = await startServer();
    nc = await connectBus({ servers: server.url });
    chain = new BuiltinChain({ difficulty: 1, refreshMs: 0 });
    center = await DistributionCenter.start({
      centerId: 'test',
      nc,
      source: chain,
      initialDifficulty: 2 ** -20,
      subAccounts: [{ id: 'alice', password: 'alice-secret', standard: 1, windowSeconds: 60 }],
    });
    nc.subscribe(s.standardChanged, {
      callback: (_, m) => {
        events.push(decode(StandardChanged, m.data, 'StandardChanged'));
      },
    });
  });

  afterAll(async () => {
    await center?.close();
    chain?.close();
    await nc?.close();
    await stopAll();
  });

  const authenticate = (subAccount: string, password: string) =>
    request(nc, s.authenticate, Authenticate, { v: SCHEMA_VERSION, subAccount, password }, Authenticated, 'Authenticate');

  it('refuses tasks before authentication, and wrong credentials', async () => {
    await expect(request(nc, s.task, TaskRequest, { v: SCHEMA_VERSION, token: 'made-up' }, Task, 'TaskRequest')).rejects.toMatchObject({ code: 'STRATUM' });
    await expect(authenticate('alice', 'wrong-password')).rejects.toMatchObject({ code: 'STRATUM', message: /unauthorized/ });
    await expect(authenticate('nobody', 'whatever-pass')).rejects.toMatchObject({ code: 'STRATUM' });
  });

  it('gives a task after authentication, accepts its results, and reports the accumulated capability', async () => {
    const { task, acks } = await deliverShares(nc, 'test', 'alice', 'alice-secret', 5);
    expect(task.subAccount).toBe('alice');
    expect(acks.every((a) => a.accepted)).toBe(true);
    const { info } = await request(nc, s.standard, StandardQuery, { v: SCHEMA_VERSION, subAccount: 'alice' }, SubAccountReply, 'StandardQuery');
    expect(info.acceptedShares).toBe(5);
    expect(info.accumulatedHashes).toBe(5 * 2 ** -20 * 2 ** 32);
    expect(Object.keys(info.delivered)).toEqual(expect.arrayContaining(['1m', '10m', '1h', '24h']));
    // A standard of 1 H/s is met: the decision is published as an event.
    await waitFor(() => events.length > 0, 5000, 'a StandardChanged event');
    expect(events[0]).toMatchObject({ centerId: 'test', subAccount: 'alice', upToStandard: true });
  });

  it('announces a new block to bus clients, whose older tasks are then stale', async () => {
    const { task, token } = await deliverShares(nc, 'test', 'alice', 'alice-secret', 1);
    const announced = new Promise<unknown>((resolve) => {
      const sub = nc.subscribe(s.jobChanged, {
        callback: (_, m) => {
          sub.unsubscribe();
          resolve(decode(JobChanged, m.data, 'JobChanged'));
        },
      });
    });
    await nc.flush();
    const height = chain.height;
    chain.submitBlock(new Uint8Array(80));
    expect(await announced).toMatchObject({ centerId: 'test', height: height + 2, clean: true });
    const stale = { v: SCHEMA_VERSION, token, jobId: task.jobId, extranonce2: 'ffffffff', ntime: task.ntime, nonce: '00000000' };
    await expect(request(nc, s.result, TaskResult, stale, TaskResultAck, 'TaskResult')).rejects.toMatchObject({ code: 'STRATUM', message: /stale/ });
  });

  it('adds sub-accounts and changes standards at run time; refuses bad requests without changing anything', async () => {
    const added = await request(nc, s.add, SubAccountAdd, { v: SCHEMA_VERSION, id: 'dave', password: 'dave-secret', standard: 5e6, windowSeconds: 600 }, SubAccountReply, 'add');
    expect(added.info).toMatchObject({ id: 'dave', standard: 5e6, upToStandard: false });
    await expect(request(nc, s.add, SubAccountAdd, { v: SCHEMA_VERSION, id: 'dave', password: 'other-secret', standard: 1, windowSeconds: 60 }, SubAccountReply, 'add')).rejects.toMatchObject({ code: 'SUBACCOUNT' });
    const changed = await request(nc, s.setStandard, SubAccountSetStandard, { v: SCHEMA_VERSION, id: 'dave', standard: 1e6 }, SubAccountReply, 'set');
    expect(changed.info.standard).toBe(1e6);
    await expect(request(nc, s.setStandard, SubAccountSetStandard, { v: SCHEMA_VERSION, id: 'nobody', standard: 1 }, SubAccountReply, 'set')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const bad = await nc.request(s.setStandard, new TextEncoder().encode('{"v":1,"id":"dave","standard":-5}'));
    expect(JSON.parse(new TextDecoder().decode(bad.data)).error.code).toBe('INVALID_MESSAGE');
    const list = await request(nc, s.list, SubAccountListRequest, { v: SCHEMA_VERSION }, SubAccountList, 'list');
    expect(list.subAccounts.map((a) => [a.id, a.standard])).toEqual([
      ['alice', 1],
      ['dave', 1e6],
    ]);
  });
});
