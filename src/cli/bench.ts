/**
 * `hashgrid bench` / `npm run bench:hash`: sha256d rates of every CPU path in
 * one run on this machine, with the baselines a user would otherwise write,
 * and the engine's job-switch latency. Prints a table; writes JSON.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, hostname } from 'node:os';
import { join } from 'node:path';
import { sha256 } from '@noble/hashes/sha2.js';
import { createSHA256 } from 'hash-wasm';
import type { MiningJob } from '../core/job.js';
import type { HardwareProfile } from '../bus/schemas.js';
import { createEpochWord } from '../engine/backend.js';
import { measureEngine } from '../engine/calibrate.js';
import { GpuBackend } from '../engine/gpu/gpu-backend.js';
import { closeAllGpus, listAdapters, type AdapterSummary } from '../engine/gpu/webgpu.js';
import { createEngine, HashEngine, type BackendName } from '../engine/index.js';
import { PACKAGE_ROOT } from '../engine/paths.js';
import { hardwareProfile } from '../node/profile.js';
import { parseFlags, parseIntegerFlag, UsageError } from './args.js';
import { benchEnvironment, quantiles, writeBenchResult } from './bench-report.js';
import { benchSvg } from './bench-chart.js';
import { formatRate } from './output.js';

export const BENCH_HELP = `Usage: hashgrid bench [options]

Detects the hardware profile (CPU model, cores, SIMD features, memory, GPU
adapters) and measures sha256d hashrate of every path on this machine in one
run: the wasm engines (SIMD on 1..N threads: the scaling curve), every WebGPU
adapter at its tuned dispatch size, the baselines (@noble/hashes,
node:crypto, hash-wasm; one header at a time), and the engine's job-switch
latency. Prints a table; writes the JSON profile and an SVG chart named
after the machine.

  --seconds <s>       time per measurement (default 3)
  --threads <n>       threads for the all-threads row (default: one per core)
  --out <dir>         where the JSON and SVG go (default bench/results)
  --json              print the JSON instead of the table
  --compare <a> <b>   print two saved profiles (JSON files) side by side; measures nothing:
                      both machines, then every path with both rates and b/a (GPU rows
                      line up by kind: "hardware adapter 1" on both, whatever its name)
`;

export interface BenchRow {
  name: string;
  threads: number;
  hashesPerSecond: number;
  ratioToNoble?: number;
  /** GPU rows: the adapter, its tuned dispatch size, and the rate over the wasm SIMD engine on every core. */
  adapter?: Pick<AdapterSummary, 'index' | 'name' | 'description' | 'software'>;
  dispatchSize?: number;
  ratioToWasm?: number;
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
  /** The machine measured (absent in results written before GPU support). */
  profile?: HardwareProfile;
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
  return quantiles(latencies);
}

/** The gpu engine on one adapter at its tuned dispatch size. */
async function gpuRate(adapter: AdapterSummary, seconds: number): Promise<BenchRow> {
  const epochWord = createEpochWord();
  const backend = new GpuBackend({ epochWord, adapter: String(adapter.index) });
  const hashesPerSecond = await measureEngine(new HashEngine(backend, epochWord), seconds);
  return {
    name: `hashgrid gpu engine: ${adapter.name}`,
    threads: 1,
    hashesPerSecond,
    adapter: { index: adapter.index, name: adapter.name, description: adapter.description, software: adapter.software },
    dispatchSize: backend.dispatchSize,
  };
}

export async function runHashBench(options: {
  seconds: number;
  threads: number;
  out: string;
  log: (line: string) => void;
}): Promise<{ result: HashBenchResult; file: string; svg: string }> {
  const { seconds, threads, log } = options;
  const rows: BenchRow[] = [];
  const adapters = await listAdapters().catch(() => []);
  const steps = 5 + Math.max(0, threads - 2) + adapters.length + 1;
  let done = 0;
  const step = async (what: string, f: () => Promise<BenchRow | BenchRow[]> | BenchRow | BenchRow[]) => {
    log(`[${++done}/${steps}] measuring ${what} ...`);
    const r = await f();
    rows.push(...(Array.isArray(r) ? r : [r]));
  };
  await step('baselines (@noble/hashes, node:crypto)', () => baselines(seconds));
  await step('hash-wasm', () => hashWasmBaseline(seconds));
  await step('wasm scalar engine, 1 thread', () => engineRate('wasm-scalar', 1, seconds));
  await step('wasm SIMD engine, 1 thread', () => engineRate('wasm', 1, seconds));
  if (threads > 1) await step(`wasm SIMD engine, ${threads} threads`, () => engineRate('wasm', threads, seconds));
  // The rest of the scaling curve, after the rows earlier versions wrote (so their order stays).
  for (let t = 2; t < threads; t++) await step(`wasm SIMD engine, ${t} threads`, () => engineRate('wasm', t, seconds));
  for (const a of adapters) await step(`gpu engine on ${a.name}`, () => gpuRate(a, seconds));
  await closeAllGpus();
  log(`[${++done}/${steps}] measuring job-switch latency ...`);
  const switchLatencyMs = await switchLatency(threads, 50);
  const noble = rows[0]!.hashesPerSecond;
  const wasmAll = simdCurve(rows).at(-1)?.hashesPerSecond ?? 0;
  for (const r of rows) {
    r.ratioToNoble = r.hashesPerSecond / noble;
    if (r.adapter && wasmAll) r.ratioToWasm = r.hashesPerSecond / wasmAll;
  }
  const result: HashBenchResult = {
    kind: 'hash',
    ...benchEnvironment(),
    seconds,
    rows,
    switchLatencyMs,
    profile: hardwareProfile(adapters.map((a) => ({ vendor: a.vendor, architecture: a.architecture, description: a.description }))),
  };
  const file = writeBenchResult('hash', result, options.out);
  const svg = join(options.out, `hash-${hostname()}.svg`);
  const gpuRows = rows.filter((r) => r.adapter);
  writeFileSync(svg, await benchSvg(`sha256d on ${result.cpu.trim()} (${result.cores} cores), ${result.host}`, rows, simdCurve(rows), gpuRows));
  return { result, file, svg };
}

/** The wasm SIMD engine's rows by thread count: the scaling curve. */
const simdCurve = (rows: readonly BenchRow[]) =>
  rows.filter((r) => r.name === 'hashgrid wasm SIMD engine').sort((a, b) => a.threads - b.threads);

export function formatHashBench(r: HashBenchResult): string {
  const w = Math.max(...r.rows.map((x) => x.name.length));
  const p = r.profile;
  const lines = [
    `sha256d on ${r.cpu} (${r.cores} cores), node ${r.node}, ${r.seconds} s per row`,
    ...(p
      ? [
          `profile: ${p.hostname}, ${(p.memoryBytes / 2 ** 30).toFixed(1)} GiB, SIMD ${p.simd.join(' ') || 'none'}; GPUs: ${p.gpus.map((g) => `${g.vendor} ${g.architecture} (${g.description})`).join('; ') || 'none'}`,
        ]
      : []),
    '',
    `${'path'.padEnd(w)}  threads  ${'rate'.padStart(11)}  per thread  × noble  × wasm`,
    ...r.rows.map(
      (x) =>
        `${x.name.padEnd(w)}  ${String(x.threads).padStart(7)}  ${formatRate(x.hashesPerSecond).padStart(11)}  ${formatRate(x.hashesPerSecond / x.threads).padStart(10)}  ${x.ratioToNoble!.toFixed(1).padStart(7)}${x.ratioToWasm ? `  ${x.ratioToWasm.toFixed(2).padStart(6)}` : ''}`,
    ),
    '',
    `job switch (new job → all workers on it), ${r.switchLatencyMs.samples} switches: p50 ${r.switchLatencyMs.p50.toFixed(2)} ms, p99 ${r.switchLatencyMs.p99.toFixed(2)} ms`,
  ];
  return lines.join('\n');
}

export async function benchCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(argv, {
    seconds: { type: 'string' },
    threads: { type: 'string' },
    out: { type: 'string' },
    json: { type: 'boolean' },
    compare: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  }, true);
  if (values.help) {
    process.stdout.write(BENCH_HELP);
    return 0;
  }
  if (values.compare) {
    if (positionals.length !== 2) throw new UsageError('--compare', `expected two profile JSON files, got ${positionals.length}`);
    const [a, b] = positionals.map(readBench);
    process.stdout.write(`${compareBench(a!, b!)}\n`);
    return 0;
  }
  if (positionals.length) throw new UsageError('arguments', `unexpected "${positionals[0]}" (files go with --compare)`);
  const seconds = values.seconds === undefined ? 3 : parseIntegerFlag('--seconds', values.seconds, 1, 600);
  const threads = values.threads === undefined ? availableParallelism() : parseIntegerFlag('--threads', values.threads, 1, 1024);
  const out = values.out ?? join(PACKAGE_ROOT, 'bench', 'results');
  const quiet = values.json === true;
  const { result, file, svg } = await runHashBench({ seconds, threads, out, log: (l) => quiet || process.stderr.write(`${l}\n`) });
  if (quiet) process.stdout.write(`${JSON.stringify(result)}\n`);
  else process.stdout.write(`${formatHashBench(result)}\n\nwrote ${file}\nwrote ${svg}\n`);
  return 0;
}

function readBench(path: string): HashBenchResult {
  try {
    const r = JSON.parse(readFileSync(path, 'utf8')) as HashBenchResult;
    if (r.kind !== 'hash' || !Array.isArray(r.rows)) throw new Error('not a hashgrid bench result');
    return r;
  } catch (e) {
    throw new UsageError('--compare', `${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/**
 * What a row measured, as a key that lines up between machines: the path and
 * thread count, and for a GPU its kind and rank among that kind instead of
 * its adapter's name (an H100 and an H200 are both "hardware adapter 1").
 */
function pathKeys(rows: readonly BenchRow[]): string[] {
  const seen = { hardware: 0, software: 0 };
  return rows.map((r) => {
    if (!r.adapter) return `${r.name} ×${r.threads}`;
    const kind = r.adapter.software ? 'software' : 'hardware';
    return `hashgrid gpu engine, ${kind} adapter ${++seen[kind]}`;
  });
}

/** The hardware profile of a result by label, GPUs as `gpu 1`, `gpu 2`, ... (older results have no profile: what they do have). */
function profileFields(r: HashBenchResult): Map<string, string> {
  const p = r.profile;
  const gpus = p ? p.gpus.map((g) => `${g.vendor} ${g.architecture} (${g.description})`) : [];
  return new Map([
    ['host', r.host],
    ['cpu', r.cpu.trim()],
    ['cores', String(r.cores)],
    ['memory', p ? `${(p.memoryBytes / 2 ** 30).toFixed(1)} GiB` : '—'],
    ['simd', p ? p.simd.join(' ') || 'none' : '—'],
    ...(gpus.length ? gpus.map((g, i): [string, string] => [`gpu ${i + 1}`, g]) : [['gpu 1', p ? 'none' : '—'] as [string, string]]),
    ['node', r.node],
    ['date', r.date],
  ]);
}

/** Two profiles side by side: both machines, then every path of either with both rates and b/a. */
export function compareBench(a: HashBenchResult, b: HashBenchResult): string {
  const [pa, pb] = [profileFields(a), profileFields(b)];
  const gpuCount = Math.max(...[pa, pb].map((p) => [...p.keys()].filter((k) => k.startsWith('gpu ')).length));
  const labels = ['host', 'cpu', 'cores', 'memory', 'simd', ...Array.from({ length: gpuCount }, (_, i) => `gpu ${i + 1}`), 'node', 'date'];
  const lw = Math.max(...labels.map((l) => l.length));
  const pw = Math.max(...labels.map((l) => (pa.get(l) ?? '—').length));
  const profile = [`${''.padEnd(lw)}  ${'a'.padEnd(pw)}  b`, ...labels.map((l) => `${l.padEnd(lw)}  ${(pa.get(l) ?? '—').padEnd(pw)}  ${pb.get(l) ?? '—'}`)];

  const [ka, kb] = [pathKeys(a.rows), pathKeys(b.rows)];
  const keys = [...new Set([...ka, ...kb])];
  const rate = (r: HashBenchResult, rk: string[], k: string) => r.rows[rk.indexOf(k)]?.hashesPerSecond;
  const w = Math.max(4, ...keys.map((k) => k.length));
  const col = (r: HashBenchResult) => `${r.host} (${r.cores} cores)`;
  const cw = Math.max(11, col(a).length, col(b).length);
  const show = (v: number | undefined) => (v === undefined ? '—' : formatRate(v)).padStart(cw);
  return [
    ...profile,
    '',
    `${'path'.padEnd(w)}  ${col(a).padStart(cw)}  ${col(b).padStart(cw)}    b/a`,
    ...keys.map((k) => {
      const [x, y] = [rate(a, ka, k), rate(b, kb, k)];
      return `${k.padEnd(w)}  ${show(x)}  ${show(y)}  ${x && y ? (y / x).toFixed(2).padStart(5) : '    —'}`;
    }),
  ].join('\n');
}
