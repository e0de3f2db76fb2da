/**
 * Extranonce2 ranges end to end: the scheduler hands a real node its task's
 * coinbase and a range of extranonce2 values; the node rolls through the
 * range (a small nonce window per header stands in for 2^32 nonces) and asks
 * for more when it is spent; the real center accepts shares of several
 * extranonce2 values, re-verifying each against the reference hash. A
 * restart never hands out a range twice, a share outside its range is
 * refused, counted and never reaches the center, and a bad range size is
 * refused at start.
 */
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectBus } from '../../src/bus/connect.js';
import { decode, encode } from '../../src/bus/codec.js';
import { SCHEMA_VERSION, Share, WorkAssignment } from '../../src/bus/schemas.js';
import { streams, subjects } from '../../src/bus/subjects.js';
import type { DistributionCenter } from '../../src/center/center.js';
import { bytesToHex } from '../../src/core/bytes.js';
import { hashToBigInt, hashToDisplayHex, sha256d } from '../../src/core/sha256d.js';
import { parseTargetHex } from '../../src/core/target.js';
import { NodeAgent } from '../../src/node/agent.js';
import { NodePool } from '../../src/node/pool.js';
import { parseJobId } from '../../src/scheduler/extranonce2.js';
import { Scheduler, type SchedulerOptions } from '../../src/scheduler/scheduler.js';
import { buildHeader, hex32 } from '../../src/stratum/job.js';
import { unreachableStandards } from '../helpers/center.js';
import { stopAll, waitFor } from '../helpers/nats.js';

/** Extranonce2 values an assignment reserves, and nonces a node searches in each header: about one share a header. */
const RANGE = 8;
const WINDOW = 2 ** 16;

type Assignment = WorkAssignment & { coinbase: NonNullable<WorkAssignment['coinbase']> };
const end = (a: Assignment) => a.coinbase.extranonce2Start + a.coinbase.extranonce2Count;
const headerOf = (c: Assignment['coinbase'], extranonce2: number, nonce: number) =>
  buildHeader({ ...c, jobId: 'x', cleanJobs: false }, { extranonce1: c.extranonce1, extranonce2: hex32(extranonce2), ntime: c.ntime, nonce: hex32(nonce) });

/** A share of `a` for `extranonce2`, found with the reference past the node's window (so the node never finds it too). */
function forge(a: Assignment, extranonce2: number): Share {
  const target = parseTargetHex(a.shareTarget);
  // One merkle root for the extranonce2; only the nonce field (little-endian, the last 4 bytes) changes.
  const header = headerOf(a.coinbase, extranonce2, 0);
  const view = new DataView(header.buffer, header.byteOffset, 80);
  for (let nonce = WINDOW; ; nonce++) {
    view.setUint32(76, nonce, true);
    const hash = sha256d(header);
    if (hashToBigInt(hash) <= target) {
      expect(header).toEqual(headerOf(a.coinbase, extranonce2, nonce));
      return { v: SCHEMA_VERSION, nodeId: 'forger', jobId: a.jobId, owner: a.owner, nonce, header: bytesToHex(header), hash: hashToDisplayHex(hash), extranonce2: hex32(extranonce2), foundAt: Date.now() };
    }
  }
}

describe('extranonce2 ranges between the scheduler, a node and the center', () => {
  let grid: Awaited<ReturnType<typeof unreachableStandards>>;
  let nc: NatsConnection;
  let center: DistributionCenter;
  let pool: NodePool;
  let nodeConn: NatsConnection;
  let agent: NodeAgent;
  let schedulerConn: NatsConnection;
  let scheduler: Scheduler;
  const assignments: Assignment[] = [];
  const shares: Share[] = [];
  const busErrors: string[] = [];
  const plan = { name: 'en2', subAccounts: [{ center: 'main', id: 'alice', password: 'alice-secret' }], decisionMs: 250 };
  const options = (conn: NatsConnection): SchedulerOptions => ({ nc: conn, pool, plan, extranonce2Range: RANGE, nonceCount: WINDOW, onError: (_, code) => void busErrors.push(code) });

  // Shares a crashed scheduler held unacknowledged come back after the consumer's ack wait (30 s).
  const drained = async () => {
    const jsm = await jetstreamManager(nc);
    await waitFor(async () => {
      const c = await jsm.consumers.info(streams.shares.name, 'scheduler-en2');
      return c.num_pending === 0 && c.num_ack_pending === 0;
    }, 45_000, 'every stored share forwarded');
  };
  const rejectedByCenter = () => Object.values(center.stats.rejected).reduce((a, b) => a + b, 0);

  beforeAll(async () => {
    grid = await unreachableStandards();
    ({ nc, center } = grid);
    // A second subscriber on the node's subjects sees its work and its shares (only the node replies to work).
    nc.subscribe(subjects.nodeWork('n1'), { callback: (_, m) => void assignments.push(decode(WorkAssignment, m.data, 'WorkAssignment') as Assignment) });
    nc.subscribe(subjects.share('n1'), { callback: (_, m) => void shares.push(decode(Share, m.data, 'Share')) });
    pool = new NodePool(nc, { heartbeatMs: 500 });
    nodeConn = await connectBus({ servers: grid.server.url });
    agent = await NodeAgent.start({ nc: nodeConn, nodeId: 'n1', threads: 1, calibrateMs: 200 });
    await waitFor(() => pool.nodes().length === 1, 10_000, 'the node registered');
    schedulerConn = await connectBus({ servers: grid.server.url });
    scheduler = await Scheduler.start(options(schedulerConn));
  });

  afterAll(async () => {
    await scheduler?.stop();
    await agent?.stop();
    await nodeConn?.close();
    await schedulerConn?.close();
    pool?.stop();
    await grid?.close();
    await stopAll();
  });

  it('sends a coinbase with a range; the node rolls through it and gets the next, and the center accepts shares of several extranonce2 values', async () => {
    const within = (jobId: string) => new Set(shares.filter((s) => s.jobId === jobId).map((s) => s.extranonce2));
    await waitFor(() => assignments.length >= 3 && assignments.some((a) => within(a.jobId).size >= 3), 30_000, 'three ranges, one with shares of three extranonce2 values');
    const seen = shares.length;

    for (const a of assignments) {
      expect(a.coinbase.extranonce2Count).toBe(RANGE);
      expect(a.nonceCount).toBe(WINDOW);
      // The header is the one of the range's first extranonce2 (the node refuses any other).
      expect(a.header).toBe(bytesToHex(headerOf(a.coinbase, a.coinbase.extranonce2Start, 0)));
      expect(parseJobId(a.jobId)).toMatchObject({ center: 'main', id: 'alice', extranonce2Start: hex32(a.coinbase.extranonce2Start), extranonce2Count: RANGE });
    }
    // Each new range follows the last: a spent range brought new work, and no two overlap.
    for (let i = 1; i < assignments.length; i++) expect(assignments[i]!.coinbase.extranonce2Start).toBeGreaterThanOrEqual(end(assignments[i - 1]!));
    // Every share names an extranonce2 of its own assignment's range, and its header is that extranonce2's.
    const byJob = new Map(assignments.map((a) => [a.jobId, a]));
    for (const s of shares.slice(0, seen)) {
      const a = byJob.get(s.jobId)!;
      const en2 = parseInt(s.extranonce2!, 16);
      expect(en2).toBeGreaterThanOrEqual(a.coinbase.extranonce2Start);
      expect(en2).toBeLessThan(end(a));
      expect(s.header).toBe(bytesToHex(headerOf(a.coinbase, en2, s.nonce)));
    }
    expect(new Set(shares.slice(0, seen).map((s) => s.extranonce2)).size).toBeGreaterThanOrEqual(3);

    // The center re-verified every forwarded share against the reference hash and accepted each.
    await waitFor(() => scheduler.forwarded.accepted >= seen, 20_000, `${seen} shares forwarded`);
    expect(scheduler.forwarded.rejected).toBe(0);
    expect(rejectedByCenter()).toBe(0);
    expect(center.info('alice').acceptedShares).toBeGreaterThanOrEqual(seen);
  });

  it('never hands out a range reserved before a crash, and forwards the older assignments\' shares after it', async () => {
    // The scheduler dies without a word (its connection is gone): what it saved is all its successor has.
    await schedulerConn.close();
    await scheduler.stop();
    const before = assignments.length;
    const reserved = Math.max(...assignments.map(end));
    // A share of the dead scheduler's last work, stored while no scheduler runs: only the successor can forward it.
    await jetstream(nc).publish(subjects.share('forger'), encode(Share, forge(assignments.at(-1)!, assignments.at(-1)!.coinbase.extranonce2Start + 1)));
    scheduler = await Scheduler.start(options(nc));
    await waitFor(() => scheduler.leader, 10_000, 'the successor leads');
    await waitFor(() => assignments.length >= before + 3, 30_000, 'three ranges after the restart');

    const after = assignments.slice(before);
    // Saved before sent: every range the dead scheduler gave out lies below its saved counter, so the successor's start above it.
    expect(Math.min(...after.map((a) => a.coinbase.extranonce2Start))).toBeGreaterThanOrEqual(reserved);
    const sorted = [...assignments].sort((a, b) => a.coinbase.extranonce2Start - b.coinbase.extranonce2Start);
    for (let i = 1; i < sorted.length; i++) expect(sorted[i]!.coinbase.extranonce2Start).toBeGreaterThanOrEqual(end(sorted[i - 1]!));

    // Every share stored reached the center and was accepted, the one of old work included; a share the dead
    // scheduler had forwarded but not acknowledged comes back and may be refused as a duplicate, and nothing else.
    await agent.stop();
    await drained();
    const jsm = await jetstreamManager(nc);
    const stored = (await jsm.streams.info(streams.shares.name)).state.messages;
    const { duplicate = 0, ...otherwise } = center.stats.rejected;
    expect(Object.values(otherwise).reduce((a, b) => a + b, 0)).toBe(0);
    expect(center.stats.accepted + duplicate).toBe(stored);
    expect(scheduler.forwarded.accepted).toBeGreaterThan(0);
  });

  it('refuses a share whose extranonce2 lies outside its assignment\'s range, counts it, and never sends it to the center', async () => {
    const a = assignments.at(-1)!;
    const js = jetstream(nc);
    const accepted = center.stats.accepted;
    const rejected = rejectedByCenter();

    // A good share (proof of work the center would take) but for an extranonce2 past the range's end.
    await js.publish(subjects.share('forger'), encode(Share, forge(a, end(a))));
    await waitFor(() => scheduler.forwarded.refused.EXTRANONCE2_OUT_OF_RANGE === 1, 10_000, 'the share refused');
    await drained();
    expect(busErrors).toContain('EXTRANONCE2_OUT_OF_RANGE');
    expect(center.stats.accepted).toBe(accepted);
    expect(rejectedByCenter()).toBe(rejected);

    // The same, inside the range: forwarded and accepted. Only the range kept the other out.
    await js.publish(subjects.share('forger'), encode(Share, forge(a, a.coinbase.extranonce2Start + 2)));
    await waitFor(() => center.stats.accepted === accepted + 1, 10_000, 'the in-range share accepted');
    expect(scheduler.forwarded.refused).toEqual({ EXTRANONCE2_OUT_OF_RANGE: 1 });
    expect(scheduler.status().forwarded.refused).toEqual({ EXTRANONCE2_OUT_OF_RANGE: 1 });
  });

  it('refuses a range or nonce window that is no whole number of values, before it connects anywhere', async () => {
    for (const extranonce2Range of [0, 1.5, -256]) {
      await expect(Scheduler.start({ ...options(nc), extranonce2Range })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: /extranonce2Range/ });
    }
    for (const nonceCount of [0, 2 ** 32 + 1]) {
      await expect(Scheduler.start({ ...options(nc), nonceCount })).rejects.toMatchObject({ code: 'INVALID_NONCE_RANGE', message: /nonceCount/ });
    }
  });
});
