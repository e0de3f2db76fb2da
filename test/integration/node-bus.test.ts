/**
 * A hashing node on a real nats-server: registration, discovery, work,
 * shares verified on the reference, preemption, pause/resume, permissions.
 */
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Svcm } from '@nats-io/services';
import type { NatsConnection } from '@nats-io/transport-node';
import { createUser } from '@nats-io/nkeys';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytesToHex, hexToBytes } from '../../src/core/bytes.js';
import { encodeHeader } from '../../src/core/header.js';
import { buildHeader } from '../../src/stratum/job.js';
import { hashToDisplayHex, meetsTarget, sha256d } from '../../src/core/sha256d.js';
import { MAX_TARGET, targetToHex } from '../../src/core/target.js';
import { authorizationBlock, nodeInboxPrefix, randomPassword } from '../../src/bus/auth.js';
import { decode } from '../../src/bus/codec.js';
import { connectBus } from '../../src/bus/connect.js';
import { request } from '../../src/bus/rpc.js';
import { Control, ControlDone, NodeDescribe, NodeRegister, SCHEMA_VERSION, Share, WorkAccepted, WorkAssignment } from '../../src/bus/schemas.js';
import { NODE_SERVICE_NAME, streams, subjects } from '../../src/bus/subjects.js';
import { ensureSharesStream } from '../../src/bus/jetstream.js';
import { NodeAgent } from '../../src/node/agent.js';
import { NodePool } from '../../src/node/pool.js';
import { freePort } from '../../src/bus/server.js';
import { createRegistry, nodeMetrics, serveMetrics } from '../../src/metrics/metrics.js';
import { startServer, stopAll, tempDir, waitFor } from '../helpers/nats.js';

const EASY = MAX_TARGET / 4096n; // one share per ~4096 hashes: hundreds per second

const header = (seed: string) =>
  encodeHeader({
    version: 0x20000000,
    prevHash: sha256d(new TextEncoder().encode(seed)),
    merkleRoot: sha256d(new TextEncoder().encode(`root-${seed}`)),
    time: 1_700_000_000,
    bits: 0x1d00ffff,
    nonce: 0,
  });

const work = (jobId: string, seed: string, target = EASY) => ({
  v: SCHEMA_VERSION,
  jobId,
  owner: 'alice',
  header: bytesToHex(header(seed)),
  nonceStart: 0,
  nonceCount: 2 ** 32,
  shareTarget: targetToHex(target),
});

describe('a node on the bus', () => {
  let service: NatsConnection;
  let nodeConn: NatsConnection;
  let agent: NodeAgent;
  let pool: NodePool;
  const shares: { share: Share; receivedAt: number }[] = [];
  const switched: { jobId: string; at: number }[] = [];

  beforeAll(async () => {
    const server = await startServer();
    service = await connectBus({ servers: server.url });
    await ensureSharesStream(service);
    pool = new NodePool(service, { heartbeatMs: 200 });
    // Every share, as a subscriber of the stream's subjects sees it.
    service.subscribe(subjects.allShares, {
      callback: (_, m) => {
        shares.push({ share: decode(Share, m.data, 'Share'), receivedAt: performance.now() });
      },
    });
    nodeConn = await connectBus({ servers: server.url });
    agent = await NodeAgent.start({
      nc: nodeConn,
      nodeId: 'node-1',
      threads: 1,
      calibrateMs: 300,
      events: { onSwitched: (jobId, at) => switched.push({ jobId, at }) },
    });
  });

  afterAll(async () => {
    await agent?.stop();
    pool?.stop();
    await nodeConn?.close();
    await service?.close();
    await stopAll();
  });

  it('registers with its hardware profile and calibrated hashrate', async () => {
    await waitFor(() => pool.get('node-1') !== undefined, 10_000, 'registration');
    const node = pool.get('node-1')!;
    expect(node.profile.cores).toBeGreaterThan(0);
    expect(node.profile.cpuModel.length).toBeGreaterThan(0);
    expect(node.backends).toEqual([{ backend: 'wasm', lanes: 1, hashrate: agent.calibratedRate }]);
    expect(agent.calibratedRate).toBeGreaterThan(10_000);
    // The pool told it to heartbeat every 200 ms: heartbeats keep it alive.
    await waitFor(() => pool.get('node-1')!.state === 'idle' && Date.now() - pool.get('node-1')!.lastSeen < 300, 5000, 'heartbeat');
  });

  it('is discoverable through the NATS Services protocol', async () => {
    const svcm = new Svcm(service as never);
    const client = svcm.client();
    const infos = [];
    for await (const info of await client.info(NODE_SERVICE_NAME)) infos.push(info);
    expect(infos).toHaveLength(1);
    expect(infos[0]!.metadata).toMatchObject({ nodeId: 'node-1', backend: 'wasm' });
    expect(infos[0]!.endpoints.map((e: { subject: string }) => e.subject).sort()).toEqual([
      subjects.nodeControl('node-1'),
      subjects.nodeDescribe('node-1'),
      subjects.nodeWork('node-1'),
    ]);
  });

  it('is learnt by a pool that starts after it registered (from its heartbeat, asking it to describe itself)', async () => {
    const late = new NodePool(service, { heartbeatMs: 200 });
    try {
      await waitFor(() => late.get('node-1') !== undefined, 5000, 'the late pool to learn node-1');
      expect(late.get('node-1')!.backends).toEqual(pool.get('node-1')!.backends);
      expect(late.get('node-1')!.profile).toEqual(pool.get('node-1')!.profile);
      const described = await request(service, subjects.nodeDescribe('node-1'), NodeDescribe, { v: SCHEMA_VERSION }, NodeRegister, 'NodeDescribe');
      expect(described.nodeId).toBe('node-1');
    } finally {
      late.stop();
    }
  });

  it('takes a job and streams shares that verify on the reference, tagged with the owner', async () => {
    const accepted = await request(service, subjects.nodeWork('node-1'), WorkAssignment, work('job-a', 'a'), WorkAccepted, 'work');
    expect(accepted.jobId).toBe('job-a');
    await waitFor(() => shares.filter((s) => s.share.jobId === 'job-a').length >= 20, 20_000, '20 shares');
    const expectedPrefix = bytesToHex(header('a').subarray(0, 76));
    for (const { share } of shares.filter((s) => s.share.jobId === 'job-a')) {
      const bytes = hexToBytes(share.header, 80);
      expect(bytesToHex(bytes.subarray(0, 76))).toBe(expectedPrefix);
      expect(hashToDisplayHex(sha256d(bytes))).toBe(share.hash);
      expect(meetsTarget(sha256d(bytes), EASY)).toBe(true);
      expect(share).toMatchObject({ nodeId: 'node-1', owner: 'alice' });
    }
    // The stream holds them: acknowledged means stored.
    const jsm = await jetstreamManager(service);
    await waitFor(async () => (await jsm.streams.info(streams.shares.name)).state.messages >= 20, 5000, 'stored shares');
  });

  it('switches to a new job within milliseconds and sends nothing of the old one after', async () => {
    const sentAt = performance.now();
    await request(service, subjects.nodeWork('node-1'), WorkAssignment, work('job-b', 'b'), WorkAccepted, 'work');
    await waitFor(() => switched.some((s) => s.jobId === 'job-b'), 5000, 'switch');
    const switchMs = switched.find((s) => s.jobId === 'job-b')!.at - sentAt;
    expect(switchMs).toBeLessThan(500);
    await waitFor(() => shares.some((s) => s.share.jobId === 'job-b'), 10_000, 'job-b shares');
    await new Promise((r) => setTimeout(r, 300));
    // Shares of job-a may still be in flight right at the switch, never well after it.
    const lateOld = shares.filter((s) => s.share.jobId === 'job-a' && s.receivedAt > sentAt + switchMs + 100);
    expect(lateOld).toEqual([]);
  });

  it('pauses and resumes', async () => {
    const paused = await request(service, subjects.nodeControl('node-1'), Control, { v: SCHEMA_VERSION, action: 'pause' }, ControlDone, 'control');
    expect(paused.state).toBe('paused');
    await new Promise((r) => setTimeout(r, 200));
    const countAtPause = shares.length;
    await new Promise((r) => setTimeout(r, 600));
    expect(shares.length).toBe(countAtPause);
    await waitFor(() => pool.get('node-1')!.state === 'paused', 2000, 'paused heartbeat');

    const resumed = await request(service, subjects.nodeControl('node-1'), Control, { v: SCHEMA_VERSION, action: 'resume' }, ControlDone, 'control');
    expect(resumed.state).toBe('mining');
    await waitFor(() => shares.length > countAtPause, 10_000, 'shares after resume');

    const cancelled = await request(service, subjects.nodeControl('node-1'), Control, { v: SCHEMA_VERSION, action: 'cancel' }, ControlDone, 'control');
    expect(cancelled.state).toBe('idle');
    expect(agent.currentJobId).toBeUndefined();
  });
});

describe('an assignment that carries its coinbase', () => {
  const coinbase = {
    prevhash: bytesToHex(sha256d(new TextEncoder().encode('prev'))),
    coinb1: '01000000010000'.padEnd(84, 'a'),
    coinb2: 'ffffffff'.padEnd(60, 'b'),
    merkleBranch: [bytesToHex(sha256d(new TextEncoder().encode('sibling')))],
    version: '20000000',
    nbits: '1d00ffff',
    ntime: '65000000',
    extranonce1: 'deadbeef',
    extranonce2Size: 4,
    extranonce2Start: 7,
    extranonce2Count: 3,
  };
  const stratumJob = { ...coinbase, jobId: 'x', cleanJobs: false };
  const headerOf = (extranonce2: string, nonce = 0) =>
    buildHeader(stratumJob, { extranonce1: coinbase.extranonce1, extranonce2, ntime: coinbase.ntime, nonce: nonce.toString(16).padStart(8, '0') });
  const TARGET = MAX_TARGET / 64n;
  // A tiny window per header stands in for 2^32 nonces: the node must roll to go on.
  const WINDOW = 4096;
  const assignment = (extra: Partial<typeof coinbase> = {}, header = headerOf('00000007')) => ({
    v: SCHEMA_VERSION,
    jobId: 'rolling',
    owner: 'bob',
    header: bytesToHex(header),
    nonceStart: 1000,
    nonceCount: WINDOW,
    shareTarget: targetToHex(TARGET),
    coinbase: { ...coinbase, ...extra },
  });
  let service: NatsConnection;
  let nodeConn: NatsConnection;
  let agent: NodeAgent;

  beforeAll(async () => {
    const server = await startServer();
    service = await connectBus({ servers: server.url });
    await ensureSharesStream(service);
    nodeConn = await connectBus({ servers: server.url });
    agent = await NodeAgent.start({ nc: nodeConn, nodeId: 'node-roll', threads: 1, calibrateMs: 0 });
  });

  afterAll(async () => {
    await agent?.stop();
    await nodeConn?.close();
    await service?.close();
  });

  it('rolls extranonce2 when a header\'s window is spent, through the whole range', async () => {
    const shares: Share[] = [];
    service.subscribe(subjects.share('node-roll'), { callback: (_, m) => void shares.push(decode(Share, m.data, 'Share')) });
    const exhausted = service.subscribe(subjects.nodeExhausted('node-roll'), { max: 1 });
    await service.flush();
    await request(service, subjects.nodeWork('node-roll'), WorkAssignment, assignment(), WorkAccepted, 'work');
    for await (const _ of exhausted) break;

    // The reference's count over every window of the range: the node searched each in full, once.
    const extranonces = ['00000007', '00000008', '00000009'];
    let expected = 0;
    for (const en2 of extranonces) for (let n = 1000; n < 1000 + WINDOW; n++) if (meetsTarget(sha256d(headerOf(en2, n)), TARGET)) expected++;
    await waitFor(() => shares.length >= expected, 10_000, `${expected} shares`);
    await new Promise((r) => setTimeout(r, 200));
    expect(shares).toHaveLength(expected);
    expect(new Set(shares.map((s) => s.extranonce2))).toEqual(new Set(extranonces));
    for (const share of shares) {
      expect(share.header).toBe(bytesToHex(headerOf(share.extranonce2!, share.nonce)));
      expect(hashToDisplayHex(sha256d(hexToBytes(share.header, 80)))).toBe(share.hash);
      expect(share.owner).toBe('bob');
    }
  });

  it('refuses a coinbase that does not give the header, or a range wider than extranonce2Size', async () => {
    const reply = async (work: unknown) => {
      const m = await service.request(subjects.nodeWork('node-roll'), new TextEncoder().encode(JSON.stringify(work)), { timeout: 5000 });
      return JSON.parse(new TextDecoder().decode(m.data)) as { error?: { code: string; message: string } };
    };
    expect((await reply(assignment({}, headerOf('00000008')))).error).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/extranonce2Start/) });
    expect((await reply(assignment({ extranonce2Size: 1, extranonce2Start: 250, extranonce2Count: 10 }))).error).toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringMatching(/2\^8/),
    });
    // State intact: the node still takes a good assignment.
    const ok = await request(service, subjects.nodeWork('node-roll'), WorkAssignment, { ...assignment(), jobId: 'again' }, WorkAccepted, 'work');
    expect(ok.jobId).toBe('again');
  });
});

describe('through a nats-server restart', () => {
  it('reconnects, registers again and keeps delivering shares', async () => {
    const stateDir = tempDir();
    const port = await freePort();
    const first = await startServer({ stateDir, port });
    const service = await connectBus({ servers: first.url });
    await ensureSharesStream(service);
    const registrations: number[] = [];
    service.subscribe(subjects.nodeRegister, { callback: () => void registrations.push(Date.now()) });
    const pool = new NodePool(service, { heartbeatMs: 200 });
    const received: number[] = [];
    service.subscribe(subjects.share('restarted'), { callback: () => void received.push(Date.now()) });
    const nodeConn = await connectBus({ servers: first.url });
    const agent = await NodeAgent.start({ nc: nodeConn, nodeId: 'restarted', threads: 1, calibrateMs: 0 });
    try {
      await waitFor(() => pool.get('restarted') !== undefined, 10_000, 'registration');
      await request(service, subjects.nodeWork('restarted'), WorkAssignment, work('job-r', 'r'), WorkAccepted, 'work');
      await waitFor(() => received.length >= 5, 20_000, 'shares before the restart');

      await first.stop();
      const stoppedAt = Date.now();
      const registeredBefore = registrations.length;
      await new Promise((r) => setTimeout(r, 500));
      // Same port, same store: what a supervisor restarting the server does.
      await startServer({ stateDir, port });
      await waitFor(() => registrations.length > registeredBefore, 20_000, 'registration after the restart');
      await waitFor(() => received.filter((t) => t > stoppedAt).length >= 5, 20_000, 'shares after the restart');
      expect(agent.currentJobId).toBe('job-r');
      await waitFor(() => pool.get('restarted')!.alive && Date.now() - pool.get('restarted')!.lastSeen < 1000, 5000, 'heartbeats after the restart');
      // Acknowledged means stored: the outbox drains once the stream is back.
      await waitFor(() => agent.pendingShares < 5, 10_000, 'the outbox to drain');
    } finally {
      await agent.stop();
      pool.stop();
      await nodeConn.close();
      await service.close();
    }
  });
});

describe('the node\'s /metrics', () => {
  it('exports hashrate per backend, shares, job switches, the switch latency histogram and bus errors, and they move', async () => {
    const server = await startServer();
    const service = await connectBus({ servers: server.url });
    await ensureSharesStream(service);
    const registry = createRegistry('node');
    const metrics = nodeMetrics(registry);
    const { server: http, url } = await serveMetrics(registry, 0);
    const nodeConn = await connectBus({ servers: server.url });
    const agent = await NodeAgent.start({ nc: nodeConn, nodeId: 'metered', threads: 1, calibrateMs: 0, heartbeatMs: 200, metrics });
    const scrape = async () => parseMetrics(await (await fetch(url)).text());
    try {
      const before = await scrape();
      expect(before.get('hashgrid_node_job_switches_total')).toBe(0);
      await request(service, subjects.nodeWork('metered'), WorkAssignment, work('m-1', 'm1'), WorkAccepted, 'work');
      const switches = async () => (await scrape()).get('hashgrid_node_job_switch_seconds_count') ?? 0;
      // A switch is observed once every lane's first chunk of the job returns.
      await waitFor(async () => (await switches()) >= 1, 10_000, 'the first switch in the histogram');
      await waitFor(() => agent.sharesFound >= 5, 20_000, 'shares');
      await request(service, subjects.nodeWork('metered'), WorkAssignment, work('m-2', 'm2'), WorkAccepted, 'work');
      const bad = await service.request(subjects.nodeWork('metered'), new TextEncoder().encode('{"v":1}'), { timeout: 2000 });
      expect(new TextDecoder().decode(bad.data)).toMatch(/INVALID_MESSAGE/);
      await waitFor(async () => (await switches()) >= 2, 10_000, 'two switches in the histogram');
      await waitFor(async () => ((await scrape()).get('hashgrid_node_hashrate{backend="wasm"}') ?? 0) > 0, 10_000, 'a hashrate heartbeat');
      const after = await scrape();
      expect(after.get('hashgrid_node_hashrate{backend="wasm"}')).toBeGreaterThan(10_000);
      expect(after.get('hashgrid_node_shares_found_total')).toBeGreaterThanOrEqual(5);
      expect(after.get('hashgrid_node_job_switches_total')).toBe(2);
      expect(after.get('hashgrid_node_job_switch_seconds_bucket{le="+Inf"}')).toBe(after.get('hashgrid_node_job_switch_seconds_count'));
      expect(after.get('hashgrid_node_job_switch_seconds_sum')).toBeGreaterThan(0);
      expect(after.get(`hashgrid_bus_errors_total{subject="${subjects.nodeWork('metered')}",code="INVALID_MESSAGE"}`)).toBe(1);
    } finally {
      await agent.stop();
      http.close();
      await nodeConn.close();
      await service.close();
    }
  });
});

/** Prometheus text format → `name{labels}` → value, without the role label every series carries. */
function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const space = line.lastIndexOf(' ');
    const series = line.slice(0, space).replace(/,?role="node"/, '').replace('{}', '').replace('{,', '{');
    out.set(series, Number(line.slice(space + 1)));
  }
  return out;
}

describe('permissions', () => {
  it('refuses a node that publishes another node\'s shares or reads its work', async () => {
    const admin = { user: 'admin', password: randomPassword() };
    const a = { user: 'node-a', password: randomPassword() };
    const server = await startServer({
      authorization: authorizationBlock([
        { credential: admin, role: 'service' },
        { credential: a, role: 'node', nodeId: 'node-a' },
      ]),
    });
    const service = await connectBus({ servers: server.url, ...admin });
    const received: string[] = [];
    service.subscribe('hashgrid.shares.>', {
      callback: (_, m) => {
        received.push(m.subject);
      },
    });
    service.subscribe(subjects.nodeWork('node-b'), {
      callback: (_, m) => {
        m.respond(new TextEncoder().encode('{}'));
      },
    });
    await service.flush();

    const nodeA = await connectBus({ servers: server.url, ...a, inboxPrefix: nodeInboxPrefix('node-a') });
    const errors: string[] = [];
    void (async () => {
      for await (const s of nodeA.status()) if (s.type === 'error') errors.push(String(s.error));
    })();
    nodeA.publish(subjects.share('node-b'), new TextEncoder().encode('forged'));
    nodeA.publish(subjects.share('node-a'), new TextEncoder().encode('own'));
    const spy = nodeA.subscribe(subjects.nodeWork('node-b'));
    await nodeA.flush().catch(() => {});
    await waitFor(() => received.length >= 1 && errors.length >= 2, 5000, 'permission errors');
    expect(received).toEqual([subjects.share('node-a')]);
    expect(errors.join('\n')).toMatch(/publish.*hashgrid\.shares\.node-b/i);
    expect(errors.join('\n')).toMatch(/subscri.*hashgrid\.nodes\.node-b\.work/i);
    expect(spy.isClosed()).toBe(true);

    // Wrong password: refused outright, and the error does not echo the password.
    const wrong = await connectBus({ servers: server.url, user: 'node-a', password: 'not-the-password' }).catch((e: Error) => e);
    expect(wrong).toBeInstanceOf(Error);
    expect(String((wrong as Error).message)).not.toContain('not-the-password');
    await nodeA.close();
    await service.close();
  });
});

describe('nkey authentication', () => {
  it('lets a node in with its nkey seed, with the node role\'s permissions', async () => {
    const user = createUser();
    const pub = user.getPublicKey();
    const seed = new TextDecoder().decode(user.getSeed());
    const server = await startServer({ authorization: authorizationBlock([{ credential: { nkey: pub }, role: 'node', nodeId: 'nk-node' }]) });
    const nc = await connectBus({ servers: server.url, nkeySeed: seed, inboxPrefix: nodeInboxPrefix('nk-node') });
    const errors: string[] = [];
    void (async () => {
      for await (const s of nc.status()) if (s.type === 'error') errors.push(String(s.error));
    })();
    nc.publish(subjects.nodeHeartbeat('nk-node'), new TextEncoder().encode('{}'));
    nc.publish(subjects.nodeHeartbeat('someone-else'), new TextEncoder().encode('{}'));
    await nc.flush().catch(() => {});
    await waitFor(() => errors.length >= 1, 5000, 'a permission error');
    expect(errors.join('\n')).toMatch(/someone-else/);
    expect(errors.join('\n')).not.toMatch(/nk-node\.heartbeat/);
    await nc.close();
    // Without the seed: refused.
    await expect(connectBus({ servers: server.url })).rejects.toMatchObject({ code: 'NATS_SERVER' });
  });
});

afterAll(() => stopAll());
