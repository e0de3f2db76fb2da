/**
 * Stratum V1 client ↔ server ↔ distribution center on loopback: a share found
 * by the real wasm engine is accepted, and each error code comes from the
 * case it names.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashToBigInt, sha256d } from '../../src/core/sha256d.js';
import { difficultyToTarget } from '../../src/core/target.js';
import { BuiltinChain } from '../../src/center/chain.js';
import { DistributionCenter } from '../../src/center/center.js';
import { createEngine, type HashEngine } from '../../src/engine/index.js';
import { StratumMiner } from '../../src/node/stratum-miner.js';
import { StratumClient } from '../../src/stratum/client.js';
import { buildHeader, hex32, type StratumJob } from '../../src/stratum/job.js';
import { StratumCode } from '../../src/stratum/protocol.js';
import { StratumServer } from '../../src/stratum/server.js';
import { waitFor } from '../helpers/nats.js';

const DIFFICULTY = 2 ** -20; // ~1 share per 2^12 hashes: the reference finds one in milliseconds

describe('Stratum V1 against the distribution center', () => {
  let chain: BuiltinChain;
  let center: DistributionCenter;
  let server: StratumServer;
  let port: number;
  let engine: HashEngine;
  const clients: StratumClient[] = [];

  beforeAll(async () => {
    chain = new BuiltinChain({ difficulty: 1, refreshMs: 0 });
    center = await DistributionCenter.start({
      source: chain,
      initialDifficulty: DIFFICULTY,
      subAccounts: [
        { id: 'alice', password: 'alice-secret', standard: 1e6 },
        { id: 'bob', password: 'bob-secret-1', standard: 1e6 },
        { id: 'carol', password: 'carol-secret', standard: 1e6 },
      ],
    });
    server = new StratumServer(center, { allocateExtranonce1: center.allocateExtranonce1 });
    ({ port } = await server.listen());
    engine = createEngine({ threads: 1 });
  });

  afterAll(async () => {
    for (const c of clients) c.close();
    await engine?.close();
    await server?.close();
    await center?.close();
    chain?.close();
  });

  const client = async (subscribe = true) => {
    const c = await StratumClient.connect({ host: '127.0.0.1', port });
    clients.push(c);
    if (subscribe) await c.subscribe();
    return c;
  };

  /** Finds, with the reference, a nonce whose share meets (or misses) the difficulty. */
  function findNonce(job: StratumJob, c: StratumClient, extranonce2: string, meets: boolean): number {
    const target = difficultyToTarget(DIFFICULTY);
    for (let n = 0; ; n++) {
      const h = buildHeader(job, { extranonce1: c.extranonce1, extranonce2, ntime: job.ntime, nonce: hex32(n) });
      if ((hashToBigInt(sha256d(h)) <= target) === meets) return n;
    }
  }

  it('accepts shares found by the real wasm engine and credits the sub-account', async () => {
    const miner = await StratumMiner.start({ host: '127.0.0.1', port, worker: 'alice.rig1', password: 'alice-secret', engine });
    await waitFor(() => miner.accepted >= 3, 30_000, '3 accepted shares');
    miner.close();
    expect(miner.rejected).toBe(0);
    const info = center.info('alice');
    expect(info.acceptedShares).toBeGreaterThanOrEqual(3);
    // Each share of difficulty d stands for d · 2^32 hashes.
    expect(info.accumulatedHashes).toBeCloseTo(info.acceptedShares * DIFFICULTY * 2 ** 32, 0);
    expect(center.info('bob').acceptedShares).toBe(0);
  });

  it('25: a submit before mining.subscribe', async () => {
    const c = await client(false);
    await expect(c.submit('alice', '1.0', '00000000', '00000000', '00000000')).rejects.toMatchObject({ stratumCode: StratumCode.NOT_SUBSCRIBED });
  });

  it('24: a wrong password, and a submit for a worker never authorized', async () => {
    const c = await client();
    await expect(c.authorize('alice.rig', 'wrong-password')).rejects.toMatchObject({ stratumCode: StratumCode.UNAUTHORIZED });
    await expect(c.authorize('mallory', 'whatever-pass')).rejects.toMatchObject({ stratumCode: StratumCode.UNAUTHORIZED });
    await expect(c.submit('bob.rig', '1.0', '00000000', '00000000', '00000000')).rejects.toMatchObject({ stratumCode: StratumCode.UNAUTHORIZED });
  });

  it('21, 22, 23 and 20: unknown or stale job, duplicate, low difficulty, malformed fields', async () => {
    const c = await client();
    const notified = new Promise<StratumJob>((resolve) => c.once('notify', resolve));
    expect(await c.authorize('bob.rig', 'bob-secret-1')).toBe(true);
    const job = await notified;
    expect(c.difficulty).toBe(DIFFICULTY);

    const good = findNonce(job, c, '00000001', true);
    expect(await c.submit('bob.rig', job.jobId, '00000001', job.ntime, hex32(good))).toBe(true);
    await expect(c.submit('bob.rig', job.jobId, '00000001', job.ntime, hex32(good))).rejects.toMatchObject({ stratumCode: StratumCode.DUPLICATE });

    const bad = findNonce(job, c, '00000002', false);
    await expect(c.submit('bob.rig', job.jobId, '00000002', job.ntime, hex32(bad))).rejects.toMatchObject({ stratumCode: StratumCode.LOW_DIFFICULTY });

    await expect(c.submit('bob.rig', 'no-such-job', '00000001', job.ntime, hex32(good))).rejects.toMatchObject({ stratumCode: StratumCode.JOB_NOT_FOUND });
    await expect(c.submit('bob.rig', job.jobId, '0001', job.ntime, hex32(good))).rejects.toMatchObject({ stratumCode: StratumCode.OTHER });
    await expect(c.submit('bob.rig', job.jobId, '00000001', hex32(Number.parseInt(job.ntime, 16) + 100_000), hex32(good))).rejects.toMatchObject({
      stratumCode: StratumCode.OTHER,
    });

    // A new block makes the job stale at once.
    const next = new Promise<StratumJob>((resolve) => c.once('notify', resolve));
    chain.submitBlock(new Uint8Array(80));
    expect((await next).cleanJobs).toBe(true);
    const good2 = findNonce(job, c, '00000003', true);
    await expect(c.submit('bob.rig', job.jobId, '00000003', job.ntime, hex32(good2))).rejects.toMatchObject({ stratumCode: StratumCode.JOB_NOT_FOUND });
    expect(center.stats.rejected).toMatchObject({ duplicate: 1, 'low-difficulty': 1 });
  });

  it('asks miners to reconnect (client.reconnect) and the client reports it', async () => {
    const c = await client();
    const asked = new Promise<{ host?: string; port?: number }>((resolve) => c.once('reconnect', resolve));
    server.reconnectAll('127.0.0.1', port, 5);
    expect(await asked).toEqual({ host: '127.0.0.1', port });
  });

  it('negotiates BIP 310 version rolling and accepts only the negotiated bits', async () => {
    const c = await client(false);
    expect(await c.configureVersionRolling(0xffffffff)).toBe(0x1fffe000);
    await c.subscribe();
    const notified = new Promise<StratumJob>((resolve) => c.once('notify', resolve));
    await c.authorize('carol.rig', 'carol-secret');
    const job = await notified;
    const rolled = (Number.parseInt(job.version, 16) | 0x00002000) >>> 0;
    const target = difficultyToTarget(DIFFICULTY);
    let n = 0;
    while (hashToBigInt(sha256d(buildHeader(job, { extranonce1: c.extranonce1, extranonce2: '0000000a', ntime: job.ntime, nonce: hex32(n), version: rolled }))) > target) n++;
    expect(await c.submit('carol.rig', job.jobId, '0000000a', job.ntime, hex32(n), hex32(0x00002000))).toBe(true);
    await expect(c.submit('carol.rig', job.jobId, '0000000b', job.ntime, hex32(n), hex32(0x00000001))).rejects.toMatchObject({ stratumCode: StratumCode.OTHER });
  });
});
