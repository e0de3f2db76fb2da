/**
 * CPU backends on a Piscina thread pool: `wasm` (v128 SIMD kernel),
 * `wasm-scalar`, and `reference` (@noble/hashes, for checking and baselines).
 */
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import type { Backend, ChunkRequest, ChunkResult, EpochWord } from '../backend.js';
import { builtFile, WASM_MODULE, WASM_WORKER } from '../paths.js';
import type { WorkerKernel, WorkerTask } from './worker.js';

export interface PoolBackendOptions {
  kernel: WorkerKernel;
  /** Worker threads (default: one per core). */
  threads?: number;
  epochWord: EpochWord;
  /** Nonces between looks at the epoch word (default 4096, ≈ 1 ms at 4 MH/s). */
  slice?: number;
}

const NAMES: Record<WorkerKernel, string> = { simd: 'wasm', scalar: 'wasm-scalar', reference: 'reference' };

export class PoolBackend implements Backend {
  readonly name: string;
  readonly lanes: number;
  readonly initialChunk: number;
  private readonly pool: Piscina;
  private readonly slice: number;

  constructor(private readonly options: PoolBackendOptions) {
    this.name = NAMES[options.kernel];
    this.lanes = options.threads ?? availableParallelism();
    this.slice = options.slice ?? (options.kernel === 'reference' ? 256 : 4096);
    this.initialChunk = options.kernel === 'reference' ? 4096 : 65536;
    if (options.kernel !== 'reference') builtFile(WASM_MODULE);
    this.pool = new Piscina({
      filename: builtFile(WASM_WORKER),
      minThreads: this.lanes,
      maxThreads: this.lanes,
      idleTimeout: Number.POSITIVE_INFINITY,
      // Workers run compiled code from dist/: they need none of the parent's
      // loaders (tsx, vitest), which would slow every call into a dependency.
      execArgv: [],
      // One chunk per worker: a queued chunk would run stale after a switch.
      concurrentTasksPerWorker: 1,
    });
  }

  runChunk(request: ChunkRequest): Promise<ChunkResult> {
    const task: WorkerTask = {
      kernel: this.options.kernel,
      params: request.params,
      start: request.start,
      count: request.count,
      epoch: request.epoch,
      epochWord: this.options.epochWord,
      slice: this.slice,
      ...(this.options.kernel === 'reference' ? { header: request.header, target: request.target } : {}),
    };
    return this.pool.run(task);
  }

  async close(): Promise<void> {
    await this.pool.destroy();
  }
}
