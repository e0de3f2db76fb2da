/**
 * The hashing engine: splits work into chunks, keeps every lane of a backend
 * busy, switches work within milliseconds, and re-verifies every hit on the
 * reference before it leaves.
 *
 * Work is either a finite `scan` (one header, a nonce window) or an
 * open-ended `mine` (a job whose headers roll over when 2^32 nonces are
 * spent). Giving new work moves the shared epoch word; chunks of the old
 * epoch stop part-way and whatever they return is dropped, so no hash or hit
 * of replaced work comes out afterwards.
 */
import { ErrorCode, HashgridError } from '../core/errors.js';
import { abytes } from '../core/bytes.js';
import { HEADER_LENGTH, withNonce } from '../core/header.js';
import { NONCES_PER_HEADER, type Hit, type MiningJob, type ScanRange } from '../core/job.js';
import { meetsTarget, sha256d } from '../core/sha256d.js';
import { atarget } from '../core/target.js';
import { createEpochWord, wallClockMs, type Backend, type ChunkResult, type EpochWord } from './backend.js';
import { HashrateMeter } from './meter.js';
import { scanParams } from './params.js';

/** Engine options; every default is documented here. */
export interface EngineOptions {
  /** Wall time one chunk should take once the rate is known (default 75 ms). */
  chunkMs?: number;
  /** Fixed chunk size in nonces; overrides chunkMs (tests use it to force boundaries). */
  chunkSize?: number;
  /** Window of the hashrate meter (default 10 s). */
  meterWindowMs?: number;
}

/** One backend part's share of the engine's work (see HashEngine.backendRates). */
export interface BackendRate {
  backend: string;
  lanes: number;
  /** Hashes per second over the meter window. */
  hashrate: number;
  /** Hashes since the engine started. */
  hashes: number;
}

export interface ScanOptions {
  /** Called after each chunk with the nonces hashed so far. */
  onProgress?(hashed: number, total: number): void;
  signal?: AbortSignal;
}

export interface ScanResult {
  backend: string;
  hashes: number;
  seconds: number;
  /** Verified hits, in nonce order. */
  hits: Hit[];
  /** Nonces that met the target but did not fit a backend hit buffer (reported, never silent). */
  droppedHits: number;
}

export interface MiningListener {
  onHit?(hit: Hit): void;
  /** The job has no more headers: every nonce of every roll was handed out. */
  onExhausted?(jobId: string): void;
  /** A backend failed, or reported a hit the reference rejects. */
  onError?(error: Error): void;
  /**
   * A chunk found `dropped` more hits than its backend's hit buffer holds:
   * those nonces met the target but are lost (scans sum them in droppedHits).
   */
  onOverflow?(dropped: number, jobId: string): void;
  /**
   * Every lane is on the new work: ms from the switch until the last lane
   * started hashing it, and that moment (wall-clock ms, performance.timeOrigin
   * + now). Reported once those first chunks have returned.
   */
  onSwitched?(latencyMs: number, completedAt: number): void;
}

/** What the engine tells the owner of a piece of work; scans add completion and progress. */
interface WorkListener extends MiningListener {
  onComplete?(): void;
  onFail?(error: Error): void;
  onProgress?(hashed: number, total: number): void;
}

interface Chunk {
  roll: number;
  header: Uint8Array;
  params: Uint32Array;
  start: number;
  count: number;
}

/** One piece of work under one epoch: hands out chunks and gathers results. */
class Work {
  readonly startedAt = performance.now();
  readonly switchedAt = wallClockMs();
  hashes = 0;
  droppedHits = 0;
  outstanding = 0;
  /** When each lane started its first chunk of this work (for the switch latency). */
  readonly laneStarts = new Map<number, number>();
  readonly hits: Hit[] = [];
  private roll = -1;
  private header: Uint8Array | undefined;
  private params: Uint32Array | undefined;
  private cursor = 0;
  private end = 0;
  done = false;

  constructor(
    readonly epoch: number,
    readonly jobId: string,
    readonly target: bigint,
    private readonly headerOf: (roll: number) => Uint8Array | undefined,
    private readonly range: { start: number; end: number } | undefined,
    /** A single-header scan: done once roll 0 is handed out, never asks for roll 1. */
    private readonly singleHeader: boolean,
    readonly listener: WorkListener,
    readonly total: number,
  ) {}

  /** The next chunk of at most `size` nonces, or undefined when all are handed out. */
  next(size: number): Chunk | undefined {
    if (this.done) return undefined;
    if (this.header === undefined || this.cursor >= this.end) {
      if (this.singleHeader && this.roll === 0) return undefined;
      const header = this.headerOf(this.roll + 1);
      if (header === undefined) {
        this.done = true;
        this.listener.onExhausted?.(this.jobId);
        return undefined;
      }
      this.roll++;
      this.header = header;
      this.params = scanParams(header, this.target);
      this.cursor = this.range?.start ?? 0;
      this.end = this.range?.end ?? NONCES_PER_HEADER;
    }
    const count = Math.min(size, this.end - this.cursor);
    const chunk = { roll: this.roll, header: this.header, params: this.params!, start: this.cursor, count };
    this.cursor += count;
    return chunk;
  }

  get allHandedOut(): boolean {
    return this.done || (this.singleHeader && this.roll === 0 && this.cursor >= this.end);
  }
}

/** A nonce window within one header: 0 ≤ start, 1 ≤ count, start + count ≤ 2^32. */
function checkedRange(start: number, count: number): { start: number; end: number } {
  if (!Number.isInteger(start) || !Number.isInteger(count) || start < 0 || count < 1 || start + count > NONCES_PER_HEADER) {
    throw new HashgridError(
      ErrorCode.INVALID_NONCE_RANGE,
      `nonce range: expected 0 <= start and 1 <= count with start + count <= 2^32, got start ${start}, count ${count}`,
      { start, count },
    );
  }
  return { start, end: start + count };
}

export class HashEngine {
  readonly meter: HashrateMeter;
  private readonly epochWord: EpochWord;
  private epoch = 0;
  private work: Work | undefined;
  private wake: (() => void) | undefined;
  private wakeup: Promise<void>;
  private closed = false;
  /**
   * Measured hashes per ms of each lane (EWMA); 0 until its first chunk. Per
   * lane, because a mixed backend's lanes differ (a GPU lane and a CPU thread).
   */
  private readonly laneRates: number[];
  private readonly pumps: Promise<void>[];
  /** One meter per backend part (one in all for a plain backend), so each part's hashrate is known. */
  private readonly partMeters: HashrateMeter[];

  /**
   * @param backend what hashes; its epoch word must be `epochWord` (see createEngine).
   */
  constructor(
    readonly backend: Backend,
    epochWord: EpochWord,
    private readonly options: EngineOptions = {},
  ) {
    this.epochWord = epochWord;
    this.meter = new HashrateMeter(options.meterWindowMs ?? 10_000);
    this.wakeup = new Promise((r) => (this.wake = r));
    this.laneRates = Array.from({ length: backend.lanes }, () => 0);
    this.partMeters = Array.from({ length: backend.parts?.length ?? 1 }, () => new HashrateMeter(options.meterWindowMs ?? 10_000));
    this.pumps = Array.from({ length: backend.lanes }, (_, lane) => this.pump(lane));
  }

  /**
   * Each backend part's lanes, hashrate over the meter window and hashes so
   * far: one entry for a plain backend, one per part for a mix. Names are
   * the parts' own (`gpu`, `wasm`); a name a second part shares gets `#2`, `#3`….
   */
  backendRates(now = Date.now()): BackendRate[] {
    const parts = this.backend.parts ?? [this.backend];
    const seen = new Map<string, number>();
    return parts.map((part, i) => {
      const n = (seen.get(part.name) ?? 0) + 1;
      seen.set(part.name, n);
      const meter = this.partMeters[i]!;
      return { backend: n === 1 ? part.name : `${part.name}#${n}`, lanes: part.lanes, hashrate: meter.rate(now), hashes: meter.totalHashes };
    });
  }

  /** Hashes `range.count` nonces from `range.start`; resolves with the verified hits. */
  scan(range: ScanRange, options: ScanOptions = {}): Promise<ScanResult> {
    const { start, count } = range;
    const window = checkedRange(start, count);
    atarget(range.target);
    const header = Uint8Array.from(abytes(range.header, HEADER_LENGTH, 'header'));
    return new Promise<ScanResult>((resolve, reject) => {
      const onAbort = () => {
        work.done = true;
        if (this.work === work) this.setWork(undefined);
        reject(options.signal!.reason ?? new Error('aborted'));
      };
      const work = new Work(
        this.epoch + 1,
        'scan',
        range.target,
        (roll) => (roll === 0 ? header : undefined),
        window,
        true,
        {
          onComplete: () => {
            options.signal?.removeEventListener('abort', onAbort);
            work.hits.sort((a, b) => a.nonce - b.nonce);
            resolve({
              backend: this.backend.name,
              hashes: work.hashes,
              seconds: (performance.now() - work.startedAt) / 1000,
              hits: work.hits,
              droppedHits: work.droppedHits,
            });
          },
          onFail: (e) => {
            options.signal?.removeEventListener('abort', onAbort);
            reject(e);
          },
          onHit: (hit) => work.hits.push(hit),
          ...(options.onProgress ? { onProgress: options.onProgress } : {}),
        },
        count,
      );
      if (options.signal?.aborted) return onAbort();
      options.signal?.addEventListener('abort', onAbort, { once: true });
      this.setWork(work);
    });
  }

  /** Mines `job` until it is exhausted or replaced by other work (or `stop()`). */
  mine(job: MiningJob, listener: MiningListener): void {
    atarget(job.target);
    const range = job.nonces ? checkedRange(job.nonces.start, job.nonces.count) : undefined;
    this.setWork(new Work(this.epoch + 1, job.id, job.target, (roll) => job.header(roll), range, false, listener, Infinity));
  }

  /** Stops current work: running chunks abandon it within a slice. */
  stop(): void {
    this.setWork(undefined);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.stop();
    this.closed = true;
    this.wake?.();
    await Promise.all(this.pumps);
    await this.backend.close();
  }

  private setWork(work: Work | undefined): void {
    if (this.closed) throw new HashgridError(ErrorCode.ENGINE_CLOSED, 'the engine is closed');
    const previous = this.work;
    this.epoch++;
    Atomics.store(this.epochWord, 0, this.epoch);
    this.work = work;
    if (previous && !previous.done) {
      previous.done = true;
      previous.listener.onFail?.(new HashgridError(ErrorCode.WORK_CANCELLED, 'the scan was replaced by other work'));
    }
    const wake = this.wake;
    this.wakeup = new Promise((r) => (this.wake = r));
    wake?.();
  }

  private chunkSize(work: Work, lane: number): number {
    if (this.options.chunkSize) return this.options.chunkSize;
    const rate = this.laneRates[lane]!;
    const wanted = rate > 0 ? rate * (this.options.chunkMs ?? 75) : this.backend.initialChunk;
    // Spread a small scan over every lane rather than one big chunk on one.
    const share = Math.ceil(work.total / this.backend.lanes);
    const size = Math.min(wanted, share, 1 << 26);
    return Math.max(64, Math.ceil(size / 64) * 64);
  }

  /**
   * Keeps one lane busy. New work does not wait for the lane's running chunk
   * to come back: the backend abandons it within a slice, and the new chunk
   * is already handed over to start right after.
   */
  private async pump(lane: number): Promise<void> {
    // A backend can also lose lanes (a 2-dispatch GPU that fell back to one wasm thread): a pump past them ends.
    while (!this.closed && lane < this.backend.lanes) {
      const work = this.work;
      const wakeup = this.wakeup;
      let chunk: Chunk | undefined;
      try {
        chunk = work?.next(this.chunkSize(work, lane));
      } catch (e) {
        // A job handed us a bad header: that job fails, the engine carries on.
        this.fail(work!, e as Error);
        continue;
      }
      if (!work || !chunk) {
        await wakeup;
        continue;
      }
      const issued = chunk;
      work.outstanding++;
      const running = this.backend
        .runChunk({
          header: issued.header,
          target: work.target,
          params: issued.params,
          start: issued.start,
          count: issued.count,
          epoch: work.epoch,
          lane,
          // A hit found before the chunk returns goes out now; one of replaced work never does.
          onHit: (nonce, foundAt) => {
            if (work.epoch === this.epoch) this.deliverHit(work, issued, nonce, foundAt);
          },
        })
        .then(
          (result) => {
            work.outstanding--;
            this.addNewLanes();
            if (work.epoch === this.epoch) this.absorb(work, issued, result, lane);
          },
          (e: Error) => {
            work.outstanding--;
            if (work.epoch === this.epoch) this.fail(work, e);
          },
        );
      await Promise.race([running, wakeup]);
    }
  }

  /** Lanes the engine keeps busy. */
  get lanes(): number {
    return Math.min(this.pumps.length, this.backend.lanes);
  }

  /** A backend can gain lanes as it runs (a GPU that fell back to wasm threads): each new one gets a pump. */
  private addNewLanes(): void {
    while (!this.closed && this.pumps.length < this.backend.lanes) {
      this.laneRates.push(0);
      this.pumps.push(this.pump(this.pumps.length));
    }
  }

  private absorb(work: Work, chunk: Chunk, result: ChunkResult, lane: number): void {
    this.meter.record(result.hashes);
    this.partMeters[this.backend.partOfLane?.(lane) ?? 0]?.record(result.hashes);
    if (!work.laneStarts.has(lane)) {
      work.laneStarts.set(lane, result.startedAt);
      if (work.laneStarts.size === this.backend.lanes) {
        const completedAt = Math.max(...work.laneStarts.values());
        work.listener.onSwitched?.(completedAt - work.switchedAt, completedAt);
      }
    }
    work.hashes += result.hashes;
    const ms = result.endedAt - result.startedAt;
    if (!result.aborted && ms > 1) {
      const rate = result.hashes / ms;
      const old = this.laneRates[lane]!;
      this.laneRates[lane] = old === 0 ? rate : 0.7 * old + 0.3 * rate;
    }
    const dropped = result.found - result.hits.length;
    if (dropped > 0) {
      work.droppedHits += dropped;
      work.listener.onOverflow?.(dropped, work.jobId);
    }
    for (const nonce of result.hits) if (!this.deliverHit(work, chunk, nonce)) return;
    work.listener.onProgress?.(work.hashes, work.total);
    if (work.allHandedOut && work.outstanding === 0 && work.listener.onComplete) {
      work.done = true;
      work.listener.onComplete();
    }
  }

  /** Re-verifies a backend's hit on the reference and hands it on; false (and the work failed) if it does not verify. */
  private deliverHit(work: Work, chunk: Chunk, nonce: number, foundAt?: number): boolean {
    const header = withNonce(chunk.header, nonce);
    const hash = sha256d(header);
    // Every hit is re-verified on the reference: a mismatch is a backend fault, never a share.
    if (!meetsTarget(hash, work.target)) {
      this.fail(
        work,
        new HashgridError(ErrorCode.HIT_VERIFICATION_FAILED, `${this.backend.name} reported nonce ${nonce} but its hash does not meet the target`, {
          backend: this.backend.name,
          jobId: work.jobId,
          nonce,
        }),
      );
      return false;
    }
    work.listener.onHit?.({ jobId: work.jobId, roll: chunk.roll, nonce, header, hash, ...(foundAt !== undefined ? { foundAt } : {}) });
    return true;
  }

  private fail(work: Work, error: Error): void {
    if (work.listener.onFail) {
      work.done = true;
      this.setWork(undefined);
      work.listener.onFail(error);
    } else work.listener.onError?.(error);
  }
}
