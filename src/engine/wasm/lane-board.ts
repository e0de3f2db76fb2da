/**
 * Shared memory between the pool backend (main thread) and its workers, one
 * board per engine lane, so that neither a job switch nor a hit waits for a
 * message through the main thread:
 *
 * - The hand-off slot. While a lane's task runs, the main thread can *post*
 *   the lane's next chunk into the slot. A worker that abandons its chunk
 *   because the epoch moved takes the posted chunk and hashes it at once,
 *   in the same task: no result, no new task message, no main-thread hop.
 * - The hit ring. A worker writes each hit (chunk id, nonce, when) into the
 *   lane's ring as soon as its slice ends and rings the backend's doorbell;
 *   the main thread, waiting on the doorbell with Atomics.waitAsync, reads it
 *   right away rather than when the chunk returns.
 *
 * Slot states (word STATE): IDLE (no task of this lane will look at the
 * slot), OPEN (a task runs and will look), POSTED (a chunk waits), TAKING (a
 * worker is copying it out). Only the main thread writes the payload, and
 * only while the slot is OPEN; only a worker moves POSTED → TAKING → OPEN,
 * and OPEN → IDLE when its task ends. So every posted chunk is either taken
 * by a worker or taken back by the main thread, never both and never lost.
 */
import { HEADER_LENGTH } from '../../core/header.js';
import { SCAN_PARAM_WORDS } from '../params.js';

export const SlotState = { IDLE: 0, OPEN: 1, POSTED: 2, TAKING: 3 } as const;

/** Hits a lane's ring holds before the worker keeps further ones for the chunk's result. */
export const RING_CAPACITY = 256;

// Slot words.
const STATE = 0;
const CHUNK_ID = 1;
const EPOCH = 2;
const START = 3;
const COUNT = 4;
const PARAMS = 5;
const HEADER = PARAMS + SCAN_PARAM_WORDS;
const TARGET = HEADER + HEADER_LENGTH / 4;
const SLOT_WORDS = TARGET + 8;
// Ring words: write and read counters, then (chunk id, nonce) pairs.
const WRITTEN = 0;
const READ = 1;
const ENTRIES = 2;
const RING_WORDS = ENTRIES + 2 * RING_CAPACITY;

/** A chunk as it crosses the slot: what a worker needs to hash it. */
export interface SlotChunk {
  chunkId: number;
  epoch: number;
  start: number;
  count: number;
  params: Uint32Array;
  /** For the reference kernel, which hashes whole headers. */
  header: Uint8Array;
  target: bigint;
}

/** The shared buffers of one lane; both threads build this view over the same memory. */
export interface LaneBoardMemory {
  slot: SharedArrayBuffer;
  ring: SharedArrayBuffer;
  /** When each ring entry was found (wall-clock ms), index-aligned with the ring's entries. */
  ringTimes: SharedArrayBuffer;
  /** One word for every lane of the backend: bumped and notified on each hit. */
  doorbell: SharedArrayBuffer;
}

export function allocateLaneBoard(doorbell: SharedArrayBuffer): LaneBoardMemory {
  return {
    slot: new SharedArrayBuffer(SLOT_WORDS * 4),
    ring: new SharedArrayBuffer(RING_WORDS * 4),
    ringTimes: new SharedArrayBuffer(RING_CAPACITY * 8),
    doorbell,
  };
}

export class LaneBoard {
  private readonly slot: Int32Array;
  private readonly ring: Int32Array;
  private readonly ringTimes: Float64Array;
  private readonly doorbell: Int32Array;

  constructor(readonly memory: LaneBoardMemory) {
    this.slot = new Int32Array(memory.slot);
    this.ring = new Int32Array(memory.ring);
    this.ringTimes = new Float64Array(memory.ringTimes);
    this.doorbell = new Int32Array(memory.doorbell);
  }

  // ---- main thread

  /** A task of this lane is about to start: it will look at the slot. */
  open(): void {
    Atomics.store(this.slot, STATE, SlotState.OPEN);
  }

  /**
   * Posts `chunk` for the running task; false when no task will look at the
   * slot any more (it is ending), so the caller must start a new task.
   * `takeBack` is called with the id of a chunk posted earlier that no worker
   * took, which this post replaces.
   */
  post(chunk: SlotChunk, takeBack: (chunkId: number) => void): boolean {
    for (;;) {
      const state = Atomics.load(this.slot, STATE);
      if (state === SlotState.IDLE) return false;
      if (state === SlotState.TAKING) continue; // a worker copies the payload out: a few words
      if (state === SlotState.POSTED) {
        if (Atomics.compareExchange(this.slot, STATE, SlotState.POSTED, SlotState.OPEN) === SlotState.POSTED) {
          takeBack(Atomics.load(this.slot, CHUNK_ID));
        }
        continue;
      }
      this.writePayload(chunk);
      if (Atomics.compareExchange(this.slot, STATE, SlotState.OPEN, SlotState.POSTED) === SlotState.OPEN) {
        Atomics.notify(this.slot, STATE);
        return true;
      }
      // The task ended between the load and the exchange: the slot is IDLE now.
    }
  }

  private writePayload(chunk: SlotChunk): void {
    const s = this.slot;
    s[CHUNK_ID] = chunk.chunkId;
    s[EPOCH] = chunk.epoch;
    s[START] = chunk.start | 0;
    s[COUNT] = chunk.count | 0;
    new Uint32Array(s.buffer, PARAMS * 4, SCAN_PARAM_WORDS).set(chunk.params);
    new Uint8Array(s.buffer, HEADER * 4, HEADER_LENGTH).set(chunk.header);
    const target = new Uint32Array(s.buffer, TARGET * 4, 8);
    for (let i = 0; i < 8; i++) target[i] = Number((chunk.target >> BigInt(32 * i)) & 0xffffffffn);
  }

  /** After a task died: nothing looks at the slot, and what was posted is void. */
  reset(): void {
    Atomics.store(this.slot, STATE, SlotState.IDLE);
  }

  /** Reads every hit in the ring, oldest first. */
  drain(onHit: (chunkId: number, nonce: number, foundAt: number) => void): void {
    const written = Atomics.load(this.ring, WRITTEN);
    let read = this.ring[READ]!;
    while (read !== written) {
      const at = (read >>> 0) % RING_CAPACITY;
      onHit(this.ring[ENTRIES + 2 * at]!, this.ring[ENTRIES + 2 * at + 1]! >>> 0, this.ringTimes[at]!);
      read = (read + 1) | 0;
    }
    Atomics.store(this.ring, READ, read);
  }

  // ---- worker

  /** Ends the task's claim on the slot, unless a chunk was posted (then take it). */
  close(): boolean {
    return Atomics.compareExchange(this.slot, STATE, SlotState.OPEN, SlotState.IDLE) === SlotState.OPEN;
  }

  /**
   * Takes the posted chunk, waiting up to `waitMs` for one: after the epoch
   * moved, the new work's chunk follows within a fraction of a millisecond.
   * The first `spinMs` of the wait spin rather than sleep: a worker that
   * sleeps gives up its core, and on a machine where every core hashes it
   * may then wait a scheduler tick (4 ms at 250 Hz) to get one back.
   */
  take(waitMs: number, spinMs = 0): SlotChunk | undefined {
    if (waitMs > 0 && Atomics.load(this.slot, STATE) === SlotState.OPEN) {
      const spinUntil = performance.now() + Math.min(spinMs, waitMs);
      while (Atomics.load(this.slot, STATE) === SlotState.OPEN && performance.now() < spinUntil);
      if (Atomics.load(this.slot, STATE) === SlotState.OPEN) Atomics.wait(this.slot, STATE, SlotState.OPEN, waitMs);
    }
    if (Atomics.compareExchange(this.slot, STATE, SlotState.POSTED, SlotState.TAKING) !== SlotState.POSTED) return undefined;
    const s = this.slot;
    let target = 0n;
    const t = new Uint32Array(s.buffer, TARGET * 4, 8);
    for (let i = 7; i >= 0; i--) target = (target << 32n) | BigInt(t[i]!);
    const chunk: SlotChunk = {
      chunkId: s[CHUNK_ID]!,
      epoch: s[EPOCH]!,
      start: s[START]! >>> 0,
      count: s[COUNT]! >>> 0,
      params: new Uint32Array(s.buffer, PARAMS * 4, SCAN_PARAM_WORDS).slice(),
      header: new Uint8Array(s.buffer, HEADER * 4, HEADER_LENGTH).slice(),
      target,
    };
    Atomics.store(s, STATE, SlotState.OPEN);
    return chunk;
  }

  /** Puts a hit in the ring and rings the doorbell; false when the ring is full. */
  report(chunkId: number, nonce: number, foundAt: number): boolean {
    const written = this.ring[WRITTEN]!;
    if (((written - Atomics.load(this.ring, READ)) | 0) >= RING_CAPACITY) return false;
    const at = (written >>> 0) % RING_CAPACITY;
    this.ring[ENTRIES + 2 * at] = chunkId;
    this.ring[ENTRIES + 2 * at + 1] = nonce | 0;
    this.ringTimes[at] = foundAt;
    Atomics.store(this.ring, WRITTEN, (written + 1) | 0);
    Atomics.add(this.doorbell, 0, 1);
    Atomics.notify(this.doorbell, 0);
    return true;
  }
}
