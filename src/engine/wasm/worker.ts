/**
 * Piscina worker: runs one engine lane's task. It scans a chunk on this
 * thread's own wasm instance (or on the @noble/hashes reference) in slices
 * short enough that a moved epoch word stops it within a few milliseconds.
 * Each slice's hits go straight into the lane's hit ring (lane-board.ts).
 * When the epoch moves, the worker takes the new work's chunk from the
 * lane's hand-off slot and carries on in the same task, so a job switch
 * costs no round trip through the main thread.
 */
import { sha256d, meetsTarget } from '../../core/sha256d.js';
import { wallClockMs, type ChunkResult } from '../backend.js';
import { LaneBoard, type LaneBoardMemory, type SlotChunk } from './lane-board.js';
import { WasmHasher, type ScanKernel } from './module.js';

export type WorkerKernel = ScanKernel | 'reference';

export interface WorkerTask {
  kernel: WorkerKernel;
  /** The lane's first chunk; later ones come through the board's slot. */
  chunk: SlotChunk;
  epochWord: Int32Array;
  board: LaneBoardMemory;
  /** Nonces per slice between looks at the epoch word. */
  slice: number;
}

/** One chunk's share of a task's work. `hits` and `found` leave out the hits already put in the ring. */
export interface Segment extends ChunkResult {
  chunkId: number;
}

export interface WorkerTaskResult {
  segments: Segment[];
}

/**
 * How long a worker whose chunk was abandoned waits for the next one: the
 * engine posts it right after moving the epoch, so it is there within
 * microseconds unless the work was stopped (then the lane just ends).
 */
const HANDOFF_WAIT_MS = 20;
/**
 * The first part of that wait spins (lane-board.ts `take`): measured with
 * `npm run bench:bus` on 2 cores, both hashing, it took the engine's part
 * of a switch from p99 4.1–5.4 ms to 3.0–4.1 ms.
 */
const HANDOFF_SPIN_MS = 1;

let hasher: WasmHasher | undefined;

export default function runLane(task: WorkerTask): WorkerTaskResult {
  const board = new LaneBoard(task.board);
  const segments: Segment[] = [];
  let chunk: SlotChunk | undefined = task.chunk;
  while (chunk) {
    const segment = scanChunk(task, board, chunk);
    segments.push(segment);
    chunk = board.take(segment.aborted ? HANDOFF_WAIT_MS : 0, HANDOFF_SPIN_MS);
    // Closing fails only when a chunk was posted after the look: take it.
    while (!chunk && !board.close()) chunk = board.take(0);
  }
  return { segments };
}

function scanChunk(task: WorkerTask, board: LaneBoard, chunk: SlotChunk): Segment {
  const startedAt = wallClockMs();
  const hits: number[] = [];
  let found = 0;
  let done = 0;
  const scanSlice = task.kernel === 'reference' ? referenceSlice(chunk) : wasmSlice(task.kernel, chunk);
  const segment = (aborted: boolean): Segment => ({ chunkId: chunk.chunkId, hashes: done, hits, found, aborted, startedAt, endedAt: wallClockMs() });
  while (done < chunk.count) {
    if (Atomics.load(task.epochWord, 0) !== chunk.epoch) return segment(true);
    const n = Math.min(task.slice, chunk.count - done);
    const r = scanSlice(chunk.start + done, n);
    const at = wallClockMs();
    for (const h of r.hits) {
      if (board.report(chunk.chunkId, h, at)) continue;
      // The ring is full (the main thread lags): the hit comes back with the chunk's result.
      found++;
      if (hits.length < WasmHasher.MAX_HITS) hits.push(h);
    }
    // Hits beyond the kernel's buffer were counted but not stored: they stay in `found`.
    found += r.found - r.hits.length;
    done += n;
  }
  return segment(false);
}

function wasmSlice(kernel: ScanKernel, chunk: SlotChunk) {
  hasher ??= new WasmHasher();
  hasher.setParams(chunk.params);
  return (start: number, count: number) => hasher!.scan(kernel, start, count);
}

function referenceSlice(chunk: SlotChunk) {
  const header = Uint8Array.from(chunk.header);
  const view = new DataView(header.buffer);
  return (start: number, count: number) => {
    const hits: number[] = [];
    for (let i = 0; i < count; i++) {
      view.setUint32(76, start + i, true);
      if (meetsTarget(sha256d(header), chunk.target)) hits.push(start + i);
    }
    return { found: hits.length, hits };
  };
}
