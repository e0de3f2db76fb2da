/**
 * A GPU lost under a running scan: the engine logs it, carries the job on
 * wasm threads, and loses no nonce and no hit. The loss is real: the shared
 * device is destroyed (`device.destroy()`), so this file has its own process.
 */
import { describe, expect, it } from 'vitest';
import { headerBits, parseHeaderHex } from '../../src/core/header.js';
import { bitsToTarget } from '../../src/core/target.js';
import { createEngine, gpuBackendsOf } from '../../src/engine/index.js';
import { openGpu } from '../../src/engine/gpu/webgpu.js';
import { bitcoinHeaders } from '../helpers/vectors.js';

describe('gpu device loss', () => {
  it('falls back to wasm mid-scan without losing the job', async () => {
    const genesis = bitcoinHeaders()[0]!;
    const header = parseHeaderHex(genesis.header);
    const lines: string[] = [];
    // Small chunks: many chunks run on the GPU before the loss and many on wasm after it.
    // Three threads, not the GPU's two dispatches in flight: the fallback must take the wasm thread count.
    const engine = createEngine({ backend: 'gpu', threads: 3, chunkSize: 1 << 16, log: (l) => lines.push(l) });
    try {
      const [gpu] = gpuBackendsOf(engine.backend);
      await gpu!.ready;
      expect(engine.lanes).toBe(2);
      let destroyed = false;
      const count = 3_000_000;
      const start = genesis.nonce - count + 1000; // the real nonce is near the end: found after the loss
      const result = await engine.scan(
        { header, start, count, target: bitsToTarget(headerBits(header)) },
        {
          onProgress: (done) => {
            if (!destroyed && done >= 500_000) {
              destroyed = true;
              gpu!.gpu.device.destroy();
            }
          },
        },
      );
      expect(destroyed).toBe(true);
      expect(result.hashes).toBe(count);
      expect(result.hits.map((h) => h.nonce)).toEqual([genesis.nonce]);
      expect(result.backend).toBe('wasm');
      expect(engine.backend.lanes).toBe(3);
      expect(engine.lanes).toBe(3);
      expect(lines.join('\n')).toMatch(/DEVICE_LOST: GPU device lost .*; continuing on wasm/);
      expect(gpu!.gpu.lostReason).toMatch(/destroyed/);
    } finally {
      await engine.close();
    }
    // The lost device left the cache: the next user gets a working one.
    const fresh = await openGpu();
    expect(fresh.lostReason).toBeUndefined();
    fresh.device.destroy();
  });

  it('falls back to fewer wasm lanes than the GPU had: the extra lane ends, the job goes on', async () => {
    const genesis = bitcoinHeaders()[0]!;
    const header = parseHeaderHex(genesis.header);
    const engine = createEngine({ backend: 'gpu', threads: 1, chunkSize: 1 << 16, log: () => {} });
    try {
      const [gpu] = gpuBackendsOf(engine.backend);
      await gpu!.ready;
      expect(engine.lanes).toBe(2);
      let destroyed = false;
      const count = 1_500_000;
      const start = genesis.nonce - count + 1000;
      const result = await engine.scan(
        { header, start, count, target: bitsToTarget(headerBits(header)) },
        {
          onProgress: (done) => {
            if (!destroyed && done >= 300_000) {
              destroyed = true;
              gpu!.gpu.device.destroy();
            }
          },
        },
      );
      expect(destroyed).toBe(true);
      expect(result.hashes).toBe(count);
      expect(result.hits.map((h) => h.nonce)).toEqual([genesis.nonce]);
      expect(engine.lanes).toBe(1);
    } finally {
      await engine.close();
    }
  });
});
