/**
 * npm run bench:gpu — sha256d MH/s of the WGSL kernel per WebGPU adapter and
 * dispatch size, and, in the same run, the wasm SIMD engine on every core:
 * on a software adapter (lavapipe) both use the same CPU cores, so the ratio
 * says which path this machine should run (the VM is noisy: compare within one run).
 * Prints a table and writes bench/results/gpu-<host>.json (or under --out).
 *
 *   npm run bench:gpu -- [--seconds 2] [--sizes 262144,1048576,4194304] [--out <dir>]
 */
import { availableParallelism, loadavg } from 'node:os';
import { parseFlags, parseIntegerFlag } from '../src/cli/args.js';
import { benchEnvironment, writeBenchResult } from '../src/cli/bench-report.js';
import { formatRate } from '../src/cli/output.js';
import { createEpochWord } from '../src/engine/backend.js';
import { measureEngine, measureRate } from '../src/engine/calibrate.js';
import { GpuBackend } from '../src/engine/gpu/gpu-backend.js';
import { closeAllGpus, listAdapters, openGpu, type AdapterSummary } from '../src/engine/gpu/webgpu.js';
import { HashEngine } from '../src/engine/index.js';

const { values } = parseFlags(process.argv.slice(2), { seconds: { type: 'string' }, sizes: { type: 'string' }, out: { type: 'string' } });
const seconds = values.seconds === undefined ? 2 : parseIntegerFlag('--seconds', values.seconds, 1, 600);
const sizes = (values.sizes ?? '262144,1048576,4194304').split(',').map((s) => parseIntegerFlag('--sizes', s, 4096, 2 ** 30));

interface GpuRow {
  adapter: Pick<AdapterSummary, 'index' | 'name' | 'vendor' | 'architecture' | 'description' | 'software'>;
  /** Nonces per dispatch, and whether it was the tuned size. */
  dispatchSize: number;
  tuned: boolean;
  /** Sleeps through most of a dispatch before polling for it (the default). */
  paced: boolean;
  compileMs: number;
  hashesPerSecond: number;
  ratioToWasm: number;
}

const cores = availableParallelism();
// The 1-minute load average before and after: other processes on the cores make a software adapter's figures move.
const loadBefore = loadavg()[0]!;
console.error(`measuring wasm SIMD engine, ${cores} threads ...`);
const wasm = await measureRate('wasm', seconds, cores);
const gpus: GpuRow[] = [];
for (const adapter of await listAdapters()) {
  const ctx = await openGpu(String(adapter.index));
  console.error(`${adapter.description}: pipelines compiled in ${ctx.compileMs.toFixed(0)} ms`);
  for (const [size, paced] of [[0, true], [0, false], ...sizes.map((s) => [s, true] as const)] as const) {
    console.error(`measuring gpu[${adapter.index}] ${size ? `dispatch ${size}` : 'tuned dispatch'}${paced ? '' : ', polling'} ...`);
    const epochWord = createEpochWord();
    const backend = new GpuBackend({ epochWord, adapter: String(adapter.index), pace: paced, ...(size ? { dispatchSize: size } : {}) });
    const rate = await measureEngine(new HashEngine(backend, epochWord), seconds);
    const { index, name, vendor, architecture, description, software } = adapter;
    gpus.push({
      adapter: { index, name, vendor, architecture, description, software },
      dispatchSize: backend.dispatchSize,
      tuned: size === 0,
      paced,
      compileMs: ctx.compileMs,
      hashesPerSecond: rate,
      ratioToWasm: rate / wasm,
    });
  }
  await closeAllGpus();
}

const result = { kind: 'gpu', ...benchEnvironment(), seconds, loadAverage: { before: loadBefore, after: loadavg()[0]! }, wasm: { threads: cores, hashesPerSecond: wasm }, gpus };
const file = writeBenchResult('gpu', result, ...(values.out ? [values.out] : []));

const rows = [
  { path: `wasm SIMD engine, ${cores} threads`, rate: wasm },
  ...gpus.map((g) => ({
    path: `gpu[${g.adapter.index}] ${g.adapter.name}, ${g.tuned ? `tuned dispatch (${g.dispatchSize})` : `dispatch ${g.dispatchSize}`}${g.paced ? '' : ', polling (no pacing)'}`,
    rate: g.hashesPerSecond,
  })),
];
const w = Math.max(...rows.map((r) => r.path.length));
console.log(`${'path'.padEnd(w)}  ${'rate'.padStart(11)}  × wasm`);
for (const r of rows) console.log(`${r.path.padEnd(w)}  ${formatRate(r.rate).padStart(11)}  ${(r.rate / wasm).toFixed(2).padStart(6)}`);
console.log(`\nload average ${result.loadAverage.before.toFixed(2)} → ${result.loadAverage.after.toFixed(2)} on ${cores} cores; wrote ${file}`);
