/**
 * The contract between the engine and a hashing backend.
 *
 * A backend scans *chunks*: a parameter block (see params.ts) and a nonce
 * window. It runs up to `lanes` chunks at once. Each chunk carries the epoch
 * it belongs to; the engine bumps the shared epoch word when work changes, and
 * a backend abandons a chunk part-way as soon as it sees the word move.
 */
export interface ChunkRequest {
  /** The 80-byte header (nonce field ignored) and target the parameters were made from. */
  header: Uint8Array;
  target: bigint;
  /** Scan parameter block, SCAN_PARAM_WORDS u32 words. */
  params: Uint32Array;
  start: number;
  count: number;
  /** The epoch this chunk was issued under. */
  epoch: number;
  /**
   * The engine lane (0 ≤ lane < lanes) running this chunk: a lane runs one
   * chunk at a time, so a mixed backend can give each lane a fixed part.
   */
  lane?: number;
  /**
   * Told of a hit as soon as the backend knows it, before the chunk returns
   * (`foundAt`: wall-clock ms). Hits told this way are left out of the
   * result's `hits` and `found`. A backend may also report every hit only
   * in the result.
   */
  onHit?(nonce: number, foundAt: number): void;
}

export interface ChunkResult {
  /** Nonces actually hashed (less than count when aborted). */
  hashes: number;
  /** Nonces that met the target (at most the backend's hit buffer). */
  hits: number[];
  /** How many met the target; above hits.length the hit buffer overflowed. */
  found: number;
  /** True when the chunk was abandoned because the epoch moved. */
  aborted: boolean;
  /** Wall-clock time (ms, performance.timeOrigin + now) when hashing started and ended. */
  startedAt: number;
  endedAt: number;
}

export interface Backend {
  /** Name shown in results: `wasm`, `wasm-scalar`, `reference`, `gpu`. */
  readonly name: string;
  /** Chunks that may run at once (worker threads, or dispatches in flight). */
  readonly lanes: number;
  /** Preferred first chunk size, before the engine has measured a rate. */
  readonly initialChunk: number;
  runChunk(request: ChunkRequest): Promise<ChunkResult>;
  close(): Promise<void>;
  /**
   * A backend made of parts (a GPU and wasm threads): the parts, and which
   * part runs each engine lane, so hashrate is reported per part.
   */
  readonly parts?: readonly Backend[];
  partOfLane?(lane: number): number;
}

/** The shared epoch word: engine writes, backends read. */
export type EpochWord = Int32Array;

export const createEpochWord = (): EpochWord => new Int32Array(new SharedArrayBuffer(4));

/** Wall-clock milliseconds comparable between threads of one process. */
export const wallClockMs = (): number => performance.timeOrigin + performance.now();
