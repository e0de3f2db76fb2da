/**
 * `hashgrid scheduler status`: the table shows, besides the sub-accounts,
 * each competing center's tier, measured demand, reservation, allotment and
 * what it lends; says when the answer came from a standby, and how many
 * shares the scheduler refused to forward.
 */
import { describe, expect, it } from 'vitest';
import { SchedulerStatus } from '../../src/bus/schemas.js';
import { formatStatus } from '../../src/cli/scheduler.js';

const status = SchedulerStatus.parse({
  v: 1,
  plan: 'p',
  mode: 'parallel',
  role: 'leader',
  leader: 'abc',
  capacity: 100e6,
  tiers: { big: 'heavy', done: 'light' },
  reservations: {
    big: { tier: 'heavy', demand: 80e6, reserved: 77e6, allotted: 89e6, lent: 0 },
    done: { tier: 'light', demand: 0, reserved: 23e6, allotted: 11e6, lent: 12e6 },
  },
  accounts: [],
  nodes: [],
  forwarded: { accepted: 0, rejected: 0 },
});

describe('the status table', () => {
  it('lists each center with its tier, demand, reservation, allotment and loan', () => {
    const lines = formatStatus(status).split('\n');
    const head = lines.findIndex((l) => l.startsWith('center'));
    expect(lines[head]).toMatch(/^center\s+tier\s+demand\s+reserved\s+allotted\s+lent$/);
    expect(lines[head + 1]).toMatch(/^big\s+heavy\s+80(\.00)? MH\/s\s+77(\.00)? MH\/s\s+89(\.00)? MH\/s\s+-$/);
    expect(lines[head + 2]).toMatch(/^done\s+light\s+0(\.00)? H\/s\s+23(\.00)? MH\/s\s+11(\.00)? MH\/s\s+12(\.00)? MH\/s$/);
  });

  it('counts the shares the scheduler refused to forward, and says nothing of them when there were none', () => {
    const refused = formatStatus({ ...status, forwarded: { accepted: 9, rejected: 1, refused: { EXTRANONCE2_OUT_OF_RANGE: 2, INVALID_MESSAGE: 1 } } });
    expect(refused.split('\n')[0]).toMatch(/shares forwarded 9 accepted \/ 1 rejected, 3 refused by the scheduler$/);
    expect(formatStatus(status).split('\n')[0]).toMatch(/shares forwarded 0 accepted \/ 0 rejected$/);
  });

  it('says when a standby answered, and leaves the center table out for one center', () => {
    const text = formatStatus({ ...status, role: 'standby', leader: '', reservations: {} });
    expect(text).toMatch(/leader none \(this answer is a standby's\)/);
    expect(text).not.toMatch(/^center/m);
  });
});
