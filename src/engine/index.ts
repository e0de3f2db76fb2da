/**
 * Creating an engine by backend name. The backend list lives here and only
 * here; the CLI and the node agent take their choices from it.
 */
import { ErrorCode, HashgridError } from '../core/errors.js';
import type { Backend, EpochWord } from './backend.js';
import { createEpochWord } from './backend.js';
import { HashEngine, type EngineOptions } from './engine.js';
import { FallbackBackend } from './fallback.js';
import { GpuBackend } from './gpu/gpu-backend.js';
import type { AdapterSelector } from './gpu/webgpu.js';
import { MixBackend } from './mix.js';
import { PoolBackend } from './wasm/pool-backend.js';

/** Backends by name: what `--backend` accepts (with `auto`). */
export const BACKENDS = {
  wasm: 'WebAssembly v128 SIMD kernel on a worker thread per core',
  gpu: 'WGSL kernel on a WebGPU adapter (Dawn): a GPU, or lavapipe software Vulkan on the CPU',
  'wasm-scalar': 'WebAssembly scalar kernel (one nonce at a time), for comparison',
  reference: '@noble/hashes, one header at a time: slow, for checking',
} as const;
export type BackendName = keyof typeof BACKENDS;

/**
 * Several backends on one job (what `auto` may pick): the listed GPU
 * adapters (selectors: index or name, see AdapterSelector) and wasm threads.
 */
export interface BackendPlan {
  gpus: string[];
  wasmThreads: number;
}

/** What an engine runs: one backend by name, or a measured mix. */
export type BackendSpec = BackendName | BackendPlan;

export interface CreateEngineOptions extends EngineOptions {
  /** Default `wasm`. */
  backend?: BackendSpec;
  /** Worker threads for CPU backends (default: one per core). */
  threads?: number;
  /** GPU adapter for `gpu` (default $HASHGRID_GPU, else the high-performance one). */
  adapter?: AdapterSelector;
  /** Where the engine reports events an operator should see, such as a GPU falling back to wasm (default stderr). */
  log?: (line: string) => void;
}

export function parseBackendName(name: string): BackendName {
  if (!Object.hasOwn(BACKENDS, name)) {
    throw new HashgridError(ErrorCode.UNKNOWN_BACKEND, `backend: expected one of auto, ${Object.keys(BACKENDS).join(', ')}, got "${name}"`, {
      backend: name,
    });
  }
  return name as BackendName;
}

/** A backend choice as users give it: a backend name, or `auto` (measure and pick). */
export type BackendChoice = BackendName | 'auto';

export function parseBackendChoice(name: string): BackendChoice {
  return name === 'auto' ? 'auto' : parseBackendName(name);
}

/** A readable name for a spec: `wasm`, `gpu`, `gpu[0]+wasm×1`. */
export const describeSpec = (spec: BackendSpec): string =>
  typeof spec === 'string'
    ? spec
    : [...spec.gpus.map((g) => `gpu[${g}]`), ...(spec.wasmThreads ? [`wasm×${spec.wasmThreads}`] : [])].join('+');

const poolKernel = { wasm: 'simd', 'wasm-scalar': 'scalar', reference: 'reference' } as const;

function createBackend(spec: BackendSpec, epochWord: EpochWord, options: CreateEngineOptions): Backend {
  const log = options.log ?? ((line: string) => process.stderr.write(`hashgrid: ${line}\n`));
  const wasm = (threads?: number) => new PoolBackend({ kernel: 'simd', epochWord, ...(threads ? { threads } : {}) });
  // A GPU that loses its device hands the job to wasm threads; nothing of the job is lost.
  const gpu = (adapter: AdapterSelector) =>
    new FallbackBackend(new GpuBackend({ epochWord, ...(adapter !== undefined ? { adapter } : {}) }), {
      fallback: () => wasm(options.threads),
      onFallback: (e, to) => log(`${(e as HashgridError).code ?? 'error'}: ${e.message}; continuing on ${to}`),
    });
  if (typeof spec !== 'string') {
    const parts: Backend[] = spec.gpus.map((g) => gpu(g));
    if (spec.wasmThreads > 0) parts.push(wasm(spec.wasmThreads));
    if (parts.length === 0) throw new HashgridError(ErrorCode.INVALID_ARGUMENT, 'backend plan: no GPUs and no wasm threads', {});
    return parts.length === 1 ? parts[0]! : new MixBackend(parts);
  }
  if (spec === 'gpu') return gpu(options.adapter);
  return new PoolBackend({ kernel: poolKernel[spec], epochWord, ...(options.threads ? { threads: options.threads } : {}) });
}

/**
 * Creates an engine; close it when done (it holds worker threads or GPU
 * buffers). A `gpu` backend opens its device in the background: use
 * `openEngine` to wait for it (and see GPU_UNAVAILABLE) before any work.
 */
export function createEngine(options: CreateEngineOptions = {}): HashEngine {
  const spec = options.backend ?? 'wasm';
  if (typeof spec === 'string') parseBackendName(spec);
  if (options.threads !== undefined && (!Number.isInteger(options.threads) || options.threads < 1)) {
    throw new HashgridError(ErrorCode.INVALID_ARGUMENT, `threads: expected an integer >= 1, got ${options.threads}`, {
      threads: options.threads,
    });
  }
  const epochWord = createEpochWord();
  return new HashEngine(createBackend(spec, epochWord, options), epochWord, options);
}

/** Every GpuBackend inside a backend (through fallbacks and mixes). */
export function gpuBackendsOf(backend: Backend): GpuBackend[] {
  if (backend instanceof GpuBackend) return [backend];
  if (backend instanceof FallbackBackend) return gpuBackendsOf(backend.primary);
  if (backend instanceof MixBackend) return backend.parts.flatMap(gpuBackendsOf);
  return [];
}

/** createEngine, then waits until every GPU in it is open and tuned; closes the engine and rejects if one is not. */
export async function openEngine(options: CreateEngineOptions = {}): Promise<HashEngine> {
  const engine = createEngine(options);
  try {
    await Promise.all(gpuBackendsOf(engine.backend).map((g) => g.ready));
  } catch (e) {
    await engine.close();
    throw e;
  }
  return engine;
}

export { HashEngine } from './engine.js';
export type { BackendRate, EngineOptions, MiningListener, ScanOptions, ScanResult } from './engine.js';
