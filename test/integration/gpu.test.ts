/**
 * The WGSL kernels on a real WebGPU device: Dawn on whatever adapter this
 * machine has (lavapipe software Vulkan in CI). The device and pipelines are
 * opened once for the file (lavapipe's LLVM compile is the slow part).
 */
import { sha256 } from '@noble/hashes/sha2.js';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytesToHex } from '../../src/core/bytes.js';
import { bitsToTarget, difficultyToTarget, MAX_TARGET } from '../../src/core/target.js';
import { headerBits, parseHeaderHex, withNonce } from '../../src/core/header.js';
import { referencePairHasher } from '../../src/core/merkle.js';
import { hashToBigInt, sha256d } from '../../src/core/sha256d.js';
import { createEpochWord, type ChunkResult } from '../../src/engine/backend.js';
import { MIN_GPU_HITS } from '../../src/engine/codegen/wgsl.js';
import { HashEngine } from '../../src/engine/engine.js';
import { sha256Batch } from '../../src/engine/gpu/batch.js';
import { GpuBackend, hitCapacity, MAX_GPU_HITS } from '../../src/engine/gpu/gpu-backend.js';
import { listAdapters, openGpu, type GpuContext } from '../../src/engine/gpu/webgpu.js';
import { createEngine, gpuBackendsOf } from '../../src/engine/index.js';
import { scanParams } from '../../src/engine/params.js';
import { bitcoinHeaders, nistVectors } from '../helpers/vectors.js';

let gpu: GpuContext;
let backend: GpuBackend;
const epochWord = createEpochWord();

beforeAll(async () => {
  const t0 = performance.now();
  gpu = await openGpu();
  // Several dispatches per chunk, so chunk boundaries inside the kernel tests are dispatch boundaries too.
  backend = await GpuBackend.create({ epochWord, dispatchSize: 1 << 16 });
  console.log(`gpu: ${gpu.adapter.description}; device + pipelines ${(performance.now() - t0).toFixed(0)} ms (compile ${gpu.compileMs.toFixed(0)} ms)`);
}, 120_000);

afterAll(async () => {
  await backend?.close();
});

/** Runs one chunk of the current epoch on the GPU backend: the kernel's raw answer. */
const scan = (header: Uint8Array, target: bigint, start: number, count: number): Promise<ChunkResult> =>
  backend.runChunk({ header, target, params: scanParams(header, target), start, count, epoch: Atomics.load(epochWord, 0) });

const hashValue = (header: Uint8Array, nonce: number) => hashToBigInt(sha256d(withNonce(header, nonce)));

describe('adapters', () => {
  it('lists at least the adapter in use, with vendor, architecture and description', async () => {
    const adapters = await listAdapters();
    expect(adapters.length).toBeGreaterThan(0);
    expect(adapters.map((a) => a.description)).toContain(gpu.adapter.description);
    for (const a of adapters) expect(a.vendor.length * a.architecture.length * a.description.length).toBeGreaterThan(0);
  });

  it('rejects an adapter selector that matches nothing with GPU_UNAVAILABLE', async () => {
    await expect(openGpu('no-such-adapter-anywhere')).rejects.toMatchObject({ code: 'GPU_UNAVAILABLE' });
    await expect(openGpu('99')).rejects.toMatchObject({ code: 'GPU_UNAVAILABLE' });
  });
});

describe('batch SHA-256 kernel', () => {
  for (const file of ['SHA256ShortMsg.rsp', 'SHA256LongMsg.rsp'] as const) {
    it(`matches every NIST CAVP vector of ${file}`, async () => {
      const vectors = nistVectors(file);
      expect(vectors.length).toBeGreaterThan(60);
      for (const v of vectors) {
        const digest = await sha256Batch(gpu, v.msg, 1, v.msg.length);
        expect(bytesToHex(digest), `Len = ${v.len}`).toBe(v.md);
      }
    });
  }

  it('hashes many equal-length messages in one dispatch, as @noble/hashes does (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 200 }), fc.integer({ min: 1, max: 300 }), fc.boolean(), async (length, count, double) => {
        const messages = Uint8Array.from({ length: length * count }, (_, i) => (i * 131 + length * 7 + count) & 0xff);
        const digests = await sha256Batch(gpu, messages, count, length, { double });
        for (let i = 0; i < count; i++) {
          const m = messages.subarray(i * length, (i + 1) * length);
          expect(bytesToHex(digests.subarray(i * 32, i * 32 + 32))).toBe(bytesToHex(double ? sha256(sha256(m)) : sha256(m)));
        }
      }),
      { numRuns: 25 },
    );
  });

  it('hashes a Merkle level (sha256d of 64-byte pairs) like the reference pair hasher', async () => {
    const pairs = Uint8Array.from({ length: 64 * 1000 }, (_, i) => (i * 7919) & 0xff);
    expect(bytesToHex(await sha256Batch(gpu, pairs, 1000, 64, { double: true }))).toBe(bytesToHex(referencePairHasher(pairs, 1000)));
  });

  it('rejects messages that do not fill count × length bytes', async () => {
    await expect(sha256Batch(gpu, new Uint8Array(10), 3, 4)).rejects.toMatchObject({ code: 'INVALID_LENGTH' });
  });
});

describe('sha256d scan kernel', () => {
  const headers = bitcoinHeaders();

  it.each(headers.map((h) => [h.height, h] as const))('mines block %i back to its real nonce, and nothing in the window beside it', async (_, h) => {
    const header = parseHeaderHex(h.header);
    const target = bitsToTarget(headerBits(header));
    const start = Math.max(0, Math.min(h.nonce - 100_000, 2 ** 32 - 200_000));
    const found = await scan(header, target, start, 200_000);
    expect(found).toMatchObject({ hits: [h.nonce], found: 1, hashes: 200_000, aborted: false });
    const besideStart = start >= 200_000 ? start - 200_000 : start + 200_000;
    const beside = await scan(header, target, besideStart, 200_000);
    expect(beside).toMatchObject({ hits: [], found: 0, hashes: 200_000 });
  });

  it('finds exactly the nonces the reference finds, including the first and last invocation (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 80, maxLength: 80 }),
        fc.integer({ min: 0, max: 2 ** 32 - 4096 }),
        fc.integer({ min: 2, max: 12 }),
        async (header, region, k) => {
          // The k smallest hashes of 4096 nonces; the window runs from the first of them to the last.
          const values = Array.from({ length: 4096 }, (_, i) => ({ nonce: region + i, value: hashValue(header, region + i) }));
          const smallest = [...values].sort((a, b) => (a.value < b.value ? -1 : a.value > b.value ? 1 : 0)).slice(0, k);
          const target = smallest[k - 1]!.value; // hash ≤ target meets it: exactly the k smallest
          const nonces = smallest.map((s) => s.nonce).sort((a, b) => a - b);
          const start = nonces[0]!;
          const count = nonces[k - 1]! - start + 1;
          const r = await scan(header, target, start, count);
          expect(r.found).toBe(k);
          expect([...r.hits].sort((a, b) => a - b)).toEqual(nonces);
        },
      ),
      { numRuns: 20 },
    );
  });

  it('confirms a candidate whose top word equals the target’s on the full 256 bits', async () => {
    const header = parseHeaderHex(headers[3]!.header);
    const nonce = headers[3]!.nonce;
    const value = hashValue(header, nonce);
    // Same most significant word as the hash, lower words just above, equal, and just below it.
    expect((await scan(header, value + 1n, nonce, 1)).hits).toEqual([nonce]);
    expect((await scan(header, value, nonce, 1)).hits).toEqual([nonce]);
    expect((await scan(header, value - 1n, nonce, 1)).hits).toEqual([]);
  });

  it('reports hit-buffer overflow: every nonce counted, as many stored as the buffer holds', async () => {
    const tiny = await GpuBackend.create({ epochWord, dispatchSize: 1 << 16, hitCapacity: 100 });
    try {
      const header = parseHeaderHex(headers[0]!.header);
      const r = await tiny.runChunk({ header, target: MAX_TARGET, params: scanParams(header, MAX_TARGET), start: 7, count: 5000, epoch: Atomics.load(epochWord, 0) });
      expect(r.found).toBe(5000);
      expect(r.hits.length).toBe(100);
      expect(new Set(r.hits).size).toBe(100);
      for (const n of r.hits) expect(n >= 7 && n < 5007).toBe(true);
    } finally {
      await tiny.close();
    }
  });

  it('sizes the hit buffer from the dispatch and the target, so an easy share target loses nothing', async () => {
    // `hashgrid up` mines at difficulty 2^-16: a 40 ms dispatch at 4 GH/s is due ~2,400 hits.
    const upTarget = difficultyToTarget(2 ** -16);
    expect(hitCapacity(160_000_000, upTarget)).toBeGreaterThanOrEqual(4 * 2441);
    expect(hitCapacity(1 << 20, bitsToTarget(0x1d00ffff))).toBe(MIN_GPU_HITS);
    expect(hitCapacity(2 ** 30, MAX_TARGET)).toBe(MAX_GPU_HITS);
    // ~2,048 hits per dispatch (p = 2^-8), twice what a fixed 1,024-nonce buffer held.
    const big = await GpuBackend.create({ epochWord, dispatchSize: 1 << 19 });
    const wasm = createEngine({ threads: 2, chunkSize: 1 << 16 });
    try {
      const header = parseHeaderHex(headers[2]!.header);
      const target = (1n << 248n) - 1n;
      const count = 1 << 21;
      const r = await big.runChunk({ header, target, params: scanParams(header, target), start: 12345, count, epoch: Atomics.load(epochWord, 0) });
      expect(r.found).toBeGreaterThan(4 * 1024 * 1.5);
      expect(r.hits.length).toBe(r.found);
      const reference = await wasm.scan({ header, start: 12345, count, target });
      expect(reference.droppedHits).toBe(0);
      expect([...r.hits].sort((a, b) => a - b)).toEqual(reference.hits.map((h) => h.nonce));
    } finally {
      await big.close();
      await wasm.close();
    }
  });

  it('stops a running chunk between dispatches when the epoch moves', async () => {
    const header = parseHeaderHex(headers[1]!.header);
    const epoch = Atomics.load(epochWord, 0);
    const running = backend.runChunk({ header, target: 1n, params: scanParams(header, 1n), start: 0, count: 1 << 30, epoch });
    await new Promise((r) => setTimeout(r, 100));
    Atomics.store(epochWord, 0, epoch + 1);
    const t0 = performance.now();
    const r = await running;
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(r.aborted).toBe(true);
    expect(r.hashes).toBeGreaterThan(0);
    expect(r.hashes).toBeLessThan(1 << 30);
    expect(r.hashes % backend.dispatchSize).toBe(0);
  });
});

describe('gpu engine', () => {
  const headers = bitcoinHeaders();

  it('tells a mining listener of hit-buffer overflow (onOverflow) and still delivers the hits it kept', async () => {
    const word = createEpochWord();
    const engine = new HashEngine(await GpuBackend.create({ epochWord: word, dispatchSize: 1 << 16, hitCapacity: 16 }), word);
    try {
      const header = parseHeaderHex(headers[0]!.header);
      const count = 1 << 20;
      let hits = 0;
      let dropped = 0;
      const jobs = new Set<string>();
      await new Promise<void>((resolve) => {
        const settled = () => hits + dropped === count && resolve();
        // Every nonce meets the largest target: each dispatch keeps 16 hits and drops the rest.
        engine.mine(
          { id: 'easy', target: MAX_TARGET, nonces: { start: 0, count }, header: (roll) => (roll === 0 ? header : undefined) },
          {
            onHit: () => (hits++, settled()),
            onOverflow: (n, jobId) => {
              dropped += n;
              jobs.add(jobId);
              settled();
            },
          },
        );
      });
      expect([...jobs]).toEqual(['easy']);
      expect(hits).toBeGreaterThanOrEqual(16 * (count / (1 << 16)));
      expect(dropped).toBe(count - hits);
    } finally {
      await engine.close();
    }
  }, 60_000);

  it('keeps at least two dispatches in flight while mining', async () => {
    const engine = createEngine({ backend: 'gpu' });
    try {
      const [gpuBackend] = gpuBackendsOf(engine.backend);
      await gpuBackend!.ready;
      const header = parseHeaderHex(headers[1]!.header);
      let hashed = 0;
      engine.mine({ id: 'busy', target: 1n, header: (roll) => (roll === 0 ? header : undefined) }, {});
      // Mine until a few dispatches per lane have returned, whatever the machine's load.
      while (hashed < 8 * gpuBackend!.dispatchSize) {
        await new Promise((r) => setTimeout(r, 50));
        hashed = engine.meter.totalHashes;
      }
      engine.stop();
      expect(gpuBackend!.peakInFlight).toBeGreaterThanOrEqual(2);
    } finally {
      await engine.close();
    }
  }, 60_000);

  it('scans with verified hits and switches jobs: nothing of the replaced work comes out', async () => {
    const engine = createEngine({ backend: 'gpu' });
    try {
      const genesis = headers0();
      const target = bitsToTarget(headerBits(genesis.header));
      const first = engine.scan({ header: genesis.header, start: 0, count: 2 ** 32 - 1, target });
      await new Promise((r) => setTimeout(r, 300));
      const second = engine.scan({ header: genesis.header, start: genesis.nonce - 300_000, count: 600_000, target });
      await expect(first).rejects.toMatchObject({ code: 'WORK_CANCELLED' });
      const r = await second;
      expect(r.backend).toBe('gpu');
      expect(r.hashes).toBe(600_000);
      expect(r.hits.map((h) => h.nonce)).toEqual([genesis.nonce]);
    } finally {
      await engine.close();
    }
  });
});

function headers0() {
  const h = bitcoinHeaders()[0]!;
  return { header: parseHeaderHex(h.header), nonce: h.nonce };
}
