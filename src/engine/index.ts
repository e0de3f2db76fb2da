/**
 * Creating an engine by backend name. The backend list lives here and only
 * here; the CLI and the node agent take their choices from it.
 */
import { ErrorCode, HashgridError } from '../core/errors.js';
import type { Backend, EpochWord } from './backend.js';
import { createEpochWord } from './backend.js';
import { HashEngine, type EngineOptions } from './engine.js';
import { PoolBackend } from './wasm/pool-backend.js';

/** Backends by name: what `--backend` accepts. */
export const BACKENDS = {
  wasm: 'WebAssembly v128 SIMD kernel on a worker thread per core',
  'wasm-scalar': 'WebAssembly scalar kernel (one nonce at a time), for comparison',
  reference: '@noble/hashes, one header at a time: slow, for checking',
} as const;
export type BackendName = keyof typeof BACKENDS;

export interface CreateEngineOptions extends EngineOptions {
  /** Default `wasm`. */
  backend?: BackendName;
  /** Worker threads for CPU backends (default: one per core). */
  threads?: number;
}

export function parseBackendName(name: string): BackendName {
  if (!Object.hasOwn(BACKENDS, name)) {
    throw new HashgridError(ErrorCode.UNKNOWN_BACKEND, `backend: expected one of ${Object.keys(BACKENDS).join(', ')}, got "${name}"`, {
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

/**
 * Resolves `auto` to a backend. With only CPU backends built, the wasm SIMD
 * kernel is the fastest on every machine measured (see README, Performance).
 */
export const resolveBackend = (choice: BackendChoice): BackendName => (choice === 'auto' ? 'wasm' : choice);

function createBackend(name: BackendName, epochWord: EpochWord, threads?: number): Backend {
  const kernel = name === 'wasm' ? 'simd' : name === 'wasm-scalar' ? 'scalar' : 'reference';
  return new PoolBackend({ kernel, epochWord, ...(threads ? { threads } : {}) });
}

/** Creates an engine; close it when done (it holds worker threads). */
export function createEngine(options: CreateEngineOptions = {}): HashEngine {
  const name = parseBackendName(options.backend ?? 'wasm');
  if (options.threads !== undefined && (!Number.isInteger(options.threads) || options.threads < 1)) {
    throw new HashgridError(ErrorCode.INVALID_ARGUMENT, `threads: expected an integer >= 1, got ${options.threads}`, {
      threads: options.threads,
    });
  }
  const epochWord = createEpochWord();
  return new HashEngine(createBackend(name, epochWord, options.threads), epochWord, options);
}

export { HashEngine } from './engine.js';
export type { EngineOptions, MiningListener, ScanOptions, ScanResult } from './engine.js';
