/**
 * A backend that moves to a second one when the first loses its device.
 *
 * A GPU can go away under a running job (driver reset, hot unplug, the device
 * destroyed). The engine must not lose that job: the chunk that hit the loss
 * is run again on the fallback (the wasm pool), and so is everything after it.
 * Only DEVICE_LOST moves; any other error is the chunk's own and propagates.
 */
import { ErrorCode, isHashgridError } from '../core/errors.js';
import type { Backend, ChunkRequest, ChunkResult } from './backend.js';

export interface FallbackOptions {
  /** Makes the fallback on first need (so no worker threads start while the primary works). */
  fallback: () => Backend;
  /** Told once, when the primary is abandoned. */
  onFallback?: (error: Error, to: string) => void;
}

export class FallbackBackend implements Backend {
  readonly initialChunk: number;
  private secondary: Backend | undefined;
  private failed = false;

  constructor(
    readonly primary: Backend,
    private readonly options: FallbackOptions,
  ) {
    this.initialChunk = primary.initialChunk;
  }

  /**
   * The lanes of the backend now hashing: after a device loss, the
   * fallback's own (its thread count), not the GPU's dispatches in flight.
   * The engine gives new lanes a pump as they appear and ends the pumps of
   * lanes that are gone.
   */
  get lanes(): number {
    return this.failed ? this.active().lanes : this.primary.lanes;
  }

  /** The backend now hashing: the primary, or the fallback after a device loss. */
  get name(): string {
    return this.failed ? this.active().name : this.primary.name;
  }

  private active(): Backend {
    if (!this.failed) return this.primary;
    this.secondary ??= this.options.fallback();
    return this.secondary;
  }

  async runChunk(request: ChunkRequest): Promise<ChunkResult> {
    if (!this.failed) {
      try {
        return await this.primary.runChunk(request);
      } catch (e) {
        if (!isHashgridError(e) || e.code !== ErrorCode.DEVICE_LOST) throw e;
        if (!this.failed) {
          this.failed = true;
          this.options.onFallback?.(e, this.active().name);
        }
      }
    }
    // A chunk interrupted on a GPU lane the fallback does not have (2 dispatches in flight, 1 wasm thread) runs on one it has.
    const active = this.active();
    const lane = request.lane === undefined ? undefined : request.lane % active.lanes;
    return active.runChunk(lane === request.lane ? request : { ...request, lane });
  }

  async close(): Promise<void> {
    await Promise.all([this.primary.close(), this.secondary?.close()]);
  }
}
