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

/**
 * Scans `count` nonces ending just past the genesis nonce on a GPU engine with
 * `threads` wasm threads for the fallback, destroying the device once
 * `lossAt` nonces are done, so the real nonce is found after the loss.
 */
async function scanThroughLoss(threads: number, count: number, lossAt: number, log: (line: string) => void = () => {}) {
  const genesis = bitcoinHeaders()[0]!;
  const header = parseHeaderHex(genesis.header);
  // Small chunks: many chunks run on the GPU before the loss and many on wasm after it.
  const engine = createEngine({ backend: 'gpu', threads, chunkSize: 1 << 16, log });
  const [gpu] = gpuBackendsOf(engine.backend);
  try {
    await gpu!.ready;
    const lanesBefore = engine.lanes;
    let destroyed = false;
    const result = await engine.scan(
      { header, start: genesis.nonce - count + 1000, count, target: bitsToTarget(headerBits(header)) },
      {
        onProgress: (done) => {
          if (!destroyed && done >= lossAt) {
            destroyed = true;
            gpu!.gpu.device.destroy();
          }
        },
      },
    );
    return { result, destroyed, lanesBefore, backendLanes: engine.backend.lanes, lanesAfter: engine.lanes, lostReason: gpu!.gpu.lostReason, nonce: genesis.nonce };
  } finally {
    await engine.close();
  }
}

describe('gpu device loss', () => {
  it('falls back to wasm mid-scan without losing the job', async () => {
    const lines: string[] = [];
    // Three threads, not the GPU's two dispatches in flight: the fallback must take the wasm thread count.
    const r = await scanThroughLoss(3, 3_000_000, 500_000, (l) => lines.push(l));
    expect(r.lanesBefore).toBe(2);
    expect(r.destroyed).toBe(true);
    expect(r.result.hashes).toBe(3_000_000);
    expect(r.result.hits.map((h) => h.nonce)).toEqual([r.nonce]);
    expect(r.result.backend).toBe('wasm');
    expect(r.backendLanes).toBe(3);
    expect(r.lanesAfter).toBe(3);
    expect(lines.join('\n')).toMatch(/DEVICE_LOST: GPU device lost .*; continuing on wasm/);
    expect(r.lostReason).toMatch(/destroyed/);
    // The lost device left the cache: the next user gets a working one.
    const fresh = await openGpu();
    expect(fresh.lostReason).toBeUndefined();
    fresh.device.destroy();
  });

  it('falls back to fewer wasm lanes than the GPU had: the extra lane ends, the job goes on', async () => {
    const r = await scanThroughLoss(1, 1_500_000, 300_000);
    expect(r.lanesBefore).toBe(2);
    expect(r.destroyed).toBe(true);
    expect(r.result.hashes).toBe(1_500_000);
    expect(r.result.hits.map((h) => h.nonce)).toEqual([r.nonce]);
    expect(r.lanesAfter).toBe(1);
  });
});
