/**
 * npm run bench:center — shares per second one distribution center validates,
 * and submit latency, with many Stratum connections on loopback.
 *
 * The miners run in a child process and submit shares at a difficulty so low
 * that nearly every nonce is valid (the center still recomputes sha256d and
 * checks every rule). Rows, side by side in one run: with JetStream
 * persistence (the real configuration: a share is acknowledged only once the
 * group-commit batch holding it is stored; `shares/msg` is the mean batch)
 * and memory only. A share of difficulty 2^-32 misses its target about once
 * in 65,536 (the difficulty-1 target is 0xFFFF·2^208, not 2^224), hence a
 * few rejected shares per run.
 *
 * Flags: --connections N (default 20), --seconds S (default 8), --inflight K per connection (default 16).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { connectBus } from '../src/bus/connect.js';
import { NatsServer } from '../src/bus/server.js';
import { BuiltinChain } from '../src/center/chain.js';
import { DistributionCenter } from '../src/center/center.js';
import { benchEnvironment, quantiles, writeBenchResult } from '../src/cli/bench-report.js';
import { StratumClient } from '../src/stratum/client.js';
import { hex32, type StratumJob } from '../src/stratum/job.js';
import { StratumServer } from '../src/stratum/server.js';

interface MinerResult {
  accepted: number;
  rejected: number;
  latencies: number[];
  seconds: number;
}

async function miners(port: number, connections: number, seconds: number, inflight: number): Promise<MinerResult> {
  const latencies: number[] = [];
  let accepted = 0;
  let rejected = 0;
  const clients = await Promise.all(
    Array.from({ length: connections }, async (_, i) => {
      const c = await StratumClient.connect({ host: '127.0.0.1', port, timeoutMs: 30_000 });
      await c.subscribe();
      const job = new Promise<StratumJob>((r) => c.once('notify', r));
      await c.authorize(`bench.m${i}`, 'bench-secret');
      return { c, job: await job };
    }),
  );
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  await Promise.all(
    clients.map(async ({ c, job }, i) => {
      let n = 0;
      const lane = async () => {
        while (performance.now() < end) {
          const nonce = n++;
          const t = performance.now();
          try {
            await c.submit(`bench.m${i}`, job.jobId, hex32(nonce >>> 16), job.ntime, hex32(nonce & 0xffff));
            accepted++;
            latencies.push(performance.now() - t);
          } catch {
            rejected++;
          }
        }
      };
      await Promise.all(Array.from({ length: inflight }, lane));
      c.close();
    }),
  );
  return { accepted, rejected, latencies, seconds: (performance.now() - t0) / 1000 };
}

if (process.env.HASHGRID_BENCH_MINERS) {
  const { port, connections, seconds, inflight } = JSON.parse(process.env.HASHGRID_BENCH_MINERS) as { port: number; connections: number; seconds: number; inflight: number };
  process.send!(await miners(port, connections, seconds, inflight));
} else {
  const { values } = parseArgs({ options: { connections: { type: 'string' }, seconds: { type: 'string' }, inflight: { type: 'string' } } });
  const connections = Number(values.connections ?? 20);
  const seconds = Number(values.seconds ?? 8);
  const inflight = Number(values.inflight ?? 16);
  const state = mkdtempSync(join(tmpdir(), 'hashgrid-bench-center-'));
  const nats = await NatsServer.start({ stateDir: state });
  const rows = [];
  for (const persistence of [true, false]) {
    const nc = persistence ? await connectBus({ servers: nats.url }) : undefined;
    const chain = new BuiltinChain({ difficulty: 1, refreshMs: 0 });
    const center = await DistributionCenter.start({
      centerId: persistence ? 'bench' : 'bench-mem',
      source: chain,
      ...(nc ? { nc } : {}),
      // ~every nonce meets difficulty 2^-32: the miners need no hashing, the center still checks everything.
      initialDifficulty: 2 ** -32,
      vardiff: { min: 2 ** -32, retargetSeconds: 3600 },
      subAccounts: [{ id: 'bench', password: 'bench-secret', standard: 1 }],
    });
    const server = new StratumServer(center, { allocateExtranonce1: center.allocateExtranonce1 });
    const { port } = await server.listen();
    process.stderr.write(`${persistence ? 'JetStream' : 'memory'}: ${connections} connections × ${inflight} in flight for ${seconds} s ...\n`);
    const child = fork(fileURLToPath(import.meta.url), [], { env: { ...process.env, HASHGRID_BENCH_MINERS: JSON.stringify({ port, connections, seconds, inflight }) } });
    const r = await new Promise<MinerResult>((resolve, reject) => child.once('message', (m) => resolve(m as MinerResult)).once('error', reject));
    child.kill();
    const latency = quantiles(r.latencies);
    rows.push({
      persistence: persistence ? 'jetstream' : 'memory',
      connections,
      inflightPerConnection: inflight,
      acceptedPerSecond: r.accepted / r.seconds,
      rejected: r.rejected,
      centerAccepted: center.stats.accepted,
      ...(center.stored ? { jetstreamMessages: center.stored.batches, sharesPerMessage: center.stored.shares / Math.max(1, center.stored.batches) } : {}),
      submitLatencyMs: { p50: latency.p50, p99: latency.p99 },
    });
    await server.close();
    await center.close();
    chain.close();
    await nc?.close();
  }
  await nats.stop();
  rmSync(state, { recursive: true, force: true });

  const result = { kind: 'center', ...benchEnvironment(), rows, target: { sharesPerSecond: 20_000 } };
  const file = writeBenchResult('center', result);
  console.log(`center share validation on ${result.cpu} (${result.cores} cores), node ${process.version}; miners in a second process\n`);
  console.log(`${'persistence'.padEnd(12)} ${'conns'.padStart(5)} ${'accepted/s'.padStart(11)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'rejected'.padStart(9)} ${'shares/msg'.padStart(11)}`);
  for (const r of rows) {
    const perMessage = r.sharesPerMessage === undefined ? '-' : r.sharesPerMessage.toFixed(1);
    console.log(
      `${r.persistence.padEnd(12)} ${String(r.connections).padStart(5)} ${r.acceptedPerSecond.toFixed(0).padStart(11)} ${r.submitLatencyMs.p50.toFixed(2).padStart(8)} ${r.submitLatencyMs.p99.toFixed(2).padStart(8)} ${String(r.rejected).padStart(9)} ${perMessage.padStart(11)}`,
    );
  }
  console.log(`\ntarget: ≥ 20,000 accepted shares/s\nwrote ${file}`);
}
