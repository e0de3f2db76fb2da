/**
 * Extranonce2 ranges and the job ids that carry them (pure).
 *
 * Each work assignment reserves a run of extranonce2 values of its
 * sub-account's task, and the node rolls through them itself (a new coinbase,
 * a new merkle root, 2^32 fresh nonces each), so one assignment outlasts the
 * nonces of one header and no two nodes hash the same header. The range
 * rides in the job id, so a share can be checked against it and turned back
 * into a task result by any scheduler of the plan, a restarted one included,
 * without a record of every range ever given out.
 */
import { JOB_ID_MAX } from '../bus/schemas.js';
import { ErrorCode, HashgridError } from '../core/errors.js';

/**
 * How many ranges the extranonce2 space holds at least: with a 1- or 2-byte
 * extranonce2 the range shrinks (to 1 and 256 values) rather than let fewer
 * assignments than this share the space.
 */
export const MIN_RANGES_PER_SPACE = 256;

export interface Extranonce2Range {
  start: number;
  count: number;
}

/** Values of `size`-byte extranonce2 the counter can tell apart (a JS number counts exactly up to 2^53). */
const spaceOf = (size: number) => Math.min(2 ** (8 * size), 2 ** 53);

/**
 * The next range of `wanted` values (or fewer, see MIN_RANGES_PER_SPACE) of a
 * `size`-byte extranonce2 from the counter `next`, and the counter after it.
 * The counter only grows; a range is `next` modulo the space, so values come
 * round again only once the whole space has been handed out: 2^24 ranges of
 * 256 with 4 bytes, by when the task job they were given for is long
 * replaced (the center's duplicate check, like the header, is per job); 256
 * assignments with 1 byte, as when every assignment had one extranonce2.
 * `wrapped` says the range begins such a new round.
 */
export function reserveExtranonce2(next: number, size: number, wanted: number): { range: Extranonce2Range; next: number; wrapped: boolean } {
  const space = spaceOf(size);
  const count = Math.max(1, Math.min(wanted, Math.floor(space / MIN_RANGES_PER_SPACE)));
  let start = next % space;
  // A range never runs past the last value (the node could not encode it): the next round starts at 0 instead.
  if (start + count > space) {
    next += space - start;
    start = 0;
  }
  return { range: { start, count }, next: next + count, wrapped: start === 0 && next > 0 };
}

/** An extranonce2 value as Stratum writes it: big-endian hex, `size` bytes. */
export const extranonce2Hex = (value: number | bigint, size: number): string => value.toString(16).padStart(size * 2, '0');

/** What a share needs to become a task result, as its job id carries it. */
export interface JobRef {
  center: string;
  /** The sub-account id. */
  id: string;
  taskJobId: string;
  /** First extranonce2 of the assignment's range (hex, extranonce2Size bytes). */
  extranonce2Start: string;
  extranonce2Count: number;
  ntime: string;
}

/** `<center>|<sub-account>|<task job>|<extranonce2Start>+<extranonce2Count>|<ntime>`; a typed error past JOB_ID_MAX. */
export function jobIdOf(r: JobRef): string {
  const id = [r.center, r.id, r.taskJobId, `${r.extranonce2Start}+${r.extranonce2Count}`, r.ntime].join('|');
  // Rule: a job id fits the bus's JOB_ID_MAX, or no node would take the work (a pool's long job ids are the usual cause).
  if (id.length > JOB_ID_MAX) {
    throw new HashgridError(ErrorCode.INVALID_ARGUMENT, `job id of ${r.center}/${r.id} is ${id.length} characters, more than ${JOB_ID_MAX} (the task's job id "${r.taskJobId.slice(0, 40)}…" is ${r.taskJobId.length})`, { length: id.length });
  }
  return id;
}

/**
 * The job ref of a scheduler job id, or undefined for one that is not (work
 * of some other feeder). Job ids of schedulers before ranges carry one
 * extranonce2 without `+<count>`: a range of 1. A pool's job id may itself
 * hold `|`, so the fields are read from both ends.
 */
export function parseJobId(jobId: string): JobRef | undefined {
  const parts = jobId.split('|');
  if (parts.length < 5) return undefined;
  const [center, id] = parts as [string, string];
  const ntime = parts.at(-1)!;
  const [extranonce2Start, count] = parts.at(-2)!.split('+');
  const taskJobId = parts.slice(2, -2).join('|');
  const extranonce2Count = count === undefined ? 1 : Number(count);
  if (!center || !id || !taskJobId || !ntime || !/^([0-9a-f]{2})+$/.test(extranonce2Start!) || !Number.isSafeInteger(extranonce2Count) || extranonce2Count < 1) return undefined;
  return { center, id, taskJobId, extranonce2Start: extranonce2Start!, extranonce2Count, ntime };
}

/**
 * The extranonce2 to submit for a share of `ref`'s assignment: the share's
 * own (a node rolls through the range), or the range's first for a share
 * that names none (work without a coinbase has only that header).
 */
export function shareExtranonce2(ref: JobRef, extranonce2: string | undefined): string {
  if (extranonce2 === undefined) return ref.extranonce2Start;
  const start = BigInt(`0x${ref.extranonce2Start}`);
  const value = BigInt(`0x${extranonce2 || '0'}`);
  // Rule: a share's extranonce2 is one its assignment reserved: as many bytes as extranonce2Start,
  // and extranonce2Start <= value < extranonce2Start + extranonce2Count.
  if (extranonce2.length !== ref.extranonce2Start.length || value < start || value >= start + BigInt(ref.extranonce2Count)) {
    throw new HashgridError(
      ErrorCode.EXTRANONCE2_OUT_OF_RANGE,
      `share extranonce2 ${extranonce2 || '(empty)'} is outside its assignment's range: expected ${ref.extranonce2Start.length / 2} bytes from ${ref.extranonce2Start}, ${ref.extranonce2Count} values`,
      { extranonce2, extranonce2Start: ref.extranonce2Start, extranonce2Count: ref.extranonce2Count },
    );
  }
  return extranonce2;
}
