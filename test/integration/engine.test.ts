/**
 * The engine on its real wasm worker pool: real Bitcoin headers mined back to
 * their nonces, chunk and worker boundaries, roll-over, cancellation, and the
 * reference re-check of every hit.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { ErrorCode, HashgridError } from '../../src/core/errors.js';
import { parseHeaderHex, withNonce } from '../../src/core/header.js';
import type { Hit, MiningJob } from '../../src/core/job.js';
import { hashToBigInt, hashToDisplayHex, sha256d } from '../../src/core/sha256d.js';
import { bitsToTarget, MAX_TARGET } from '../../src/core/target.js';
import { createEpochWord, type Backend, type ChunkRequest } from '../../src/engine/backend.js';
import { HashEngine } from '../../src/engine/engine.js';
import { MixBackend } from '../../src/engine/mix.js';
import { createEngine } from '../../src/engine/index.js';
import { PoolBackend } from '../../src/engine/wasm/pool-backend.js';
import { bitcoinHeaders } from '../helpers/vectors.js';

const headers = bitcoinHeaders();
const engines: HashEngine[] = [];
const engine = (options: Parameters<typeof createEngine>[0] = {}) => {
  const e = createEngine({ threads: 2, ...options });
  engines.push(e);
  return e;
};
afterAll(() => Promise.all(engines.map((e) => e.close())));

describe('real Bitcoin headers', () => {
  const wasm = engine();

  it.each(headers.map((h) => [h.height, h] as const))('block %i: a 2^16 window returns exactly its nonce and hash', async (_, v) => {
    const header = parseHeaderHex(v.header);
    const target = bitsToTarget(v.bits);
    // Put the real nonce at a varying offset of the window.
    const start = Math.max(0, Math.min(2 ** 32 - 65536, v.nonce - ((v.nonce * 7919) % 65536)));
    const found = await wasm.scan({ header, start, count: 65536, target });
    expect(found.hashes).toBe(65536);
    expect(found.hits.map((h) => [h.nonce, hashToDisplayHex(h.hash)])).toEqual([[v.nonce, v.hash]]);

    // The same window without the real nonce: nothing.
    const before = v.nonce - start;
    const after = 65535 - before;
    const without = [
      before > 0 ? await wasm.scan({ header, start, count: before, target }) : undefined,
      after > 0 ? await wasm.scan({ header, start: v.nonce + 1, count: after, target }) : undefined,
    ];
    expect(without.flatMap((r) => r?.hits ?? [])).toEqual([]);
    expect(without.reduce((n, r) => n + (r?.hashes ?? 0), 0)).toBe(65535);
  });
});

describe('chunks and workers', () => {
  it('finds hits at chunk and worker boundaries exactly once', async () => {
    const e = engine({ chunkSize: 64 });
    const header = parseHeaderHex(headers[3]!.header);
    const start = 1_000_000;
    // Hits on both sides of several chunk boundaries.
    const wanted = [start, start + 63, start + 64, start + 127, start + 128, start + 1023];
    const target = wanted.map((n) => hashToBigInt(sha256d(withNonce(header, n)))).reduce((a, b) => (a > b ? a : b));
    const result = await e.scan({ header, start, count: 1024, target });
    const expected: number[] = [];
    for (let n = start; n < start + 1024; n++) if (hashToBigInt(sha256d(withNonce(header, n))) <= target) expected.push(n);
    expect(result.hits.map((h) => h.nonce)).toEqual(expected);
    for (const n of wanted) expect(expected).toContain(n);
    expect(result.hashes).toBe(1024);
  });

  it('property: random headers, windows and targets give exactly the reference hits, SIMD and scalar, across chunks and workers', async () => {
    const simd = engine({ chunkSize: 64 });
    const scalar = engine({ backend: 'wasm-scalar', chunkSize: 64 });
    // Offsets biased to the edges: each lane of a v128 (mod 4) at both ends of a 64-nonce chunk.
    const edge = fc.oneof(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 60, max: 67 }), fc.integer({ min: 0, max: 399 }));
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 80, maxLength: 80 }),
        fc.integer({ min: 0, max: 2 ** 32 - 400 }),
        fc.integer({ min: 68, max: 400 }),
        fc.array(edge, { minLength: 1, maxLength: 4 }),
        async (header, start, count, offsets) => {
          const hashes = Array.from({ length: count }, (_, i) => hashToBigInt(sha256d(withNonce(header, start + i))));
          // The target is the largest hash among the chosen nonces: each of them hits, and whatever else is as low.
          const target = offsets.map((o) => hashes[o % count]!).reduce((a, b) => (a > b ? a : b));
          const expected = hashes.flatMap((h, i) => (h <= target ? [start + i] : []));
          for (const e of [simd, scalar]) {
            const r = await e.scan({ header, start, count, target });
            expect(r.hashes).toBe(count);
            expect(r.hits.map((h) => h.nonce)).toEqual(expected);
          }
        },
      ),
      { numRuns: 25 },
    );
  });

  it('rolls over to the next header when a header is spent, then reports exhaustion', async () => {
    const e = engine({ chunkSize: 1024 });
    const base = parseHeaderHex(headers[5]!.header);
    const rolled = (roll: number) => {
      const h = Uint8Array.from(base);
      h[0] = h[0]! ^ roll; // a different version per roll stands in for a new extranonce2
      return h;
    };
    const hits: Hit[] = [];
    const exhausted = new Promise<string>((resolve) =>
      e.mine(
        { id: 'rolling', target: MAX_TARGET / 512n, nonces: { start: 5000, count: 4096 }, header: (r) => (r < 3 ? rolled(r) : undefined) },
        { onHit: (h) => hits.push(h), onExhausted: resolve },
      ),
    );
    expect(await exhausted).toBe('rolling');
    await new Promise((r) => setTimeout(r, 200)); // let the last chunks land
    expect(new Set(hits.map((h) => h.roll))).toEqual(new Set([0, 1, 2]));
    for (const h of hits) {
      expect(h.header.subarray(0, 76)).toEqual(rolled(h.roll).subarray(0, 76));
      expect(h.nonce).toBeGreaterThanOrEqual(5000);
      expect(h.nonce).toBeLessThan(5000 + 4096);
      expect(sha256d(h.header)).toEqual(h.hash);
    }
    // Every roll was searched completely: the hit count matches the reference.
    let expected = 0;
    for (let r = 0; r < 3; r++) for (let n = 5000; n < 9096; n++) if (hashToBigInt(sha256d(withNonce(rolled(r), n))) <= MAX_TARGET / 512n) expected++;
    expect(hits).toHaveLength(expected);
  });
});

const easyJob = (id: string, seed: number): MiningJob => ({
  id,
  target: MAX_TARGET / 64n, // about one hit per 64 nonces: a job that hits all the time
  header: (r) => (r === 0 ? new Uint8Array(80).fill(seed) : undefined),
});

describe('cancellation', () => {

  it('abandons a long chunk part-way instead of finishing it', async () => {
    // One chunk of 2^26 nonces takes over ten seconds at a few MH/s per thread.
    const e = engine({ chunkSize: 1 << 26 });
    const long = e.scan({ header: new Uint8Array(80), start: 0, count: 2 ** 32, target: 1n }).catch((err: unknown) => err);
    await new Promise((r) => setTimeout(r, 300));
    const t0 = performance.now();
    // The small scan can only run once the workers have dropped their long chunks.
    const small = await e.scan({ header: new Uint8Array(80).fill(9), start: 0, count: 4096, target: MAX_TARGET / 256n });
    expect(performance.now() - t0).toBeLessThan(1500);
    expect(small.hashes).toBe(4096);
    expect(await long).toMatchObject({ code: ErrorCode.WORK_CANCELLED });
  });

  it('reports how long the switch took once every lane started the new job', async () => {
    const e = engine();
    e.mine(easyJob('first', 5), {});
    await new Promise((r) => setTimeout(r, 300));
    const latency = await new Promise<number>((resolve) => e.mine(easyJob('second', 6), { onSwitched: resolve }));
    e.stop();
    expect(latency).toBeGreaterThanOrEqual(0);
    expect(latency).toBeLessThan(200);
  });

  it('lets no hit of the old job out after the switch', async () => {
    const e = engine();
    const seen: { jobId: string; at: number }[] = [];
    const record = { onHit: (h: Hit) => seen.push({ jobId: h.jobId, at: performance.now() }) };
    e.mine(easyJob('old', 3), record);
    await new Promise((r) => setTimeout(r, 400));
    const switchedAt = performance.now();
    e.mine(easyJob('new', 4), record);
    await new Promise((r) => setTimeout(r, 400));
    e.stop();
    expect(seen.some((s) => s.jobId === 'old')).toBe(true);
    expect(seen.filter((s) => s.jobId === 'old' && s.at >= switchedAt)).toEqual([]);
    expect(seen.some((s) => s.jobId === 'new')).toBe(true);
  });

  it('rejects a scan replaced by other work with WORK_CANCELLED', async () => {
    const e = engine();
    const header = new Uint8Array(80);
    const first = e.scan({ header, start: 0, count: 2 ** 32, target: 1n });
    await new Promise((r) => setTimeout(r, 100));
    const second = e.scan({ header, start: 0, count: 4096, target: MAX_TARGET });
    await expect(first).rejects.toMatchObject({ code: ErrorCode.WORK_CANCELLED });
    // Every nonce hits: the worker stores up to its hit buffer and counts the rest.
    const r = await second;
    expect(r.hits.length + r.droppedHits).toBe(4096);
    expect(r.hits.length).toBeGreaterThan(0);
  });

  it('stops a scan on its abort signal', async () => {
    const e = engine();
    const abort = new AbortController();
    const scan = e.scan({ header: new Uint8Array(80), start: 0, count: 2 ** 32, target: 1n }, { signal: abort.signal });
    setTimeout(() => abort.abort(new Error('user stop')), 100);
    await expect(scan).rejects.toThrow('user stop');
  });
});

describe('the shared-memory lane boards', () => {
  const blockMainThread = (ms: number) => {
    const end = performance.now() + ms;
    while (performance.now() < end);
  };

  it('reports a hit while its chunk is still hashing', async () => {
    // One chunk of 2^24 nonces runs for seconds; the meter only counts a chunk once it returns.
    const e = engine({ chunkSize: 1 << 24, threads: 1 });
    const first = await new Promise<{ hit: Hit; meteredHashes: number }>((resolve) =>
      e.mine(easyJob('early', 7), { onHit: (hit) => resolve({ hit, meteredHashes: e.meter.totalHashes }) }),
    );
    e.stop();
    expect(first.meteredHashes).toBe(0);
    expect(first.hit.foundAt).toBeGreaterThan(0);
    expect(sha256d(first.hit.header)).toEqual(first.hit.hash);
    expect(hashToBigInt(first.hit.hash) <= MAX_TARGET / 64n).toBe(true);
  });

  it('gets every lane onto new work while the main thread is blocked', async () => {
    // Chunks of 2^26 nonces run for seconds: both workers are inside one when the switch comes, so the new
    // work can only reach them through their boards (a worker between chunks would wait for a message).
    const e = engine({ threads: 2, chunkSize: 1 << 26 });
    e.mine(easyJob('before', 1), {});
    await new Promise((r) => setTimeout(r, 500));
    const switched = new Promise<number>((resolve) => e.mine(easyJob('after', 2), { onSwitched: resolve }));
    // Let the engine post the new chunks (microtasks only: no worker message can be handled).
    for (let i = 0; i < 20; i++) await Promise.resolve();
    const blockedMs = 600;
    blockMainThread(blockedMs);
    const latency = await switched;
    e.stop();
    // A hand-off through the main thread would have waited out the whole block.
    expect(latency).toBeLessThan(blockedMs / 2);
  });

  it('lets no early hit of the old job out after rapid switches', async () => {
    const e = engine({ chunkSize: 1 << 22 });
    const seen: { jobId: string; current: string }[] = [];
    let current = 'job-0';
    for (let i = 0; i < 12; i++) {
      current = `job-${i}`;
      e.mine(easyJob(current, i + 10), { onHit: (h) => seen.push({ jobId: h.jobId, current }) });
      await new Promise((r) => setTimeout(r, 15 + (i % 3) * 20));
    }
    await new Promise((r) => setTimeout(r, 300));
    e.stop();
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.filter((s) => s.jobId !== s.current)).toEqual([]);
  });
});

describe('hashrate per backend part', () => {
  it('meters each part of a mixed backend on its own', async () => {
    const epochWord = createEpochWord();
    const mix = new MixBackend([
      new PoolBackend({ kernel: 'simd', epochWord, threads: 1 }),
      new PoolBackend({ kernel: 'reference', epochWord, threads: 1 }),
      new PoolBackend({ kernel: 'simd', epochWord, threads: 1 }),
    ]);
    const e = new HashEngine(mix, epochWord);
    engines.push(e);
    e.mine({ id: 'parts', target: 1n, header: (r) => (r === 0 ? new Uint8Array(80) : undefined) }, {});
    await new Promise((r) => setTimeout(r, 1500));
    e.stop();
    await new Promise((r) => setTimeout(r, 200));
    const rates = e.backendRates();
    expect(rates.map((r) => [r.backend, r.lanes])).toEqual([
      ['wasm', 1],
      ['reference', 1],
      ['wasm#2', 1],
    ]);
    for (const r of rates) expect(r.hashes).toBeGreaterThan(0);
    // The wasm kernel is an order of magnitude faster than @noble/hashes.
    expect(rates[0]!.hashes).toBeGreaterThan(rates[1]!.hashes);
    expect(rates.reduce((s, r) => s + r.hashes, 0)).toBe(e.meter.totalHashes);
  });
});

describe('the reference re-check', () => {
  /** A real backend that also reports nonce `start` of every chunk as a hit, in its result or early. */
  const lyingEngine = (early: boolean) => {
    const epochWord = createEpochWord();
    const real = new PoolBackend({ kernel: 'simd', epochWord, threads: 1 });
    const lying: Backend = {
      name: 'lying',
      lanes: real.lanes,
      initialChunk: real.initialChunk,
      runChunk: async (req: ChunkRequest) => {
        if (early) req.onHit?.(req.start, Date.now());
        const r = await real.runChunk(req);
        return early ? r : { ...r, hits: [...r.hits, req.start], found: r.found + 1 };
      },
      close: () => real.close(),
    };
    const e = new HashEngine(lying, epochWord);
    engines.push(e);
    return e;
  };

  it.each([
    ['in its result', false],
    ['early, before its chunk returns', true],
  ])('turns a hit the reference rejects (reported %s) into HIT_VERIFICATION_FAILED, never a hit', async (_, early) => {
    // A real backend whose reports are tampered with: the engine must catch the lie.
    const e = lyingEngine(early);
    const header = parseHeaderHex(headers[0]!.header);
    const scan = e.scan({ header, start: 0, count: 4096, target: bitsToTarget(headers[0]!.bits) });
    await expect(scan).rejects.toMatchObject({ code: ErrorCode.HIT_VERIFICATION_FAILED, data: { nonce: 0 } });
  });

  it('rejects bad ranges and targets with typed errors before any work', () => {
    const e = engines[0]!;
    const header = new Uint8Array(80);
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (err) {
        return (err as HashgridError).code;
      }
    };
    expect(code(() => e.scan({ header, start: 0, count: 0, target: 1n }))).toBe(ErrorCode.INVALID_NONCE_RANGE);
    expect(code(() => e.scan({ header, start: 2 ** 32 - 1, count: 2, target: 1n }))).toBe(ErrorCode.INVALID_NONCE_RANGE);
    expect(code(() => e.scan({ header, start: 0, count: 1, target: 0n }))).toBe(ErrorCode.TARGET_OUT_OF_RANGE);
    expect(code(() => e.scan({ header: new Uint8Array(79), start: 0, count: 1, target: 1n }))).toBe(ErrorCode.INVALID_LENGTH);
  });
});
