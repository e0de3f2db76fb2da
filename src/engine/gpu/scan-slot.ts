/**
 * The buffers of one scan dispatch in flight: the job uniform, the hit buffer
 * (an atomic counter and MAX_GPU_HITS nonces) and a mappable copy of it. A
 * backend keeps one slot per dispatch in flight, so a slot's readback never
 * makes another dispatch wait.
 */
import { MAX_GPU_HITS, SCAN_UNIFORM } from '../codegen/wgsl.js';
import { SCAN_PARAM_WORDS } from '../params.js';
import { encodeDispatch } from './grid.js';
import type { GpuContext } from './webgpu.js';

export interface DispatchResult {
  /** Nonces that met the target (may exceed hits.length: the buffer holds MAX_GPU_HITS). */
  found: number;
  hits: number[];
}

const HITS_BYTES = 4 * (1 + MAX_GPU_HITS);

export class ScanSlot {
  private readonly uniform: GPUBuffer;
  private readonly hits: GPUBuffer;
  private readonly readback: GPUBuffer;
  private readonly bindGroup: GPUBindGroup;
  private readonly words = new Uint32Array(SCAN_UNIFORM.words);

  constructor(private readonly context: GpuContext) {
    const { device } = context;
    this.uniform = device.createBuffer({ size: 4 * SCAN_UNIFORM.words, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
    this.hits = device.createBuffer({ size: HITS_BYTES, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
    this.readback = device.createBuffer({ size: HITS_BYTES, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    this.bindGroup = device.createBindGroup({
      layout: context.scanPipeline.getBindGroupLayout(0),
      entries: [
        { binding: 0, resource: { buffer: this.uniform } },
        { binding: 1, resource: { buffer: this.hits } },
      ],
    });
  }

  /**
   * Scans nonces [start, start + count) of the job in `params` (params.ts),
   * `perInvocation` consecutive nonces per invocation; resolves when the
   * hits are read back.
   */
  async run(params: Uint32Array, start: number, count: number, perInvocation: number, readyAt = 0): Promise<DispatchResult> {
    const { device } = this.context;
    this.words.set(params.subarray(0, SCAN_PARAM_WORDS));
    this.words[SCAN_UNIFORM.start] = start >>> 0;
    this.words[SCAN_UNIFORM.count] = count;
    this.words[SCAN_UNIFORM.perInvocation] = perInvocation;
    device.queue.writeBuffer(this.uniform, 0, this.words);
    const encoder = device.createCommandEncoder();
    encoder.clearBuffer(this.hits, 0, 4);
    encodeDispatch(encoder, this.context.scanPipeline, this.bindGroup, Math.ceil(count / perInvocation));
    encoder.copyBufferToBuffer(this.hits, 0, this.readback, 0, HITS_BYTES);
    device.queue.submit([encoder.finish()]);
    // Dawn's Node bindings poll for completion on the main thread until a map
    // resolves, which keeps a core busy: on a software adapter that core is
    // taken from the driver's own threads. So sleep until shortly before the
    // result is due, and only then start polling.
    const idle = readyAt - performance.now();
    if (idle > 1) await new Promise((r) => setTimeout(r, idle));
    await this.readback.mapAsync(GPUMapMode.READ);
    try {
      const data = new Uint32Array(this.readback.getMappedRange());
      const found = data[0]!;
      return { found, hits: Array.from(data.subarray(1, 1 + Math.min(found, MAX_GPU_HITS))) };
    } finally {
      this.readback.unmap();
    }
  }

  destroy(): void {
    for (const b of [this.uniform, this.hits, this.readback]) b.destroy();
  }
}
