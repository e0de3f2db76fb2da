/**
 * npm run bench:bus — job-switch and share latency over a real nats-server on
 * loopback.
 *
 *   switch: WorkAssignment sent → every engine lane of the node on the new job
 *           (and the engine's part: the node handed the job to its engine →
 *           every lane on it)
 *   share:  a worker found a hit (the end of its ~1 ms slice, the worker's
 *           clock) → a subscriber of hashgrid.shares.* has it; this includes
 *           the hit ring, the reference re-check, the outbox and nats-server
 *
 * A switch not seen within 5 s is counted as missed and reported, not
 * dropped from the figures silently.
 *
 * The first --warmup switches are run the same way but left out of the
 * figures: while a fresh process runs its first switches, V8 tiers the
 * switch path up (TurboFan compiles of 1–20 ms each, about fifty of them)
 * on its background threads, which take a core from a hashing worker on a
 * machine where every core hashes. A node that has been up for a minute
 * has done that; the figures are for such a node.
 *
 * Flags: --switches N measured (default 200), --warmup W switches before
 * them (default 100), --seconds S of share streaming (default 10),
 * --threads T hashing threads (default one per core; with every core hashing,
 * the node's event loop shares the CPU with its workers).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { connectBus } from '../src/bus/connect.js';
import { request } from '../src/bus/rpc.js';
import { SCHEMA_VERSION, WorkAccepted, WorkAssignment } from '../src/bus/schemas.js';
import { NatsServer } from '../src/bus/server.js';
import { subjects } from '../src/bus/subjects.js';
import { ensureSharesStream } from '../src/bus/jetstream.js';
import { bytesToHex } from '../src/core/bytes.js';
import { MAX_TARGET, targetToHex } from '../src/core/target.js';
import { benchEnvironment, quantiles, writeBenchResult, type Quantiles } from '../src/cli/bench-report.js';
import { NodeAgent } from '../src/node/agent.js';

const { values } = parseArgs({ options: { switches: { type: 'string' }, warmup: { type: 'string' }, seconds: { type: 'string' }, threads: { type: 'string' } } });
const switches = Number(values.switches ?? 200);
const warmup = Number(values.warmup ?? 100);
const seconds = Number(values.seconds ?? 10);
const threads = Number(values.threads ?? availableParallelism());
for (const [flag, value, min] of [['--switches', switches, 1], ['--warmup', warmup, 0], ['--seconds', seconds, 0], ['--threads', threads, 1]] as const) {
  if (!Number.isInteger(value) || value < min) throw new Error(`${flag}: expected a whole number >= ${min}, got ${JSON.stringify(values[flag.slice(2) as keyof typeof values])}`);
}

const state = mkdtempSync(join(tmpdir(), 'hashgrid-bench-bus-'));
const server = await NatsServer.start({ stateDir: state });
const service = await connectBus({ servers: server.url, name: 'bench-service' });
const nodeConn = await connectBus({ servers: server.url, name: 'bench-node' });
await ensureSharesStream(service);

const switchedAt = new Map<string, number>();
/** Resolves the wait for a switch: the bench sleeps on its event instead of polling (a polling loop would take a core from the workers). */
const switchWaiters = new Map<string, () => void>();
const engineSwitch: number[] = [];
const foundAt = new Map<string, number>();
const shareLatency: number[] = [];
const agent = await NodeAgent.start({
  nc: nodeConn,
  nodeId: 'bench-node',
  calibrateMs: 500,
  threads,
  events: {
    onSwitched: (jobId, at, engineMs) => {
      switchedAt.set(jobId, at);
      if (/^bench-\d+$/.test(jobId) && jobId !== `bench-${switches}`) engineSwitch.push(engineMs);
      switchWaiters.get(jobId)?.();
    },
    onShare: (msgId, at) => foundAt.set(msgId, at),
  },
});
service.subscribe(subjects.allShares, {
  callback: (_, m) => {
    const id = m.headers?.get('Nats-Msg-Id');
    const t = id ? foundAt.get(id) : undefined;
    if (t !== undefined) shareLatency.push(performance.now() - t);
  },
});
await service.flush();

const job = (i: number, target: bigint) => ({
  v: SCHEMA_VERSION,
  jobId: `bench-${i}`,
  owner: 'bench',
  header: bytesToHex(new Uint8Array(80).fill(i & 0xff)),
  nonceStart: 0,
  nonceCount: 2 ** 32,
  shareTarget: targetToHex(target),
});

process.stderr.write(`warming up with ${warmup} job switches, then measuring ${switches} ...\n`);
const switchLatency: number[] = [];
let missedSwitches = 0;
for (let i = -warmup; i < switches; i++) {
  const sentAt = performance.now();
  await request(service, subjects.nodeWork('bench-node'), WorkAssignment, job(i, 1n), WorkAccepted, 'work');
  // The switch is reported once every lane started the new job.
  const id = `bench-${i}`;
  if (!switchedAt.has(id)) {
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      switchWaiters.set(id, resolve);
      timer = setTimeout(resolve, 5000);
    });
    clearTimeout(timer);
    switchWaiters.delete(id);
  }
  if (i >= 0) {
    if (switchedAt.has(id)) switchLatency.push(switchedAt.get(id)! - sentAt);
    else missedSwitches++;
  }
  // Switch at a random point inside running chunks.
  await new Promise((r) => setTimeout(r, 10 + Math.random() * 40));
}

process.stderr.write(`streaming shares for ${seconds} s ...\n`);
// About 200 shares per second at a few MH/s.
const rate = agent.calibratedRate || 1e6;
await request(service, subjects.nodeWork('bench-node'), WorkAssignment, job(switches, (MAX_TARGET / BigInt(Math.ceil(rate))) * 200n), WorkAccepted, 'work');
await new Promise((r) => setTimeout(r, seconds * 1000));

await agent.stop();
await nodeConn.close();
await service.close();
await server.stop();
rmSync(state, { recursive: true, force: true });

const result = {
  kind: 'bus',
  ...benchEnvironment(),
  hashingThreads: threads,
  warmupSwitches: warmup,
  switchLatencyMs: quantiles(switchLatency),
  /** The engine's part of each switch: the node handed the job to its engine → every lane on it. */
  engineSwitchLatencyMs: quantiles(engineSwitch),
  /** Switches not seen within 5 s: not in the quantiles. */
  missedSwitches,
  shareLatencyMs: quantiles(shareLatency),
  targets: { switchP99Ms: 10, shareP50Ms: 2 },
};
const file = writeBenchResult('bus', result);
const row = (name: string, q: Quantiles, target: string) =>
  `${name.padEnd(34)} ${String(q.samples).padStart(7)} ${q.p50.toFixed(2).padStart(8)} ${q.p99.toFixed(2).padStart(8)} ${q.max.toFixed(2).padStart(8)}   ${target}`;
console.log(`bus latency on ${result.cpu} (${result.cores} cores, ${threads} hashing), nats-server on loopback, node ${process.version}\n`);
console.log(`${'ms'.padEnd(34)} ${'samples'.padStart(7)} ${'p50'.padStart(8)} ${'p99'.padStart(8)} ${'max'.padStart(8)}   target`);
console.log(row('job switch (sent → all lanes on it)', result.switchLatencyMs, 'p99 < 10 ms'));
console.log(row('  of which engine (taken → lanes on it)', result.engineSwitchLatencyMs, ''));
console.log(row('share (found in worker → subscriber)', result.shareLatencyMs, 'p50 < 2 ms'));
console.log(`\nswitches not seen within 5 s (left out of the quantiles): ${missedSwitches} of ${switches} (after ${warmup} warm-up switches, not in the figures)`);
console.log(`\nwrote ${file}`);
