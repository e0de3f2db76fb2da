/**
 * Work as the engine sees it.
 *
 * A `ScanRange` is a finite search: one header, a nonce window, a target.
 * A `MiningJob` is open-ended work: when the 2^32 nonces of one header are
 * spent, the engine asks the job for the next header (a new extranonce2 in
 * the coinbase, or a rolled version) until the job says it is exhausted.
 */
export interface ScanRange {
  /** 80 serialized bytes; its nonce field is ignored. */
  header: Uint8Array;
  /** First nonce (0 ≤ start < 2^32). */
  start: number;
  /** Number of nonces (1 ≤ count, start + count ≤ 2^32). */
  count: number;
  /** The hash, as a little-endian number, must be ≤ target. */
  target: bigint;
}

export interface MiningJob {
  /** Identifies the job in hits and logs. */
  readonly id: string;
  readonly target: bigint;
  /**
   * The nonces to search in each header (default: all 2^32). A scheduler
   * that splits one header between nodes gives each its own window.
   */
  readonly nonces?: { start: number; count: number };
  /**
   * The header for roll `n` (0, 1, 2, …), or undefined when the job has no
   * more header space. Roll 0 is the job's first header.
   */
  header(roll: number): Uint8Array | undefined;
}

/** A nonce that met the target, re-verified on the reference. */
export interface Hit {
  jobId: string;
  /** Which header of the job (see MiningJob.header). */
  roll: number;
  nonce: number;
  /** The full 80-byte header with the nonce set. */
  header: Uint8Array;
  /** Raw sha256d digest (internal order). */
  hash: Uint8Array;
  /** When the backend found it (wall-clock ms, performance.timeOrigin + now), where it says. */
  foundAt?: number;
}

export const NONCES_PER_HEADER = 2 ** 32;
