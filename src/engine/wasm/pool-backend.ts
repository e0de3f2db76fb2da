/**
 * CPU backends on a Piscina thread pool: `wasm` (v128 SIMD kernel),
 * `wasm-scalar`, and `reference` (@noble/hashes, for checking and baselines).
 * Each engine lane has a board in shared memory (lane-board.ts): new work
 * reaches a running worker through it, and hits come back through it as
 * they are found.
 */
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import { wallClockMs, type Backend, type ChunkRequest, type ChunkResult, type EpochWord } from '../backend.js';
import { allocateLaneBoard, LaneBoard, type SlotChunk } from './lane-board.js';
import { builtFile, WASM_MODULE, WASM_WORKER } from '../paths.js';
import type { WorkerKernel, WorkerTask, WorkerTaskResult } from './worker.js';

export interface PoolBackendOptions {
  kernel: WorkerKernel;
  /** Worker threads (default: one per core). */
  threads?: number;
  epochWord: EpochWord;
  /** Nonces between looks at the epoch word (default 4096, ≈ 1 ms at 4 MH/s). */
  slice?: number;
}

const NAMES: Record<WorkerKernel, string> = { simd: 'wasm', scalar: 'wasm-scalar', reference: 'reference' };

/** Atomics.waitAsync (Node 16+; in TypeScript's lib only from ES2024). */
interface AtomicsWaitAsync {
  waitAsync(array: Int32Array, index: number, value: number): { async: false; value: string } | { async: true; value: Promise<string> };
}

interface PendingChunk {
  lane: number;
  request: ChunkRequest;
  resolve(result: ChunkResult): void;
  reject(error: Error): void;
  /** Hits read from the ring for a request that takes none early (they go into its result). */
  early: number[];
}

export class PoolBackend implements Backend {
  readonly name: string;
  readonly lanes: number;
  readonly initialChunk: number;
  private readonly pool: Piscina;
  private readonly slice: number;
  private readonly doorbell = new Int32Array(new SharedArrayBuffer(4));
  private readonly boards: LaneBoard[];
  private readonly chunks = new Map<number, PendingChunk>();
  private nextChunkId = 1;
  private closed = false;

  constructor(private readonly options: PoolBackendOptions) {
    this.name = NAMES[options.kernel];
    this.lanes = options.threads ?? availableParallelism();
    this.slice = options.slice ?? (options.kernel === 'reference' ? 256 : 4096);
    this.initialChunk = options.kernel === 'reference' ? 4096 : 65536;
    if (options.kernel !== 'reference') builtFile(WASM_MODULE);
    this.boards = Array.from({ length: this.lanes }, () => new LaneBoard(allocateLaneBoard(this.doorbell.buffer as SharedArrayBuffer)));
    this.pool = new Piscina({
      filename: builtFile(WASM_WORKER),
      minThreads: this.lanes,
      maxThreads: this.lanes,
      idleTimeout: Number.POSITIVE_INFINITY,
      // Workers run compiled code from dist/: they need none of the parent's
      // loaders (tsx, vitest), which would slow every call into a dependency.
      execArgv: [],
      // One task per worker: a queued task would run stale after a switch.
      concurrentTasksPerWorker: 1,
    });
    void this.watchHits();
  }

  /**
   * Runs the chunk on its lane: handed to the lane's running task through the
   * slot when there is one (a switch: the worker picks it up without a
   * message), else as a new task.
   */
  runChunk(request: ChunkRequest): Promise<ChunkResult> {
    const lane = request.lane ?? 0;
    const board = this.boards[lane];
    if (!board) return Promise.reject(new Error(`PoolBackend: lane ${lane} of ${this.lanes}`));
    const chunkId = this.nextChunkId;
    this.nextChunkId = (this.nextChunkId + 1) | 0 || 1;
    return new Promise<ChunkResult>((resolve, reject) => {
      this.chunks.set(chunkId, { lane, request, resolve, reject, early: [] });
      const chunk: SlotChunk = { chunkId, epoch: request.epoch, start: request.start, count: request.count, params: request.params, header: request.header, target: request.target };
      if (board.post(chunk, (taken) => this.settle(taken, { hashes: 0, hits: [], found: 0, aborted: true, startedAt: wallClockMs(), endedAt: wallClockMs() }))) return;
      this.startTask(lane, chunk);
    });
  }

  private startTask(lane: number, chunk: SlotChunk): void {
    const board = this.boards[lane]!;
    board.open();
    const task: WorkerTask = { kernel: this.options.kernel, chunk, epochWord: this.options.epochWord, board: board.memory, slice: this.slice };
    this.pool.run(task).then(
      (result: WorkerTaskResult) => {
        // Hits first: every early hit of a chunk reaches its owner before the chunk's result.
        this.drain();
        for (const { chunkId, ...segment } of result.segments) this.settle(chunkId, segment);
      },
      (e: Error) => {
        // The task died with chunks of this lane possibly posted to it: nothing will take them now.
        board.reset();
        for (const [chunkId, pending] of this.chunks) {
          if (pending.lane !== lane) continue;
          this.chunks.delete(chunkId);
          pending.reject(e);
        }
      },
    );
  }

  private settle(chunkId: number, result: ChunkResult): void {
    const pending = this.chunks.get(chunkId);
    if (!pending) return;
    this.chunks.delete(chunkId);
    if (pending.early.length > 0) result = { ...result, hits: [...pending.early, ...result.hits], found: result.found + pending.early.length };
    pending.resolve(result);
  }

  private drain(): void {
    for (const board of this.boards) {
      board.drain((chunkId, nonce, foundAt) => {
        const pending = this.chunks.get(chunkId);
        if (!pending) return;
        if (pending.request.onHit) pending.request.onHit(nonce, foundAt);
        else pending.early.push(nonce);
      });
    }
  }

  /** Wakes on the doorbell the workers ring with each hit, and hands the hits on at once. */
  private async watchHits(): Promise<void> {
    while (!this.closed) {
      const rung = Atomics.load(this.doorbell, 0);
      this.drain();
      const wait = (Atomics as unknown as AtomicsWaitAsync).waitAsync(this.doorbell, 0, rung);
      if (wait.async) await wait.value;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    Atomics.add(this.doorbell, 0, 1);
    Atomics.notify(this.doorbell, 0);
    await this.pool.destroy();
  }
}
