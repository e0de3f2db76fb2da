/**
 * `auto`: measure the candidate backends briefly and run the fastest.
 *
 * Nothing is assumed about which is faster. On a CPU-only Xeon, WGSL through
 * lavapipe (LLVM, AVX-512) can beat the wasm SIMD kernel; on a GPU server the
 * GPU wins by orders of magnitude, and wasm threads on cores its driver leaves
 * idle add a little. So the candidates are: wasm on every core; every GPU
 * adapter together (hardware ones; a software adapter is tried on its own
 * too); and each GPU set plus 1..cores wasm threads. Each runs for a moment;
 * the fastest wins. The choice is cached per hardware profile in the state
 * directory, so a node measures once per machine (and again after an upgrade).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { WGSL_SCAN_FILE } from './codegen/wgsl.js';
import { listAdapters, type AdapterSummary } from './gpu/webgpu.js';
import { createEngine, describeSpec, gpuBackendsOf, type BackendChoice, type BackendPlan, type BackendSpec, type HashEngine } from './index.js';
import { PACKAGE_ROOT, WASM_MODULE } from './paths.js';

/** The state directory: $HASHGRID_STATE_DIR, else ~/.local/state/hashgrid. */
export const stateDir = (): string => process.env.HASHGRID_STATE_DIR ?? join(homedir(), '.local', 'state', 'hashgrid');

export interface Measurement {
  spec: BackendSpec;
  name: string;
  hashesPerSecond: number;
}

/** A header to hash: block 125552's, the Bitcoin wiki example. Any header works. */
export const BENCH_HEADER = Uint8Array.from(
  Buffer.from(
    '0100000081cd02ab7e569e8bcd9317e2fe99f2de44d49ab2b8851ba4a308000000000000e320b6c2fffc8d750423db8b1eb942ae710e951ed797f7affc8892b0f1fc122bc7f5d74df2b9441a42a14695',
    'hex',
  ),
);

/**
 * sha256d rate of an engine on `spec` over `seconds`, after a warm-up (worker
 * start, JIT, GPU tuning). Scans grow with the measured rate so that each
 * takes about a quarter second on any hardware.
 */
export async function measureRate(spec: BackendSpec, seconds: number, threads?: number): Promise<number> {
  return measureEngine(createEngine({ backend: spec, ...(threads ? { threads } : {}) }), seconds);
}

/** measureRate on a given engine, which it closes. */
export async function measureEngine(engine: HashEngine, seconds: number): Promise<number> {
  try {
    await Promise.all(gpuBackendsOf(engine.backend).map((g) => g.ready));
    const scan = async (start: number, count: number) =>
      (await engine.scan({ header: BENCH_HEADER, start, count, target: 1n })).hashes;
    let count = 1 << 18;
    const w0 = performance.now();
    await scan(0, count);
    count = Math.max(1 << 16, Math.min(2 ** 31, Math.round((count / (performance.now() - w0)) * 250)));
    let hashes = 0;
    let start = 1 << 18;
    const t0 = performance.now();
    while (performance.now() - t0 < seconds * 1000) {
      if (start + count > 2 ** 32) start = 0;
      hashes += await scan(start, count);
      start += count;
    }
    return (hashes * 1000) / (performance.now() - t0);
  } finally {
    await engine.close();
  }
}

/**
 * The candidates `auto` measures on this machine (see the module comment).
 * With `threadCap` (the user's --threads), at most that many wasm threads, and
 * no software adapter: its driver threads would use every core regardless.
 */
export function candidates(adapters: readonly AdapterSummary[], cores: number, threadCap?: number): BackendPlan[] {
  const hardware = adapters.filter((a) => !a.software).map((a) => String(a.index));
  const software = threadCap ? [] : adapters.filter((a) => a.software).map((a) => String(a.index));
  cores = Math.min(cores, threadCap ?? cores);
  const gpuSets = [...(hardware.length ? [hardware] : []), ...software.map((s) => [s])];
  const plans: BackendPlan[] = [{ gpus: [], wasmThreads: cores }];
  for (const gpus of gpuSets) for (let t = 0; t <= cores; t++) plans.push({ gpus, wasmThreads: t });
  return plans;
}

/** What identifies a machine for calibration: CPU, cores, adapters, and the kernels' own text. */
export function profileKey(adapters: readonly AdapterSummary[]): string {
  const kernels = [WGSL_SCAN_FILE, WASM_MODULE].map((f) => {
    try {
      return createHash('sha256').update(readFileSync(join(PACKAGE_ROOT, f))).digest('hex').slice(0, 12);
    } catch {
      return 'missing';
    }
  });
  return JSON.stringify({
    cpu: cpus()[0]?.model?.trim() ?? 'unknown',
    cores: availableParallelism(),
    adapters: adapters.map((a) => a.description),
    kernels,
    node: process.versions.node,
  });
}

export interface Calibration {
  key: string;
  date: string;
  chosen: BackendSpec;
  measurements: Measurement[];
}

export interface CalibrateOptions {
  /** Seconds per candidate (default 1). */
  seconds?: number;
  /** Ignore (and replace) a cached calibration. */
  fresh?: boolean;
  /** Cache file (default <stateDir>/calibration.json). */
  cacheFile?: string;
  /** The user's --threads: caps wasm threads (see `candidates`). */
  threads?: number;
  /** Progress lines. */
  log?: (line: string) => void;
}

type Cache = Record<string, Calibration>;

function readCache(file: string): Cache {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Cache;
  } catch {
    return {};
  }
}

/** Measures every candidate and picks the fastest (or returns this profile's cached choice). */
export async function calibrate(options: CalibrateOptions = {}): Promise<Calibration> {
  const file = options.cacheFile ?? join(stateDir(), 'calibration.json');
  const adapters = await listAdapters().catch(() => []);
  const plans = candidates(adapters, availableParallelism(), options.threads);
  const only = plans.length === 1 ? plans[0]! : undefined;
  if (only) return { key: '', date: new Date().toISOString(), chosen: 'wasm', measurements: [{ spec: 'wasm', name: describeSpec(only), hashesPerSecond: 0 }] };
  const key = JSON.stringify([profileKey(adapters), options.threads ?? 0]);
  const cache = readCache(file);
  const cached = cache[key];
  if (cached && !options.fresh) return cached;
  const measurements: Measurement[] = [];
  for (const plan of plans) {
    const spec: BackendSpec = plan.gpus.length === 0 ? 'wasm' : plan;
    const name = describeSpec(plan);
    options.log?.(`auto: measuring ${name} ...`);
    try {
      const hashesPerSecond = await measureRate(spec, options.seconds ?? 1, plan.gpus.length === 0 ? plan.wasmThreads : undefined);
      measurements.push({ spec, name, hashesPerSecond });
      options.log?.(`auto: ${name} ${(hashesPerSecond / 1e6).toFixed(2)} MH/s`);
    } catch (e) {
      options.log?.(`auto: ${name} failed: ${(e as Error).message}`);
    }
  }
  const best = measurements.reduce((a, b) => (b.hashesPerSecond > a.hashesPerSecond ? b : a), measurements[0]!);
  const result: Calibration = { key, date: new Date().toISOString(), chosen: best?.spec ?? 'wasm', measurements };
  try {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, `${JSON.stringify({ ...cache, [key]: result }, null, 2)}\n`);
  } catch (e) {
    options.log?.(`auto: could not cache the calibration in ${file}: ${(e as Error).message}`);
  }
  return result;
}

/** A user's choice made concrete: `auto` becomes the calibrated spec; a name stays itself. */
export async function resolveBackend(choice: BackendChoice, options: CalibrateOptions = {}): Promise<BackendSpec> {
  return choice === 'auto' ? (await calibrate(options)).chosen : choice;
}
