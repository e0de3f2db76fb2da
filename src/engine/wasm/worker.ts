/**
 * Piscina worker: scans one chunk on this thread's own wasm instance (or on
 * the @noble/hashes reference), in slices short enough that a moved epoch
 * word stops it within a few milliseconds.
 */
import { sha256d, meetsTarget } from '../../core/sha256d.js';
import { wallClockMs, type ChunkResult } from '../backend.js';
import { WasmHasher, type ScanKernel } from './module.js';

export type WorkerKernel = ScanKernel | 'reference';

export interface WorkerTask {
  kernel: WorkerKernel;
  params: Uint32Array;
  /** The header's first 80 bytes, for the reference kernel only. */
  header?: Uint8Array;
  target?: bigint;
  start: number;
  count: number;
  epoch: number;
  epochWord: Int32Array;
  /** Nonces per slice between looks at the epoch word. */
  slice: number;
}

let hasher: WasmHasher | undefined;

export default function scanChunk(task: WorkerTask): ChunkResult {
  const startedAt = wallClockMs();
  const hits: number[] = [];
  let found = 0;
  let done = 0;
  const scanSlice = task.kernel === 'reference' ? referenceSlice(task) : wasmSlice(task);
  while (done < task.count) {
    if (Atomics.load(task.epochWord, 0) !== task.epoch) {
      return { hashes: done, hits, found, aborted: true, startedAt, endedAt: wallClockMs() };
    }
    const n = Math.min(task.slice, task.count - done);
    const r = scanSlice(task.start + done, n);
    found += r.found;
    for (const h of r.hits) if (hits.length < WasmHasher.MAX_HITS) hits.push(h);
    done += n;
  }
  return { hashes: done, hits, found, aborted: false, startedAt, endedAt: wallClockMs() };
}

function wasmSlice(task: WorkerTask) {
  hasher ??= new WasmHasher();
  hasher.setParams(task.params);
  const kernel = task.kernel as ScanKernel;
  return (start: number, count: number) => hasher!.scan(kernel, start, count);
}

function referenceSlice(task: WorkerTask) {
  const header = Uint8Array.from(task.header!);
  const view = new DataView(header.buffer);
  return (start: number, count: number) => {
    const hits: number[] = [];
    for (let i = 0; i < count; i++) {
      view.setUint32(76, start + i, true);
      if (meetsTarget(sha256d(header), task.target!)) hits.push(start + i);
    }
    return { found: hits.length, hits };
  };
}
