/**
 * The buffers of one scan dispatch in flight: the job uniform, the hit buffer
 * (an atomic counter and room for `capacity` nonces) and a mappable copy of
 * it. A backend keeps one slot per dispatch in flight, so a slot's readback
 * never makes another dispatch wait.
 */
import { MIN_GPU_HITS, SCAN_UNIFORM } from '../codegen/wgsl.js';
import { SCAN_PARAM_WORDS } from '../params.js';
import { encodeDispatch } from './grid.js';
import type { GpuContext } from './webgpu.js';

export interface DispatchResult {
  /** Nonces that met the target (may exceed hits.length: the buffer holds `capacity`). */
  found: number;
  hits: number[];
}

export class ScanSlot {
  private readonly uniform: GPUBuffer;
  private hits!: GPUBuffer;
  private readback!: GPUBuffer;
  private bindGroup!: GPUBindGroup;
  private readonly words = new Uint32Array(SCAN_UNIFORM.words);
  /** Nonces the hit buffer holds. */
  capacity = 0;

  constructor(
    private readonly context: GpuContext,
    capacity = MIN_GPU_HITS,
  ) {
    this.uniform = context.device.createBuffer({ size: 4 * SCAN_UNIFORM.words, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
    this.resize(capacity);
  }

  private get hitsBytes(): number {
    return 4 * (1 + this.capacity);
  }

  /**
   * Makes the hit buffer hold `capacity` nonces. Only between dispatches: a
   * slot runs one dispatch at a time and `run` has unmapped before it returns.
   */
  resize(capacity: number): void {
    if (capacity === this.capacity) return;
    const { device } = this.context;
    this.hits?.destroy();
    this.readback?.destroy();
    this.capacity = capacity;
    this.hits = device.createBuffer({ size: this.hitsBytes, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
    this.readback = device.createBuffer({ size: this.hitsBytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    this.bindGroup = device.createBindGroup({
      layout: this.context.scanPipeline.getBindGroupLayout(0),
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
    encoder.copyBufferToBuffer(this.hits, 0, this.readback, 0, this.hitsBytes);
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
      return { found, hits: Array.from(data.subarray(1, 1 + Math.min(found, this.capacity))) };
    } finally {
      this.readback.unmap();
    }
  }

  destroy(): void {
    for (const b of [this.uniform, this.hits, this.readback]) b.destroy();
  }
}
