/**
 * npm run bench:gpu — sha256d MH/s of the WGSL kernel per WebGPU adapter and
 * dispatch size, and, in the same run, the wasm SIMD engine on every core:
 * on a software adapter (lavapipe) both use the same CPU cores, so the ratio
 * says which path this machine should run (the VM is noisy: compare within one run).
 *
 *   npm run bench:gpu -- [--seconds 2] [--sizes 262144,1048576,4194304]
 */
import { availableParallelism } from 'node:os';
import { parseFlags, parseIntegerFlag } from '../src/cli/args.js';
import { formatRate } from '../src/cli/output.js';
import { createEpochWord } from '../src/engine/backend.js';
import { measureEngine, measureRate } from '../src/engine/calibrate.js';
import { GpuBackend } from '../src/engine/gpu/gpu-backend.js';
import { closeAllGpus, listAdapters, openGpu } from '../src/engine/gpu/webgpu.js';
import { HashEngine } from '../src/engine/index.js';

const { values } = parseFlags(process.argv.slice(2), { seconds: { type: 'string' }, sizes: { type: 'string' } });
const seconds = values.seconds === undefined ? 2 : parseIntegerFlag('--seconds', values.seconds, 1, 600);
const sizes = (values.sizes ?? '262144,1048576,4194304').split(',').map((s) => parseIntegerFlag('--sizes', s, 4096, 2 ** 30));

const rows: { path: string; rate: number }[] = [];
const cores = availableParallelism();
console.error(`measuring wasm SIMD engine, ${cores} threads ...`);
const wasm = await measureRate('wasm', seconds, cores);
rows.push({ path: `wasm SIMD engine, ${cores} threads`, rate: wasm });
for (const adapter of await listAdapters()) {
  const ctx = await openGpu(String(adapter.index));
  console.error(`${adapter.description}: pipelines compiled in ${ctx.compileMs.toFixed(0)} ms`);
  for (const [size, pace] of [[0, true], [0, false], ...sizes.map((s) => [s, true] as const)] as const) {
    const label = `${size ? `dispatch ${size}` : 'tuned dispatch'}${pace ? '' : ', polling (no pacing)'}`;
    console.error(`measuring gpu[${adapter.index}] ${label} ...`);
    const epochWord = createEpochWord();
    const backend = new GpuBackend({ epochWord, adapter: String(adapter.index), pace, ...(size ? { dispatchSize: size } : {}) });
    const rate = await measureEngine(new HashEngine(backend, epochWord), seconds);
    rows.push({ path: `gpu[${adapter.index}] ${adapter.name}, ${label}${size ? '' : ` (${backend.dispatchSize})`}`, rate });
  }
  await closeAllGpus();
}
const w = Math.max(...rows.map((r) => r.path.length));
console.log(`${'path'.padEnd(w)}  ${'rate'.padStart(11)}  × wasm`);
for (const r of rows) console.log(`${r.path.padEnd(w)}  ${formatRate(r.rate).padStart(11)}  ${(r.rate / wasm).toFixed(2).padStart(6)}`);
