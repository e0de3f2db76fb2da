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
import { availableParallelism } from 'node:os';
import { ErrorCode, HashgridError } from '../../core/errors.js';
import { wallClockMs, type Backend, type ChunkRequest, type ChunkResult, type EpochWord } from '../backend.js';
import { scanParams } from '../params.js';
import { MIN_GPU_HITS } from '../codegen/wgsl.js';
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
  /** A fixed dispatch size in nonces (tests use it to force many dispatches). */
  dispatchSize?: number;
  /** Sleep through a dispatch before polling for it (default true; see `paced`). */
  pace?: boolean;
  /** A fixed hit-buffer size in nonces (tests use a tiny one to force overflow); default `hitCapacity`. */
  hitCapacity?: number;
}

/**
 * Invocations a dispatch aims for. A GPU needs hundreds of thousands in
 * flight to hide latency. A software adapter runs 8 or 16 invocations per
 * SIMD instruction on a few CPU threads, and pays per invocation for the
 * job prologue and loop set-up, so it wants few invocations with long loops.
 */
const TARGET_INVOCATIONS = { hardware: 1 << 18, software: 256 * availableParallelism() } as const;
/** Consecutive nonces per invocation, at most (a bounded loop keeps one invocation short on slow GPUs). */
const MAX_PER_INVOCATION = 4096;
/** Largest dispatch: keeps invocation · perInvocation far from u32 overflow in the kernel. */
const MAX_DISPATCH = 1 << 30;

/** Largest hit buffer in nonces (4 MiB): a target so easy that more hits are due reports the overflow. */
export const MAX_GPU_HITS = 1 << 20;

/**
 * Hit-buffer room for a dispatch of `count` nonces at `target`: hits are
 * Poisson with mean count · (target + 1) / 2^256, and four times the mean
 * (plus 64) is never exceeded in practice. A fixed buffer is not enough: at
 * the pool difficulty 2^-16 that `hashgrid up` mines, a 40 ms dispatch at
 * 4 GH/s is due ~2,400 hits.
 */
export function hitCapacity(count: number, target: bigint): number {
  const expected = (count * Number(target + 1n)) / 2 ** 256;
  const room = 2 ** Math.ceil(Math.log2(4 * expected + 64));
  return Math.min(MAX_GPU_HITS, Math.max(MIN_GPU_HITS, room));
}

/** Nonces per invocation for a dispatch of `count` nonces. */
export const perInvocation = (count: number, software: boolean): number =>
  Math.min(MAX_PER_INVOCATION, Math.max(1, Math.ceil(count / TARGET_INVOCATIONS[software ? 'software' : 'hardware'])));

export class GpuBackend implements Backend {
  readonly name = 'gpu';
  readonly lanes: number;
  readonly initialChunk = 1 << 20;
  /** Resolves when the device is open, the kernels compiled and the dispatch size tuned. */
  readonly ready: Promise<void>;
  private context: GpuContext | undefined;
  private readonly free: ScanSlot[] = [];
  private readonly slotWaiters: (() => void)[] = [];
  private all: ScanSlot[] = [];
  private size: number;
  /** Measured nonces per ms of the device, and when the work queued on it should be done (performance.now()). */
  private rate = 0;
  private tunedRate = 0;
  private busyUntil = 0;
  private queued = 0;
  private submitted = 0;
  /** Most dispatches submitted and not yet read back at one time: the pipelining actually reached. */
  peakInFlight = 0;

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
    const tuned = await this.tune(this.options.dispatchMs ?? 40);
    if (!this.size) this.size = tuned;
  }

  /**
   * Grows a dispatch until one takes the wanted time, then sizes by the rate
   * measured on the largest. The first dispatch also pays any lazy shader
   * compilation of the driver, so it is not measured. Waiting on a dispatch
   * polls on this thread (see ScanSlot.run), which on a software adapter
   * slows the very device being timed; so the largest size is timed again
   * sleeping through most of the time the last timing gave, until two agree.
   */
  private async tune(wantedMs: number): Promise<number> {
    const slot = this.free[0]!;
    const params = scanParams(new Uint8Array(80), 1n);
    const run = (count: number, readyAt = 0) => slot.run(params, 0, count, perInvocation(count, this.context!.adapter.software), readyAt);
    await run(1 << 12);
    let count = 1 << 14;
    let ms: number;
    for (;;) {
      // The faster of two timings: another process taking the CPU for a moment must not stop the growth early.
      ms = Infinity;
      for (let i = 0; i < 2; i++) {
        const t0 = performance.now();
        await run(count);
        ms = Math.min(ms, performance.now() - t0);
      }
      if (ms >= wantedMs / 2 || count >= MAX_DISPATCH / 2) break;
      count *= ms < wantedMs / 16 ? 8 : 2;
    }
    for (let i = 0; i < 4; i++) {
      const t0 = performance.now();
      await run(count, t0 + 0.8 * ms);
      const again = performance.now() - t0;
      const settled = Math.abs(again - ms) < 0.05 * ms;
      ms = Math.min(ms, again);
      if (settled) break;
    }
    this.rate = this.tunedRate = count / ms;
    return Math.min(MAX_DISPATCH, Math.max(1 << 16, Math.round((this.rate * wantedMs) / 4096) * 4096));
  }

  /** One dispatch; a lost device becomes DEVICE_LOST, whatever the driver threw. */
  private async dispatch(slot: ScanSlot, params: Uint32Array, start: number, count: number): Promise<DispatchResult> {
    const ctx = this.context!;
    if (ctx.lostReason === undefined) {
      this.peakInFlight = Math.max(this.peakInFlight, ++this.submitted);
      try {
        return await this.paced(slot, params, start, count);
      } catch (e) {
        // The lost promise may settle just after the failed readback: give it a moment.
        await Promise.race([ctx.device.lost, new Promise((r) => setTimeout(r, 100))]);
        if (ctx.lostReason === undefined) throw e;
      } finally {
        this.submitted--;
      }
    }
    throw new HashgridError(ErrorCode.DEVICE_LOST, `GPU device lost (${ctx.adapter.name}): ${ctx.lostReason}`, {
      adapter: ctx.adapter.name,
      reason: ctx.lostReason,
    });
  }

  /**
   * Runs a dispatch without polling for most of the time it should take (see
   * ScanSlot.run): `count / rate` after the work queued before it ends.
   * Sleeping too long idles the device once nothing else is queued; polling
   * too early only costs what it always cost, a core. So the estimate leans
   * fast: it rises quickly when a result was already there when polling
   * started, and sinks only slowly when polling had to wait.
   */
  private async paced(slot: ScanSlot, params: Uint32Array, start: number, count: number): Promise<DispatchResult> {
    const per = perInvocation(count, this.context!.adapter.software);
    if (this.rate === 0 || this.options.pace === false) return slot.run(params, start, count, per);
    const begin = Math.max(performance.now(), this.busyUntil);
    const expected = count / this.rate;
    this.busyUntil = begin + expected;
    this.queued++;
    try {
      const pollFrom = begin + 0.9 * expected;
      const result = await slot.run(params, start, count, per, pollFrom);
      const done = performance.now();
      const factor = done - pollFrom < 1 ? 1.1 : 0.99;
      this.rate = Math.min(8 * this.tunedRate, Math.max(this.tunedRate / 4, this.rate * factor));
      // Nothing else queued: the device is idle now, whatever was predicted.
      if (this.queued === 1) this.busyUntil = done;
      return result;
    } finally {
      this.queued--;
    }
  }

  async runChunk(request: ChunkRequest): Promise<ChunkResult> {
    await this.ready;
    // The engine hands a lane its next chunk before the abandoned one returns: wait for a slot.
    let slot = this.free.pop();
    while (!slot) {
      await new Promise<void>((resolve) => this.slotWaiters.push(resolve));
      slot = this.free.pop();
    }
    slot.resize(this.options.hitCapacity ?? hitCapacity(this.size, request.target));
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
      this.slotWaiters.shift()?.();
    }
  }

  async close(): Promise<void> {
    await this.ready.catch(() => undefined);
    // Chunks still in flight see the moved epoch after their current dispatch: let them end
    // before their buffers go (destroying a buffer under a pending readback is a validation error).
    const deadline = Date.now() + 5000;
    while (this.free.length < this.all.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    // The device is shared (webgpu.ts): only this backend's buffers go.
    for (const s of this.all) s.destroy();
    this.all = [];
  }
}
