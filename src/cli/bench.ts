/**
 * `hashgrid bench` / `npm run bench:hash`: sha256d rates of every CPU path in
 * one run on this machine, with the baselines a user would otherwise write,
 * and the engine's job-switch latency. Prints a table; writes JSON.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, hostname } from 'node:os';
import { join } from 'node:path';
import { sha256 } from '@noble/hashes/sha2.js';
import { createSHA256 } from 'hash-wasm';
import type { MiningJob } from '../core/job.js';
import { createEngine, type BackendName } from '../engine/index.js';
import { PACKAGE_ROOT } from '../engine/paths.js';
import { parseFlags, parseIntegerFlag } from './args.js';
import { formatRate } from './output.js';

export const BENCH_HELP = `Usage: hashgrid bench [options]

Measures sha256d hashrate of every CPU path on this machine in one run, next to
the baselines (@noble/hashes, node:crypto, hash-wasm; one header at a time),
and the engine's job-switch latency. Prints a table and writes JSON.

  --seconds <s>     time per measurement (default 3)
  --threads <n>     threads for the all-threads row (default: one per core)
  --out <dir>       where the JSON goes (default bench/results)
  --json            print the JSON instead of the table
`;

export interface BenchRow {
  name: string;
  threads: number;
  hashesPerSecond: number;
  ratioToNoble?: number;
}

export interface HashBenchResult {
  kind: 'hash';
  date: string;
  host: string;
  cpu: string;
  cores: number;
  node: string;
  seconds: number;
  rows: BenchRow[];
  switchLatencyMs: { samples: number; p50: number; p99: number; max: number };
}

/** A header from block 125552, the Bitcoin wiki's example; any header works. */
const HEADER = Buffer.from(
  '0100000081cd02ab7e569e8bcd9317e2fe99f2de44d49ab2b8851ba4a308000000000000e320b6c2fffc8d750423db8b1eb942ae710e951ed797f7affc8892b0f1fc122bc7f5d74df2b9441a42a14695',
  'hex',
);

function timeLoop(seconds: number, body: (i: number) => void): number {
  let n = 0;
  const end = performance.now() + seconds * 1000;
  const t0 = performance.now();
  while (performance.now() < end) {
    for (let i = 0; i < 1000; i++) body(n + i);
    n += 1000;
  }
  return (n * 1000) / (performance.now() - t0);
}

function baselines(seconds: number): BenchRow[] {
  const header = Uint8Array.from(HEADER);
  const view = new DataView(header.buffer);
  const nonce = (i: number) => view.setUint32(76, i, true);
  const rows: BenchRow[] = [];
  rows.push({
    name: '@noble/hashes sha256(sha256(h))',
    threads: 1,
    hashesPerSecond: timeLoop(seconds, (i) => (nonce(i), sha256(sha256(header)))),
  });
  rows.push({
    name: 'node:crypto createHash x2',
    threads: 1,
    hashesPerSecond: timeLoop(seconds, (i) => {
      nonce(i);
      createHash('sha256').update(createHash('sha256').update(header).digest()).digest();
    }),
  });
  return rows;
}

async function hashWasmBaseline(seconds: number): Promise<BenchRow> {
  const header = Uint8Array.from(HEADER);
  const view = new DataView(header.buffer);
  const hasher = await createSHA256();
  return {
    name: 'hash-wasm sha256 x2 (reused hasher)',
    threads: 1,
    hashesPerSecond: timeLoop(seconds, (i) => {
      view.setUint32(76, i, true);
      const first = hasher.init().update(header).digest('binary');
      hasher.init().update(first).digest('binary');
    }),
  };
}

async function engineRate(backend: BackendName, threads: number, seconds: number): Promise<BenchRow> {
  const engine = createEngine({ backend, threads });
  try {
    // Warm up: start the workers and let V8 optimize the kernel before timing.
    await engine.scan({ header: HEADER, start: 0, count: 1 << 18, target: 1n });
    const t0 = performance.now();
    let hashes = 0;
    let start = 1 << 20;
    while (performance.now() - t0 < seconds * 1000) {
      const count = 1 << 22;
      const r = await engine.scan({ header: HEADER, start, count, target: 1n });
      hashes += r.hashes;
      start += count;
    }
    const label = backend === 'wasm' ? 'hashgrid wasm SIMD engine' : 'hashgrid wasm scalar engine';
    return { name: label, threads, hashesPerSecond: (hashes * 1000) / (performance.now() - t0) };
  } finally {
    await engine.close();
  }
}

/** New job → every worker hashing it, over `switches` switches at random moments. */
async function switchLatency(threads: number, switches: number) {
  const engine = createEngine({ backend: 'wasm', threads });
  const latencies: number[] = [];
  try {
    const job = (id: number): MiningJob => ({
      id: `job-${id}`,
      target: 1n,
      header: (roll) => {
        const h = Uint8Array.from(HEADER);
        new DataView(h.buffer).setUint32(68, id * 1000 + roll, true);
        return h;
      },
    });
    await engine.scan({ header: HEADER, start: 0, count: 1 << 18, target: 1n });
    for (let i = 0; i < switches; i++) {
      const switched = new Promise<number>((resolve) => engine.mine(job(i), { onSwitched: resolve }));
      latencies.push(await switched);
      // Switch at a random point inside running chunks.
      await new Promise((r) => setTimeout(r, 20 + Math.random() * 80));
    }
  } finally {
    await engine.close();
  }
  latencies.sort((a, b) => a - b);
  const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!;
  return { samples: latencies.length, p50: q(0.5), p99: q(0.99), max: latencies[latencies.length - 1]! };
}

export async function runHashBench(options: {
  seconds: number;
  threads: number;
  out: string;
  log: (line: string) => void;
}): Promise<{ result: HashBenchResult; file: string }> {
  const { seconds, threads, log } = options;
  const rows: BenchRow[] = [];
  const step = async (what: string, f: () => Promise<BenchRow | BenchRow[]> | BenchRow | BenchRow[]) => {
    log(`measuring ${what} ...`);
    const r = await f();
    rows.push(...(Array.isArray(r) ? r : [r]));
  };
  await step('baselines (@noble/hashes, node:crypto)', () => baselines(seconds));
  await step('hash-wasm', () => hashWasmBaseline(seconds));
  await step('wasm scalar engine, 1 thread', () => engineRate('wasm-scalar', 1, seconds));
  await step('wasm SIMD engine, 1 thread', () => engineRate('wasm', 1, seconds));
  if (threads > 1) await step(`wasm SIMD engine, ${threads} threads`, () => engineRate('wasm', threads, seconds));
  log('measuring job-switch latency ...');
  const switchLatencyMs = await switchLatency(threads, 50);
  const noble = rows[0]!.hashesPerSecond;
  for (const r of rows) r.ratioToNoble = r.hashesPerSecond / noble;
  const result: HashBenchResult = {
    kind: 'hash',
    date: new Date().toISOString(),
    host: hostname(),
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: availableParallelism(),
    node: process.version,
    seconds,
    rows,
    switchLatencyMs,
  };
  mkdirSync(options.out, { recursive: true });
  const file = join(options.out, `hash-${hostname()}.json`);
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  return { result, file };
}

export function formatHashBench(r: HashBenchResult): string {
  const w = Math.max(...r.rows.map((x) => x.name.length));
  const lines = [
    `sha256d on ${r.cpu} (${r.cores} cores), node ${r.node}, ${r.seconds} s per row`,
    '',
    `${'path'.padEnd(w)}  threads  ${'rate'.padStart(11)}  per thread  × noble`,
    ...r.rows.map(
      (x) =>
        `${x.name.padEnd(w)}  ${String(x.threads).padStart(7)}  ${formatRate(x.hashesPerSecond).padStart(11)}  ${formatRate(x.hashesPerSecond / x.threads).padStart(10)}  ${x.ratioToNoble!.toFixed(1).padStart(7)}`,
    ),
    '',
    `job switch (new job → all workers on it), ${r.switchLatencyMs.samples} switches: p50 ${r.switchLatencyMs.p50.toFixed(2)} ms, p99 ${r.switchLatencyMs.p99.toFixed(2)} ms`,
  ];
  return lines.join('\n');
}

export async function benchCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, {
    seconds: { type: 'string' },
    threads: { type: 'string' },
    out: { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(BENCH_HELP);
    return 0;
  }
  const seconds = values.seconds === undefined ? 3 : parseIntegerFlag('--seconds', values.seconds, 1, 600);
  const threads = values.threads === undefined ? availableParallelism() : parseIntegerFlag('--threads', values.threads, 1, 1024);
  const out = values.out ?? join(PACKAGE_ROOT, 'bench', 'results');
  const quiet = values.json === true;
  const { result, file } = await runHashBench({ seconds, threads, out, log: (l) => quiet || process.stderr.write(`${l}\n`) });
  if (quiet) process.stdout.write(`${JSON.stringify(result)}\n`);
  else process.stdout.write(`${formatHashBench(result)}\n\nwrote ${file}\n`);
  return 0;
}
