/**
 * Malformed messages on every distribution-center subject: random bytes,
 * JSON that is not an object, wrong versions, wrong types, missing fields,
 * oversized payloads. Every request gets a typed error reply and a count,
 * the center stays up, and its sub-accounts and counters do not change.
 * Junk stored on the center's JetStream subject is skipped on replay.
 */
import fc from 'fast-check';
import type { NatsConnection } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import type { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectBus } from '../../src/bus/connect.js';
import { request } from '../../src/bus/rpc.js';
import {
  AcceptedShareBatch,
  Authenticate,
  CenterStatsRequest,
  SCHEMA_VERSION,
  StandardQuery,
  SubAccountAdd,
  SubAccountList,
  SubAccountListRequest,
  SubAccountSetStandard,
  TaskRequest,
  TaskResult,
} from '../../src/bus/schemas.js';
import { subjects } from '../../src/bus/subjects.js';
import { BuiltinChain } from '../../src/center/chain.js';
import { DistributionCenter } from '../../src/center/center.js';
import { deliverShares } from '../helpers/center.js';
import { badPayloads, expectTypedErrorReplies } from '../helpers/fuzz.js';
import { startServer, stopAll } from '../helpers/nats.js';

const CID = 'fuzz';
const s = subjects.center(CID);

describe('fuzzed center bus messages', () => {
  let nc: NatsConnection;
  let chain: BuiltinChain;
  let center: DistributionCenter;
  let token: string;
  const counted: { subject: string; code: string }[] = [];

  const start = () =>
    DistributionCenter.start({
      centerId: CID,
      nc,
      source: chain,
      initialDifficulty: 2 ** -20,
      subAccounts: [{ id: 'alice', password: 'alice-secret', standard: 1, windowSeconds: 60 }],
      onError: (subject, code) => counted.push({ subject, code }),
    });

  /** Everything a bad message must not change. */
  const snapshot = async () => {
    const list = await request(nc, s.list, SubAccountListRequest, { v: SCHEMA_VERSION }, SubAccountList, 'list');
    return {
      accounts: list.subAccounts.map((a) => [a.id, a.standard, a.windowSeconds, a.acceptedShares, a.accumulatedHashes]),
      stats: JSON.stringify(center.stats),
    };
  };

  beforeAll(async () => {
    const server = await startServer();
    nc = await connectBus({ servers: server.url });
    chain = new BuiltinChain({ difficulty: 1, refreshMs: 0 });
    center = await start();
    ({ token } = await deliverShares(nc, CID, 'alice', 'alice-secret', 2));
  });

  afterAll(async () => {
    await center?.close();
    chain?.close();
    await nc?.close();
    await stopAll();
  });

  const cases: [string, string, () => Record<string, unknown>, z.ZodType][] = [
    ['subaccounts.list', s.list, () => ({ v: SCHEMA_VERSION }), SubAccountListRequest],
    ['subaccounts.add', s.add, () => ({ v: SCHEMA_VERSION, id: 'mallory', password: 'mallory-pass', standard: 1, windowSeconds: 60 }), SubAccountAdd],
    ['subaccounts.standard', s.setStandard, () => ({ v: SCHEMA_VERSION, id: 'alice', standard: 7, windowSeconds: 60 }), SubAccountSetStandard],
    ['authenticate', s.authenticate, () => ({ v: SCHEMA_VERSION, subAccount: 'alice', password: 'alice-secret' }), Authenticate],
    ['task', s.task, () => ({ v: SCHEMA_VERSION, token }), TaskRequest],
    ['result', s.result, () => ({ v: SCHEMA_VERSION, token, jobId: '1.0', extranonce2: '00000000', ntime: '00000000', nonce: '00000000' }), TaskResult],
    ['standard', s.standard, () => ({ v: SCHEMA_VERSION, subAccount: 'alice' }), StandardQuery],
    ['stats', s.stats, () => ({ v: SCHEMA_VERSION }), CenterStatsRequest],
  ];

  it.each(cases)('%s: every bad request gets a typed error reply and a count; nothing changes', async (_, subject, valid, schema) => {
    const before = await snapshot();
    const countedBefore = counted.length;
    const sent = await expectTypedErrorReplies(nc, subject, badPayloads(valid(), schema), 40);
    expect(counted.length - countedBefore).toBe(sent);
    expect(counted.slice(countedBefore).every((c) => c.subject === subject)).toBe(true);
    expect(await snapshot()).toEqual(before);
  });

  it('skips junk stored on its JetStream subject when it restarts, and keeps every real share', async () => {
    const js = jetstream(nc);
    for (const junk of fc.sample(badPayloads({ v: SCHEMA_VERSION, centerId: CID, shares: [] }, AcceptedShareBatch), 10)) await js.publish(s.accepted, junk);
    const before = center.info('alice').acceptedShares;
    await center.close();
    center = await start();
    expect(center.malformedReplayed).toBe(10);
    expect(center.info('alice').acceptedShares).toBe(before);
  });
});
