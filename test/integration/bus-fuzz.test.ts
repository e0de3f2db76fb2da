/**
 * Malformed messages on every subject a service listens on: random bytes,
 * JSON that is not an object, wrong versions, wrong types, oversized
 * payloads. Every request gets a typed error reply, every bad message is
 * counted, nothing crashes, and no state changes.
 */
import fc from 'fast-check';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytesToHex } from '../../src/core/bytes.js';
import { MAX_TARGET, targetToHex } from '../../src/core/target.js';
import { connectBus } from '../../src/bus/connect.js';
import { request } from '../../src/bus/rpc.js';
import type { z } from 'zod';
import { Control, ErrorReply, Exhausted, Heartbeat, NodeDescribe, NodeRegister, SCHEMA_VERSION, WorkAccepted, WorkAssignment } from '../../src/bus/schemas.js';
import { subjects } from '../../src/bus/subjects.js';
import { DemoFeeder } from '../../src/center/demo-feeder.js';
import { NodeAgent } from '../../src/node/agent.js';
import { NodePool } from '../../src/node/pool.js';
import { badPayloads, expectTypedErrorReplies, TYPED_CODES } from '../helpers/fuzz.js';
import { startServer, stopAll, waitFor } from '../helpers/nats.js';

const validWork = {
  v: SCHEMA_VERSION,
  jobId: 'steady',
  owner: 'alice',
  header: '00'.repeat(80),
  nonceStart: 0,
  nonceCount: 2 ** 32,
  shareTarget: targetToHex(MAX_TARGET / 100_000n),
};

describe('fuzzed bus messages', () => {
  let service: NatsConnection;
  let nodeConn: NatsConnection;
  let agent: NodeAgent;
  let pool: NodePool;
  let feeder: DemoFeeder;
  const counted: { subject: string; code: string }[] = [];
  const count = (subject: string, code: string) => counted.push({ subject, code });

  beforeAll(async () => {
    const server = await startServer();
    service = await connectBus({ servers: server.url });
    pool = new NodePool(service, { heartbeatMs: 200, onError: count });
    feeder = await DemoFeeder.start(service, pool, { onError: count, assign: false });
    nodeConn = await connectBus({ servers: server.url });
    agent = await NodeAgent.start({
      nc: nodeConn,
      nodeId: 'fuzzed',
      threads: 1,
      calibrateMs: 0,
      onBusError: count,
    });
    await waitFor(() => pool.get('fuzzed') !== undefined, 10_000, 'registration');
    await request(service, subjects.nodeWork('fuzzed'), WorkAssignment, validWork, WorkAccepted, 'work');
  });

  afterAll(async () => {
    await agent?.stop();
    await feeder?.stop();
    pool?.stop();
    await nodeConn?.close();
    await service?.close();
    await stopAll();
  });

  const requestSubjects: [string, () => string, Record<string, unknown>, z.ZodType][] = [
    ['node work', () => subjects.nodeWork('fuzzed'), validWork, WorkAssignment],
    ['node control', () => subjects.nodeControl('fuzzed'), { v: SCHEMA_VERSION, action: 'pause' }, Control],
    ['node describe', () => subjects.nodeDescribe('fuzzed'), { v: SCHEMA_VERSION }, NodeDescribe],
    [
      'pool registration',
      () => subjects.nodeRegister,
      {
        v: SCHEMA_VERSION,
        nodeId: 'intruder',
        version: '0',
        profile: { hostname: 'h', cpuModel: 'c', cores: 1, memoryBytes: 1, simd: [], gpus: [] },
        backends: [{ backend: 'wasm', lanes: 1, hashrate: 1 }],
      },
      NodeRegister,
    ],
  ];

  it.each(requestSubjects)('%s: every bad request gets a typed error reply and a count; state is unchanged', async (_, subject, valid, schema) => {
    const before = counted.length;
    const sent = await expectTypedErrorReplies(service, subject(), badPayloads(valid, schema), 60, 2000);
    expect(counted.length - before).toBe(sent);
    // Nothing changed: the node still mines its job, no intruder registered.
    expect(agent.state).toBe('mining');
    expect(agent.currentJobId).toBe('steady');
    expect(pool.get('intruder')).toBeUndefined();
  });

  it('published heartbeats and shares: bad ones are counted and dropped, the services stay up', async () => {
    const before = counted.length;
    const rejectedBefore = feeder.rejected.get('malformed') ?? 0;
    const payloads = fc.sample(badPayloads({ v: SCHEMA_VERSION, nodeId: 'fuzzed', seq: 1 }, Heartbeat), 40);
    for (const p of payloads) {
      service.publish(subjects.nodeHeartbeat('fuzzed'), p);
      service.publish(subjects.share('fuzzed'), p);
    }
    await service.flush();
    await waitFor(() => (feeder.rejected.get('malformed') ?? 0) - rejectedBefore >= payloads.length, 10_000, 'malformed shares counted');
    await waitFor(() => counted.filter((c) => c.subject === subjects.nodeHeartbeat('fuzzed')).length >= payloads.length, 5000, 'heartbeats counted');
    expect(counted.length - before).toBeGreaterThanOrEqual(payloads.length * 2);
    // The pool still follows real heartbeats.
    const seen = pool.get('fuzzed')!.lastSeen;
    await waitFor(() => pool.get('fuzzed')!.lastSeen > seen, 2000, 'a real heartbeat');
    expect(pool.get('fuzzed')!.alive).toBe(true);
  });

  it('published Exhausted messages: bad ones are counted and dropped, the node keeps its job', async () => {
    const subject = subjects.nodeExhausted('fuzzed');
    const before = counted.filter((c) => c.subject === subject).length;
    const payloads = fc.sample(badPayloads({ v: SCHEMA_VERSION, nodeId: 'fuzzed', jobId: 'steady' }, Exhausted), 40);
    for (const p of payloads) service.publish(subject, p);
    await service.flush();
    await waitFor(() => counted.filter((c) => c.subject === subject).length - before >= payloads.length, 5000, 'bad Exhausted messages counted');
    expect(counted.filter((c) => c.subject === subject).every((c) => TYPED_CODES.includes(c.code))).toBe(true);
    // The node kept its job through all of it.
    expect(agent.currentJobId).toBe('steady');
  });

  it('still serves valid requests after all that', async () => {
    const ok = await request(service, subjects.nodeWork('fuzzed'), WorkAssignment, { ...validWork, jobId: 'after', header: bytesToHex(new Uint8Array(80).fill(1)) }, WorkAccepted, 'work');
    expect(ok.jobId).toBe('after');
  });
});
