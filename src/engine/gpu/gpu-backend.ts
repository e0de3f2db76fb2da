/**
 * The `gpu` backend: the WGSL sha256d scan on one WebGPU adapter.
 *
 * - The device and pipelines are shared per adapter (webgpu.ts); this backend
 *   owns one ScanSlot (uniform, hit buffer, readback) per dispatch in flight.
 * - `lanes` = dispatches in flight (default 2): the engine keeps that many
 *   chunks running, so while one lane waits on its readback the GPU already
 *   has the other lane's dispatch queued and never idles.
 * - A chunk runs as dispatches of `dispatchSize` nonces, tuned at start so a
 *   dispatch takes `dispatchMs` (about 20–50 ms: long enough to amortize the
 *   submit and readback, short enough to switch jobs quickly). Between
 *   dispatches the lane looks at the epoch word: a new job stops it after
 *   the dispatch it is in.
 * - A lost device (driver reset, `device.destroy()`) turns into a DEVICE_LOST
 *   error; FallbackBackend (../fallback.ts) catches it and carries on on wasm.
 */
import { ErrorCode, HashgridError } from '../../core/errors.js';
import { wallClockMs, type Backend, type ChunkRequest, type ChunkResult, type EpochWord } from '../backend.js';
import { scanParams } from '../params.js';
import { ScanSlot, type DispatchResult } from './scan-slot.js';
import { adapterSelector, openGpu, type AdapterSelector, type GpuContext } from './webgpu.js';

export interface GpuBackendOptions {
  epochWord: EpochWord;
  /** Which adapter (see AdapterSelector); default $HASHGRID_GPU, else the high-performance one. */
  adapter?: AdapterSelector;
  /** Dispatches in flight (default 2). */
  inFlight?: number;
  /** Wall time one dispatch should take once tuned (default 40 ms). */
  dispatchMs?: number;
  /** A fixed dispatch size in nonces: skips tuning (tests use it to force many dispatches). */
  dispatchSize?: number;
}

/** Invocations a dispatch aims for: enough to fill a big GPU, or every lavapipe thread's SIMD lanes. */
const TARGET_INVOCATIONS = 1 << 14;
/** Consecutive nonces per invocation, at most (a bounded loop keeps one invocation short on slow GPUs). */
const MAX_PER_INVOCATION = 256;
/** Largest dispatch: keeps invocation · perInvocation far from u32 overflow in the kernel. */
const MAX_DISPATCH = 1 << 30;

/** Nonces per invocation for a dispatch of `count` nonces. */
export const perInvocation = (count: number): number =>
  Math.min(MAX_PER_INVOCATION, Math.max(1, Math.ceil(count / TARGET_INVOCATIONS)));

export class GpuBackend implements Backend {
  readonly name = 'gpu';
  readonly lanes: number;
  readonly initialChunk = 1 << 20;
  /** Resolves when the device is open, the kernels compiled and the dispatch size tuned. */
  readonly ready: Promise<void>;
  private context: GpuContext | undefined;
  private readonly free: ScanSlot[] = [];
  private all: ScanSlot[] = [];
  private size: number;

  constructor(private readonly options: GpuBackendOptions) {
    this.lanes = options.inFlight ?? 2;
    this.size = options.dispatchSize ?? 0;
    this.ready = this.open();
    // Callers see a failure through `ready` or runChunk; it must not go unhandled meanwhile.
    this.ready.catch(() => undefined);
  }

  /** Creates a backend and waits until it is ready (GPU_UNAVAILABLE when there is no adapter). */
  static async create(options: GpuBackendOptions): Promise<GpuBackend> {
    const backend = new GpuBackend(options);
    await backend.ready;
    return backend;
  }

  /** The device and adapter in use (after `ready`). */
  get gpu(): GpuContext {
    if (!this.context) throw new HashgridError(ErrorCode.GPU_UNAVAILABLE, 'the gpu backend is not open yet', {});
    return this.context;
  }

  /** Nonces per dispatch (after `ready`). */
  get dispatchSize(): number {
    return this.size;
  }

  private async open(): Promise<void> {
    this.context = await openGpu(adapterSelector(this.options.adapter));
    this.all = Array.from({ length: this.lanes }, () => new ScanSlot(this.context!));
    this.free.push(...this.all);
    if (!this.size) this.size = await this.tune(this.options.dispatchMs ?? 40);
  }

  /**
   * Grows a dispatch until one takes the wanted time, then sizes by the rate
   * measured on the largest. The first dispatch also pays any lazy shader
   * compilation of the driver, so it is not measured.
   */
  private async tune(wantedMs: number): Promise<number> {
    const slot = this.free[0]!;
    const params = scanParams(new Uint8Array(80), 1n);
    await this.dispatch(slot, params, 0, 1 << 12);
    let count = 1 << 14;
    for (;;) {
      const t0 = performance.now();
      await this.dispatch(slot, params, 0, count);
      const ms = performance.now() - t0;
      if (ms >= wantedMs / 2 || count >= MAX_DISPATCH / 2) {
        const size = Math.round(((count / ms) * wantedMs) / 4096) * 4096;
        return Math.min(MAX_DISPATCH, Math.max(4096, size));
      }
      count *= ms < wantedMs / 16 ? 8 : 2;
    }
  }

  /** One dispatch; a lost device becomes DEVICE_LOST, whatever the driver threw. */
  private async dispatch(slot: ScanSlot, params: Uint32Array, start: number, count: number): Promise<DispatchResult> {
    const ctx = this.context!;
    if (ctx.lostReason === undefined) {
      try {
        return await slot.run(params, start, count, perInvocation(count));
      } catch (e) {
        // The lost promise may settle just after the failed readback: give it a moment.
        await Promise.race([ctx.device.lost, new Promise((r) => setTimeout(r, 100))]);
        if (ctx.lostReason === undefined) throw e;
      }
    }
    throw new HashgridError(ErrorCode.DEVICE_LOST, `GPU device lost (${ctx.adapter.name}): ${ctx.lostReason}`, {
      adapter: ctx.adapter.name,
      reason: ctx.lostReason,
    });
  }

  async runChunk(request: ChunkRequest): Promise<ChunkResult> {
    await this.ready;
    const slot = this.free.pop();
    if (!slot) throw new Error(`gpu backend: more than ${this.lanes} chunks in flight`);
    const startedAt = wallClockMs();
    const hits: number[] = [];
    let found = 0;
    let done = 0;
    try {
      while (done < request.count) {
        if (Atomics.load(this.options.epochWord, 0) !== request.epoch) {
          return { hashes: done, hits, found, aborted: true, startedAt, endedAt: wallClockMs() };
        }
        const n = Math.min(this.size, request.count - done);
        const r = await this.dispatch(slot, request.params, request.start + done, n);
        found += r.found;
        hits.push(...r.hits);
        done += n;
      }
      return { hashes: done, hits, found, aborted: false, startedAt, endedAt: wallClockMs() };
    } finally {
      this.free.push(slot);
    }
  }

  async close(): Promise<void> {
    await this.ready.catch(() => undefined);
    // The device is shared (webgpu.ts): only this backend's buffers go.
    for (const s of this.all) s.destroy();
    this.all = [];
  }
}
