/**
 * Extranonce2 ranges (src/scheduler/extranonce2.ts): ranges taken from one
 * counter never overlap within a round of the space and never run past its
 * end; small extranonce2 sizes shrink the range; job ids carry the range and
 * a share outside it is refused with a typed error.
 */
import { describe, expect, it } from 'vitest';
import { encode, MAX_PAYLOAD_BYTES } from '../../src/bus/codec.js';
import { COINBASE_PART_MAX_BYTES, JOB_ID_MAX, SCHEMA_VERSION, WorkAssignment } from '../../src/bus/schemas.js';
import { extranonce2Hex, jobIdOf, MIN_RANGES_PER_SPACE, parseJobId, reserveExtranonce2, shareExtranonce2, type Extranonce2Range } from '../../src/scheduler/extranonce2.js';

/** `n` ranges in a row from counter `from`. */
function take(n: number, size: number, wanted: number, from = 0): { ranges: Extranonce2Range[]; next: number; wrapped: number } {
  const ranges: Extranonce2Range[] = [];
  let next = from;
  let wrapped = 0;
  for (let i = 0; i < n; i++) {
    const r = reserveExtranonce2(next, size, wanted);
    ranges.push(r.range);
    next = r.next;
    if (r.wrapped) wrapped++;
  }
  return { ranges, next, wrapped };
}

const disjoint = (ranges: Extranonce2Range[]) => {
  const sorted = [...ranges].sort((a, b) => a.start - b.start);
  return sorted.every((r, i) => i === 0 || sorted[i - 1]!.start + sorted[i - 1]!.count <= r.start);
};

describe('extranonce2 ranges', () => {
  it('gives 4-byte extranonce2 the wanted range, one after the other', () => {
    const { ranges, next } = take(3, 4, 256);
    expect(ranges).toEqual([
      { start: 0, count: 256 },
      { start: 256, count: 256 },
      { start: 512, count: 256 },
    ]);
    expect(next).toBe(768);
  });

  it('resumes from a saved counter without handing out anything below it', () => {
    // What a restarted scheduler does: the saved counter is all it knows.
    const before = take(5, 4, 1000);
    const after = take(5, 4, 1000, before.next);
    expect(disjoint([...before.ranges, ...after.ranges])).toBe(true);
    expect(Math.min(...after.ranges.map((r) => r.start))).toBe(before.next);
  });

  it('shrinks the range for 1- and 2-byte extranonce2 so the space holds MIN_RANGES_PER_SPACE of them, all disjoint', () => {
    const one = take(MIN_RANGES_PER_SPACE, 1, 65_536);
    expect(one.ranges.every((r) => r.count === 1)).toBe(true);
    expect(disjoint(one.ranges)).toBe(true);
    expect(one.ranges.at(-1)).toEqual({ start: 255, count: 1 });
    const two = take(MIN_RANGES_PER_SPACE, 2, 65_536);
    expect(two.ranges.every((r) => r.count === 65_536 / MIN_RANGES_PER_SPACE)).toBe(true);
    expect(disjoint(two.ranges)).toBe(true);
    // Every range fits the size: start + count <= 2^16.
    expect(Math.max(...two.ranges.map((r) => r.start + r.count))).toBe(65_536);
  });

  it('starts a new round at 0 once the space is spent, never running past its end', () => {
    // 200 does not divide 65,536: a round holds 327 ranges, and the 136 values left at its end are skipped.
    const { ranges, wrapped } = take(400, 2, 200);
    expect(ranges.every((r) => r.start + r.count <= 65_536)).toBe(true);
    const round = ranges.findIndex((r, i) => i > 0 && r.start === 0);
    expect(round).toBe(Math.floor(65_536 / 200));
    expect(disjoint(ranges.slice(0, round))).toBe(true);
    expect(wrapped).toBe(1);
  });

  it('writes extranonce2 as Stratum does: big-endian hex of its size', () => {
    expect(extranonce2Hex(0x1234, 4)).toBe('00001234');
    expect(extranonce2Hex(7, 1)).toBe('07');
  });
});

describe('job ids', () => {
  const ref = { center: 'main', id: 'alice', taskJobId: '3.1a', extranonce2Start: '00000100', extranonce2Count: 256, ntime: '65000000' };

  it('carry the range and read back, a pool job id holding "|" included', () => {
    expect(jobIdOf(ref)).toBe('main|alice|3.1a|00000100+256|65000000');
    expect(parseJobId(jobIdOf(ref))).toEqual(ref);
    const odd = { ...ref, center: '127.0.0.1:3333', taskJobId: 'a|b' };
    expect(parseJobId(jobIdOf(odd))).toEqual(odd);
  });

  it('refuse, with a typed error, a job id longer than the bus takes', () => {
    expect(jobIdOf({ ...ref, taskJobId: 'j'.repeat(200) }).length).toBeLessThanOrEqual(256);
    expect(() => jobIdOf({ ...ref, center: 'c'.repeat(64), id: 'a'.repeat(64), taskJobId: 'j'.repeat(120) })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/more than 256/) }));
  });

  it('read a job id from before ranges as a range of one', () => {
    expect(parseJobId('main|alice|3.1a|0000002a|65000000')).toEqual({ ...ref, extranonce2Start: '0000002a', extranonce2Count: 1 });
  });

  it('are not a scheduler job id when a field is missing or malformed', () => {
    for (const id of ['demo-3', 'main|alice|3.1a|65000000', 'main|alice|3.1a|xyz+2|65000000', 'main|alice|3.1a|00000001+0|65000000', 'main||3.1a|00000001+2|65000000']) {
      expect(parseJobId(id), id).toBeUndefined();
    }
  });
});

describe('a share against its range', () => {
  const ref = parseJobId('main|alice|3.1a|00000100+256|65000000')!;

  it('submits the share\'s own extranonce2 inside the range, the range\'s first when the share names none', () => {
    expect(shareExtranonce2(ref, '00000100')).toBe('00000100');
    expect(shareExtranonce2(ref, '000001ff')).toBe('000001ff');
    expect(shareExtranonce2(ref, undefined)).toBe('00000100');
  });

  it('refuses one below, at the end of, or of another size than the range with EXTRANONCE2_OUT_OF_RANGE', () => {
    for (const en2 of ['000000ff', '00000200', '0100', '0000000100', '']) {
      expect(() => shareExtranonce2(ref, en2), en2).toThrow(expect.objectContaining({ code: 'EXTRANONCE2_OUT_OF_RANGE', message: expect.stringMatching(/outside its assignment's range/) }));
    }
  });
});

describe('work with a coinbase fits one bus message', () => {
  // A control character is the longest a JSON string character gets: six bytes (\u0001).
  const largest = (partBytes: number) => ({
    v: SCHEMA_VERSION,
    jobId: '\u0001'.repeat(JOB_ID_MAX),
    owner: '\u0001'.repeat(128),
    header: 'ab'.repeat(80),
    nonceStart: 4294967295,
    nonceCount: 2 ** 32,
    shareTarget: 'ff'.repeat(32),
    coinbase: {
      prevhash: 'cd'.repeat(32),
      coinb1: 'ef'.repeat(partBytes),
      coinb2: 'ef'.repeat(partBytes),
      merkleBranch: Array.from({ length: 32 }, () => '01'.repeat(32)),
      version: '20000000',
      nbits: '1d00ffff',
      ntime: '65000000',
      extranonce1: 'aa'.repeat(16),
      extranonce2Size: 8,
      extranonce2Start: Number.MAX_SAFE_INTEGER,
      extranonce2Count: Number.MAX_SAFE_INTEGER,
    },
  });

  it('the largest valid assignment is under the bus limit', () => {
    const bytes = encode(WorkAssignment, largest(COINBASE_PART_MAX_BYTES)).length;
    expect(bytes).toBeGreaterThan(60_000);
    expect(bytes).toBeLessThanOrEqual(MAX_PAYLOAD_BYTES);
  });

  it('a coinbase part one byte longer is refused by the schema', () => {
    const parsed = WorkAssignment.safeParse(largest(COINBASE_PART_MAX_BYTES + 1));
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((i) => i.path.join('.'))).toEqual(['coinbase.coinb1', 'coinbase.coinb2']);
  });
});
