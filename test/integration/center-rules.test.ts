/**
 * Share rules of the distribution center that depend on time and state,
 * through real Stratum connections: a share must meet the difficulty its job
 * was issued with (vardiff may have moved since), vardiff raises and lowers
 * a connection's difficulty inside the center, mining.suggest_difficulty
 * sets the starting difficulty, a replaced job is accepted only within its
 * grace period, and a share under the network target is a block candidate.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { hashToBigInt, sha256d } from '../../src/core/sha256d.js';
import { bitsToTarget, difficultyToTarget } from '../../src/core/target.js';
import { BuiltinChain, type BuiltinChainOptions } from '../../src/center/chain.js';
import { DistributionCenter, type CenterOptions } from '../../src/center/center.js';
import { StratumClient } from '../../src/stratum/client.js';
import { buildHeader, hex32, type StratumJob } from '../../src/stratum/job.js';
import { StratumCode } from '../../src/stratum/protocol.js';
import { StratumServer } from '../../src/stratum/server.js';
import { waitFor } from '../helpers/nats.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A center with `options` behind a Stratum server, and a miner connected, subscribed and authorized. */
async function setup(options: Partial<CenterOptions>, chainOptions: BuiltinChainOptions = {}, suggest?: number) {
  const chain = new BuiltinChain({ difficulty: 1, refreshMs: 0, ...chainOptions });
  const center = await DistributionCenter.start({ source: chain, subAccounts: [{ id: 'alice', password: 'alice-secret', standard: 1 }], ...options });
  const server = new StratumServer(center, { allocateExtranonce1: center.allocateExtranonce1 });
  const { port } = await server.listen();
  const client = await StratumClient.connect({ host: '127.0.0.1', port });
  cleanups.push(() => chain.close(), () => center.close(), () => server.close(), () => client.close());
  const jobs: StratumJob[] = [];
  const difficulties: number[] = [];
  client.on('notify', (j) => jobs.push(j));
  client.on('difficulty', (d) => difficulties.push(d));
  await client.subscribe();
  if (suggest !== undefined) expect(await client.suggestDifficulty(suggest)).toBe(true);
  await client.authorize('alice.rig', 'alice-secret');
  await waitFor(() => jobs.length > 0, 5000, 'the first job');
  return { chain, center, client, jobs, difficulties };
}

let en2Counter = 0;
/** A (extranonce2, nonce) whose sha256d value satisfies `wanted`, found with the reference. */
function share(job: StratumJob, client: StratumClient, wanted: (value: bigint) => boolean): { extranonce2: string; nonce: string } {
  const extranonce2 = hex32(en2Counter++);
  for (let n = 0; ; n++) {
    const nonce = hex32(n);
    if (wanted(hashToBigInt(sha256d(buildHeader(job, { extranonce1: client.extranonce1, extranonce2, ntime: job.ntime, nonce }))))) return { extranonce2, nonce };
  }
}
const submit = (c: StratumClient, job: StratumJob, s: { extranonce2: string; nonce: string }) => c.submit('alice.rig', job.jobId, s.extranonce2, job.ntime, s.nonce);
const between = (easy: number, hard: number) => (v: bigint) => v <= difficultyToTarget(easy) && v > difficultyToTarget(hard);

describe('the center judges a share by its job', () => {
  it('meets the difficulty the job was issued with, not the live one, after vardiff lowers it', async () => {
    const high = 2 ** -18;
    const low = 2 ** -20;
    // No shares for a second: vardiff (inside the center, on its own timer) steps down ×4 once, to the floor.
    const { client, jobs, difficulties } = await setup({ initialDifficulty: high, vardiff: { targetIntervalSeconds: 0.1, retargetSeconds: 1, min: low } });
    const issuedHigh = jobs[0]!;
    await waitFor(() => difficulties.includes(low) && jobs.length >= 2, 10_000, 'vardiff to lower the difficulty');
    const issuedLow = jobs.at(-1)!;
    expect(client.difficulty).toBe(low);
    // Meets the live difficulty but not the one its job was issued with: rejected on the old job...
    const s = share(issuedHigh, client, between(low, high));
    await expect(submit(client, issuedHigh, s)).rejects.toMatchObject({ stratumCode: StratumCode.LOW_DIFFICULTY, message: /needs 0\.0000038/ });
    // ...and the same kind of share is accepted on the job issued at the lower difficulty.
    expect(await submit(client, issuedLow, share(issuedLow, client, between(low, high)))).toBe(true);
    // A share meeting the old job's own difficulty is still good there.
    expect(await submit(client, issuedHigh, share(issuedHigh, client, (v) => v <= difficultyToTarget(high)))).toBe(true);
  });

  it('raises the difficulty of a fast miner inside the center (×4 at most, a power of two)', async () => {
    const start = 2 ** -20;
    const { client, jobs, difficulties } = await setup({ initialDifficulty: start, vardiff: { targetIntervalSeconds: 2, retargetSeconds: 1, min: start } });
    // More than one share every 2 s, for longer than the retarget interval.
    const t0 = Date.now();
    while (!difficulties.some((d) => d > start) && Date.now() - t0 < 20_000) {
      const job = jobs.at(-1)!;
      await submit(client, job, share(job, client, (v) => v <= difficultyToTarget(client.difficulty)));
    }
    expect(difficulties.find((d) => d > start)).toBe(start * 4);
    // The new difficulty comes with a new job.
    await waitFor(() => jobs.length >= 2, 5000, 'a job at the new difficulty');
  });

  it('starts a connection at the difficulty it suggested (mining.suggest_difficulty)', async () => {
    const suggested = 2 ** -16;
    const { client, jobs, difficulties } = await setup({ initialDifficulty: 2 ** -20 }, {}, suggested);
    expect(difficulties[0]).toBe(suggested);
    const job = jobs[0]!;
    await expect(submit(client, job, share(job, client, between(2 ** -20, suggested)))).rejects.toMatchObject({ stratumCode: StratumCode.LOW_DIFFICULTY });
    expect(await submit(client, job, share(job, client, (v) => v <= difficultyToTarget(suggested)))).toBe(true);
    await expect(client.suggestDifficulty(-1)).rejects.toMatchObject({ stratumCode: StratumCode.OTHER });
  });

  it('accepts a replaced job within the grace period and refuses it once the grace has passed', async () => {
    const graceMs = 1500;
    // The chain refreshes its template (same height, not clean) every second.
    const { client, jobs } = await setup({ initialDifficulty: 2 ** -20, graceMs }, { refreshMs: 1000 });
    const old = jobs[0]!;
    await waitFor(() => jobs.length >= 2, 5000, 'a refreshed job');
    const replacedAt = Date.now();
    expect(jobs[1]!.cleanJobs).toBe(false);
    expect(await submit(client, old, share(old, client, (v) => v <= difficultyToTarget(2 ** -20)))).toBe(true);
    expect(Date.now() - replacedAt).toBeLessThan(graceMs);
    const late = share(old, client, (v) => v <= difficultyToTarget(2 ** -20));
    await new Promise((r) => setTimeout(r, graceMs + 200 - (Date.now() - replacedAt)));
    await expect(submit(client, old, late)).rejects.toMatchObject({ stratumCode: StratumCode.JOB_NOT_FOUND });
  });

  it('detects a block candidate, hands the header to the chain, and moves every miner to the new block', async () => {
    const shareDifficulty = 2 ** -20;
    const { chain, center, client, jobs } = await setup({ initialDifficulty: shareDifficulty }, { difficulty: 2 ** -16 });
    const job = jobs[0]!;
    const network = bitsToTarget(Number.parseInt(job.nbits, 16));
    // A share that is not a block: counted, nothing else.
    expect(await submit(client, job, share(job, client, (v) => v <= difficultyToTarget(shareDifficulty) && v > network))).toBe(true);
    expect(center.stats.blocks).toBe(0);
    expect(chain.height).toBe(0);
    const block = share(job, client, (v) => v <= network);
    expect(await submit(client, job, block)).toBe(true);
    expect(center.stats.blocks).toBe(1);
    expect(chain.height).toBe(1);
    const header = buildHeader(job, { extranonce1: client.extranonce1, extranonce2: block.extranonce2, ntime: job.ntime, nonce: block.nonce });
    expect(chain.blocks[0]!.header).toBe(Buffer.from(header).toString('hex'));
    await waitFor(() => jobs.some((j) => j.cleanJobs), 5000, 'a clean job on the new block');
    // The old block's job is stale at once.
    await expect(submit(client, job, share(job, client, (v) => v <= difficultyToTarget(shareDifficulty)))).rejects.toMatchObject({ stratumCode: StratumCode.JOB_NOT_FOUND });
  });
});
