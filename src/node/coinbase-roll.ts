/**
 * Headers of a work assignment that carries its coinbase: roll r is the
 * header with extranonce2 = extranonce2Start + r, so one assignment outlasts
 * the 2^32 nonces of a header (the engine asks for the next roll when a
 * header's window is spent, see MiningJob.header).
 */
import { bytesToHex } from '../core/bytes.js';
import { ErrorCode, HashgridError } from '../core/errors.js';
import type { CoinbaseRoll } from '../bus/schemas.js';
import { buildHeader, type StratumJob } from '../stratum/job.js';

export interface RollingHeaders {
  /** The header of roll `roll`, or undefined past the extranonce2 range. */
  header(roll: number): Uint8Array | undefined;
  /** The extranonce2 (hex) of roll `roll`. */
  extranonce2(roll: number): string;
}

/** Checks `coinbase` against the assignment's `header` and returns its headers by roll. */
export function rollingHeaders(coinbase: CoinbaseRoll, header: Uint8Array): RollingHeaders {
  const { extranonce2Size: size, extranonce2Start: start, extranonce2Count: count } = coinbase;
  // Rule: every extranonce2 of the range fits extranonce2Size bytes (start + count <= 2^(8·size)).
  if (BigInt(start) + BigInt(count) > 1n << BigInt(8 * size)) {
    throw new HashgridError(
      ErrorCode.INVALID_ARGUMENT,
      `WorkAssignment.coinbase: extranonce2Start + extranonce2Count must be <= 2^${8 * size} for extranonce2Size ${size}, got ${start} + ${count}`,
      { start, count, size },
    );
  }
  const job: StratumJob = {
    jobId: 'assignment',
    prevhash: coinbase.prevhash,
    coinb1: coinbase.coinb1,
    coinb2: coinbase.coinb2,
    merkleBranch: coinbase.merkleBranch,
    version: coinbase.version,
    nbits: coinbase.nbits,
    ntime: coinbase.ntime,
    cleanJobs: false,
  };
  const extranonce2 = (roll: number) => (BigInt(start) + BigInt(roll)).toString(16).padStart(size * 2, '0');
  const build = (roll: number) => buildHeader(job, { extranonce1: coinbase.extranonce1, extranonce2: extranonce2(roll), ntime: coinbase.ntime, nonce: '00000000' });
  // Rule: `header` is the header of extranonce2Start (nonce field aside), so both describe the same work.
  const first = build(0);
  if (bytesToHex(first.subarray(0, 76)) !== bytesToHex(header.subarray(0, 76))) {
    throw new HashgridError(ErrorCode.INVALID_ARGUMENT, 'WorkAssignment: header is not the header the coinbase gives for extranonce2Start', {});
  }
  return {
    header: (roll) => (roll === 0 ? first : roll < count ? build(roll) : undefined),
    extranonce2,
  };
}
