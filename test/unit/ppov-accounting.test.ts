/**
 * The accounting record builder on its own: whole stream records, per
 * sub-account sums, and a transaction that always fits PpovSubmit.
 */
import { describe, expect, it } from 'vitest';
import { ACCOUNTING_MAX_ENTRIES, SCHEMA_VERSION } from '../../src/bus/schemas.js';
import { decodeAccounting, encodeAccounting, workEntries } from '../../src/ppov/accounting.js';

const record = (seq: number, subs: string[]) => ({ seq, shares: subs.map((subAccount) => ({ subAccount, difficulty: 2 ** -16 })) });

describe('work records', () => {
  it('sums each stream record per sub-account and never splits a record between transactions', () => {
    const buffered = [record(1, ['a', 'a', 'b']), record(2, ['b'])];
    expect(workEntries(buffered)).toEqual([
      [1, 'a', 2, 2 * 2 ** -16],
      [1, 'b', 1, 2 ** -16],
      [2, 'b', 1, 2 ** -16],
    ]);
    expect(buffered).toEqual([]);
  });

  it('keeps every transaction within PpovSubmit\'s 65,536 base64 characters, even with the longest sub-account ids', () => {
    // 1,000 entries of 64-character ids would be ~80 kB of JSON: more than one transaction may carry.
    const id = (i: number) => `${'x'.repeat(58)}${String(i).padStart(6, '0')}`;
    const buffered = Array.from({ length: ACCOUNTING_MAX_ENTRIES }, (_, i) => record(i + 1, [id(i)]));
    const seen: number[] = [];
    while (buffered.length > 0) {
      const entries = workEntries(buffered);
      expect(entries.length).toBeGreaterThan(0);
      const tx = encodeAccounting({ v: SCHEMA_VERSION, kind: 'work', centerId: 'main', stream: '2026-12-02T07:00:00.000000000Z', shares: entries });
      expect(Buffer.from(tx).toString('base64').length).toBeLessThanOrEqual(65_536);
      expect(decodeAccounting(tx)).toMatchObject({ kind: 'work', shares: entries });
      seen.push(...entries.map((e) => e[0]));
    }
    expect(seen).toEqual(Array.from({ length: ACCOUNTING_MAX_ENTRIES }, (_, i) => i + 1));
  });
});
