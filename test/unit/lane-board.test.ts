/**
 * The lane board's hand-off slot (src/engine/wasm/lane-board.ts): a chunk
 * posted by one thread is taken whole by another, exactly once, whether it
 * arrives while the taker spins, while it sleeps, or not at all.
 */
import { once } from 'node:events';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { allocateLaneBoard, LaneBoard, SlotState, type LaneBoardMemory, type SlotChunk } from '../../src/engine/wasm/lane-board.js';
import { builtFile } from '../../src/engine/paths.js';
import { SCAN_PARAM_WORDS } from '../../src/engine/params.js';

const chunk = (chunkId: number): SlotChunk => ({
  chunkId,
  epoch: 7,
  start: 0xfffff000,
  count: 4096,
  params: Uint32Array.from({ length: SCAN_PARAM_WORDS }, (_, i) => 0x9e3779b9 * (i + 1)),
  header: Uint8Array.from({ length: 80 }, (_, i) => i * 3),
  target: (1n << 255n) - 12345n,
});

const newBoard = () => new LaneBoard(allocateLaneBoard(new SharedArrayBuffer(4)));

/** A thread that posts `chunk(chunkId)` to the board `delayMs` after it is told to. */
async function poster(memory: LaneBoardMemory, chunkId: number, delayMs: number): Promise<{ go(): void; done: Promise<unknown> }> {
  const boardUrl = pathToFileURL(builtFile('dist/engine/wasm/lane-board.js')).href;
  const worker = new Worker(
    `const { workerData, parentPort } = require('node:worker_threads');
     import(workerData.boardUrl).then(({ LaneBoard }) => {
       const board = new LaneBoard(workerData.memory);
       parentPort.once('message', () => {
         Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, workerData.delayMs);
         parentPort.postMessage(board.post(workerData.chunk, () => {}));
       });
       parentPort.postMessage('ready');
     });`,
    { eval: true, workerData: { boardUrl, memory, delayMs, chunk: chunk(chunkId) } },
  );
  await once(worker, 'message');
  const done = once(worker, 'message').then(async ([posted]) => {
    await worker.terminate();
    return posted;
  });
  return { go: () => worker.postMessage('go'), done };
}

describe('lane board hand-off slot', () => {
  it('a posted chunk is taken whole, once', () => {
    const board = newBoard();
    board.open();
    const taken: number[] = [];
    expect(board.post(chunk(1), (id) => taken.push(id))).toBe(true);
    const got = board.take(0);
    expect(got).toEqual(chunk(1));
    expect(board.take(0)).toBeUndefined();
    expect(taken).toEqual([]);
  });

  it('a second post takes back the chunk no worker took', () => {
    const board = newBoard();
    board.open();
    const takenBack: number[] = [];
    board.post(chunk(1), (id) => takenBack.push(id));
    board.post(chunk(2), (id) => takenBack.push(id));
    expect(takenBack).toEqual([1]);
    expect(board.take(0)?.chunkId).toBe(2);
  });

  it('nothing is posted to a slot whose task ended', () => {
    const board = newBoard();
    board.open();
    expect(board.close()).toBe(true);
    expect(board.post(chunk(1), () => {})).toBe(false);
    expect(board.take(5, 1)).toBeUndefined();
  });

  it('with nothing posted, take returns empty after the whole wait, spin included', () => {
    const board = newBoard();
    board.open();
    const started = performance.now();
    expect(board.take(30, 5)).toBeUndefined();
    expect(performance.now() - started).toBeGreaterThanOrEqual(29);
    expect(Atomics.load(new Int32Array(board.memory.slot), 0)).toBe(SlotState.OPEN);
  });

  // Posted 2 ms in, inside a 2 s spin; posted 40 ms in, after a 1 ms spin, while the taker sleeps.
  it.each([
    { when: 'while it spins', chunkId: 11, delayMs: 2, spinMs: 2_000, atLeastMs: 0 },
    { when: 'after the spin, while it sleeps', chunkId: 12, delayMs: 40, spinMs: 1, atLeastMs: 35 },
  ])('takes a chunk another thread posts $when', async ({ chunkId, delayMs, spinMs, atLeastMs }) => {
    const board = newBoard();
    board.open();
    const thread = await poster(board.memory, chunkId, delayMs);
    thread.go();
    const started = performance.now();
    const got = board.take(5_000, spinMs);
    const waited = performance.now() - started;
    expect(got).toEqual(chunk(chunkId));
    expect(waited).toBeGreaterThanOrEqual(atLeastMs);
    expect(waited).toBeLessThan(2_000);
    expect(await thread.done).toBe(true);
  });
});
