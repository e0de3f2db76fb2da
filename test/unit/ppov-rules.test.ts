/**
 * PPoV rules one at a time: governance thresholds just below and above
 * ([0092], [0110], [0125], [0126]), typed rejections of bad ledger data with
 * no state change, and the drawing of lots.
 */
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/core/errors.js';
import { applyGroup, initialState, leaderFor } from '../../src/ppov/chain.js';
import { signHex } from '../../src/ppov/crypto.js';
import { checkReveal, commitmentFor, leaderOf, revealFor } from '../../src/ppov/draw.js';
import { referenceTxHasher } from '../../src/ppov/encode.js';
import { applyGov, elect, emptyGov, passes, recommendationBytes, signGov, type GovAction } from '../../src/ppov/governance.js';
import { PpovMachine, type Effect } from '../../src/ppov/machine.js';
import { thresholds } from '../../src/ppov/quorum.js';
import type { PpovMessage } from '../../src/ppov/types.js';
import { simGenesis, simIdentity, simulate } from '../helpers/ppov-sim.js';

describe('governance thresholds', () => {
  const cases: [Exclude<GovAction, 'confidence'>, number, number, number][] = [
    // action, members, just below, just above
    ['admit', 9, 4, 5], // > 1/2
    ['candidate', 10, 5, 6], // > 1/2
    ['demote', 9, 3, 4], // > 1/3
    ['blacklist', 9, 5, 6], // ≥ 2/3
    ['blacklist', 10, 6, 7],
  ];
  for (const [action, n, below, above] of cases) {
    it(`${action} with ${n} members: ${below} votes do not pass, ${above} do`, () => {
      expect(passes(action, below, n)).toBe(false);
      expect(passes(action, above, n)).toBe(true);
    });
  }

  const n = 6;
  const members = simGenesis(n, 'gov', 'majority').members;
  const ids = Array.from({ length: n }, (_, i) => simIdentity(i));
  const at = { chain: 'gov', term: 0 };

  it('demotion by > 1/3 removes a bookkeeper and forfeits its deposit, as ledger transactions', () => {
    const gov = emptyGov();
    let bookkeepers = ids.map((m) => m.id);
    // n5 becomes a candidate (a member applies directly, [0112]) with a deposit.
    for (const v of ids.slice(0, 4)) bookkeepers = applyGov(gov, signGov(v, { action: 'candidate', subject: 'n5', deposit: 1500 }, at), { members, bookkeepers, ...at });
    expect(gov.candidates.n5).toEqual({ deposit: 1500 });
    // 2 of 6 is exactly 1/3: not more than a third.
    for (const v of ids.slice(0, 2)) bookkeepers = applyGov(gov, signGov(v, { action: 'demote', subject: 'n5' }, at), { members, bookkeepers, ...at });
    expect(bookkeepers).toContain('n5');
    bookkeepers = applyGov(gov, signGov(ids[2]!, { action: 'demote', subject: 'n5' }, at), { members, bookkeepers, ...at });
    expect(bookkeepers).not.toContain('n5');
    expect(gov.forfeited.n5).toBe(1500);
  });

  it('blacklisting needs 2/3; a blacklisted node cannot apply again', () => {
    const gov = emptyGov();
    let bookkeepers = ids.map((m) => m.id);
    for (const v of ids.slice(0, 3)) bookkeepers = applyGov(gov, signGov(v, { action: 'blacklist', subject: 'n4' }, at), { members, bookkeepers, ...at });
    expect(gov.blacklist).toEqual([]);
    bookkeepers = applyGov(gov, signGov(ids[3]!, { action: 'blacklist', subject: 'n4' }, at), { members, bookkeepers, ...at });
    expect(gov.blacklist).toEqual(['n4']);
    expect(() => applyGov(gov, signGov(ids[0]!, { action: 'candidate', subject: 'n4', deposit: 5000 }, at), { members, bookkeepers, ...at })).toThrow(/blacklisted/);
  });

  it('a non-member candidate needs a member\'s recommendation and a deposit; forged votes and double votes are refused', () => {
    const gov = emptyGov();
    const ctx = { members, bookkeepers: ['n0'], ...at };
    expect(() => applyGov(gov, signGov(ids[0]!, { action: 'candidate', subject: 'outsider', deposit: 5000 }, at), ctx)).toThrow(/recommendation/);
    const recommendation = { by: 'n1', sig: signHex(ids[1]!, recommendationBytes('outsider')) };
    expect(() => applyGov(gov, signGov(ids[0]!, { action: 'candidate', subject: 'outsider', deposit: 1, recommendation }, at), ctx)).toThrow(/deposit/);
    applyGov(gov, signGov(ids[0]!, { action: 'candidate', subject: 'outsider', deposit: 5000, recommendation }, at), ctx);
    expect(() => applyGov(gov, signGov(ids[0]!, { action: 'candidate', subject: 'outsider', deposit: 5000, recommendation }, at), ctx)).toThrow(/already voted/);
    const forged = { ...signGov(ids[2]!, { action: 'candidate', subject: 'outsider' }, at), voter: 'n3' };
    expect(() => applyGov(gov, forged, ctx)).toThrow(/signature/);
    expect(gov.motions['candidate:outsider']).toEqual(['n0']);
  });

  it('confidence ballots elect the next term\'s bookkeepers; a ballot may name at most half the candidates', () => {
    const gov = emptyGov();
    const ctx = { members, bookkeepers: ['n0'], ...at };
    for (const c of ['n1', 'n2', 'n3', 'n4']) for (const v of ids.slice(0, 4)) applyGov(gov, signGov(v, { action: 'candidate', subject: c, deposit: 1000 }, at), ctx);
    expect(() => applyGov(gov, signGov(ids[0]!, { action: 'confidence', subject: '', subjects: ['n1', 'n2', 'n3'] }, at), ctx)).toThrow(/at most 2/);
    applyGov(gov, signGov(ids[0]!, { action: 'confidence', subject: '', subjects: ['n1', 'n2'] }, at), ctx);
    applyGov(gov, signGov(ids[1]!, { action: 'confidence', subject: '', subjects: ['n2', 'n3'] }, at), ctx);
    applyGov(gov, signGov(ids[2]!, { action: 'confidence', subject: '', subjects: ['n2', 'n1'] }, at), ctx);
    expect(elect(gov, ['n0'], 2)).toEqual(['n1', 'n2']);
  });

  it('a recorded vote cannot be replayed: not after its motion passed, not in another term, not on another chain', () => {
    const gov = emptyGov();
    let bookkeepers = ids.map((m) => m.id);
    const votes = ids.slice(0, 2).map((v) => signGov(v, { action: 'demote', subject: 'n5' }, at));
    votes.push(signGov(ids[2]!, { action: 'demote', subject: 'n5' }, at));
    for (const t of votes) bookkeepers = applyGov(gov, t, { members, bookkeepers, ...at });
    expect(bookkeepers).not.toContain('n5');
    // n5 is a bookkeeper again (a new term's election); the old votes, replayed, must not demote it.
    bookkeepers = [...bookkeepers, 'n5'];
    const before = structuredClone(gov);
    expect(() => applyGov(gov, votes[0]!, { members, bookkeepers, ...at })).toThrow(/already decided this term/);
    expect(() => applyGov(gov, votes[0]!, { members, bookkeepers, chain: 'gov', term: 1 })).toThrow(/signed for chain gov term 0/);
    expect(() => applyGov(gov, votes[0]!, { members, bookkeepers, chain: 'other', term: 0 })).toThrow(/this is chain other/);
    expect(gov).toEqual(before);
    // Changing the term or chain on a recorded vote breaks its signature.
    expect(() => applyGov(gov, { ...votes[0]!, term: 1 }, { members, bookkeepers, chain: 'gov', term: 1 })).toThrow(/signature/);
  });
});

describe('quorum and drawing of lots', () => {
  it('majority thresholds are the patent\'s "more than half"; bft ones tolerate f < n/3 equivocators', () => {
    expect(thresholds(4, 'majority')).toMatchObject({ approve: 3, reject: 2 });
    expect(thresholds(7, 'majority')).toMatchObject({ approve: 4, reject: 4 });
    const t = thresholds(7, 'bft');
    expect(t.faults).toBe(2);
    expect(2 * t.approve - 7).toBeGreaterThan(t.faults);
  });

  it('reveals extend the committed hash chain and nothing else does', () => {
    const secret = simIdentity(0).revealSecret;
    const c = commitmentFor(secret, 50);
    expect(checkReveal(revealFor(secret, 50, 1), 1, { height: 0, reveal: c })).toBe(true);
    expect(checkReveal(revealFor(secret, 50, 5), 5, { height: 2, reveal: revealFor(secret, 50, 2) })).toBe(true);
    expect(checkReveal(revealFor(secret, 50, 5), 4, { height: 0, reveal: c })).toBe(false);
    expect(checkReveal('00'.repeat(32), 1, { height: 0, reveal: c })).toBe(false);
  });

  it('leaders are spread over the members and the fallback is the next member', () => {
    const ids = ['a', 'b', 'c', 'd'];
    const counts = new Map<string, number>();
    for (let i = 0; i < 4000; i++) {
      const seed = i.toString(16).padStart(64, '0').split('').reverse().join('');
      const l = leaderOf(seed, ids, 0);
      counts.set(l, (counts.get(l) ?? 0) + 1);
      expect(leaderOf(seed, ids, 1)).toBe(ids[(ids.indexOf(l) + 1) % 4]);
    }
    for (const c of counts.values()) expect(c).toBeGreaterThan(800);
  });
});

describe('bad ledger data', () => {
  const genesis = simGenesis(4, 'bad-input', 'majority');
  const run = () => {
    const r = simulate({ seed: 3, n: 4, faultMs: 300, healMs: 700, loss: 0 });
    return r;
  };

  it('every bad message is a typed rejection and changes nothing', () => {
    const m = new PpovMachine({ genesis, identity: simIdentity(1), hasher: referenceTxHasher });
    m.step({ kind: 'tick', now: 0 });
    const before = JSON.stringify(m.state);
    const other = new PpovMachine({ genesis, identity: simIdentity(2), hasher: referenceTxHasher });
    const fx = other.step({ kind: 'tick', now: 0 });
    const block = (fx.find((e) => e.kind === 'broadcast' && e.msg.type === 'block') as Extract<Effect, { kind: 'broadcast' }>).msg as Extract<PpovMessage, { type: 'block' }>;
    const bad: [PpovMessage, string][] = [
      [{ type: 'block', block: { ...block.block, sig: '00'.repeat(64) } }, ErrorCode.PPOV_BAD_SIGNATURE],
      [{ type: 'block', block: { ...block.block, merkleRoot: 'ab'.repeat(32) } }, ErrorCode.PPOV_BAD_SIGNATURE],
      [{ type: 'block', block: { ...block.block, bookkeeper: 'mallory' } }, ErrorCode.PPOV_NOT_A_MEMBER],
      [{ type: 'block', block: { ...block.block, prevId: 'cd'.repeat(32) } }, ErrorCode.PPOV_BAD_BLOCK],
      [{ type: 'block', block: { ...block.block, txCount: 10_000 } }, ErrorCode.PPOV_BAD_BLOCK],
      [{ type: 'vote', vote: { height: 1, prevId: m.state.tipId, voter: 'n2', entries: [], sig: '00'.repeat(64) } }, ErrorCode.PPOV_BAD_VOTE],
      [{ type: 'vote', vote: { height: 1, prevId: m.state.tipId, voter: 'mallory', entries: [], sig: '00'.repeat(64) } }, ErrorCode.PPOV_NOT_A_MEMBER],
      [{ type: 'timeout', timeout: { height: 1, view: 0, voter: 'n2', sig: '11'.repeat(64) } }, ErrorCode.PPOV_BAD_SIGNATURE],
      [{ type: 'header', header: { height: 1, view: 0, prevId: m.state.tipId, leader: 'n3', results: [], seed: '', nextLeader: '', nextBookkeepers: [], groupId: '', votes: [], tc: [], sig: '' } }, ErrorCode.PPOV_BAD_HEADER],
    ];
    for (const [msg, code] of bad) {
      const out = m.step({ kind: 'message', msg, now: 1 });
      const rejected = out.find((e) => e.kind === 'rejected') as Extract<Effect, { kind: 'rejected' }> | undefined;
      expect(rejected?.error.code, JSON.stringify(msg).slice(0, 80)).toBe(code);
      expect(out.some((e) => e.kind === 'stored' || e.kind === 'voted')).toBe(false);
    }
    expect(JSON.stringify(m.state)).toBe(before);
  });

  it('a stored chain with a tampered group does not verify', () => {
    const r = run();
    expect(Math.min(...r.heights)).toBeGreaterThan(2);
    // Rebuild node 0's chain, then tamper with the second group's results.
    const m = new PpovMachine({ genesis: simGenesis(4, 'sim-3', 'majority'), identity: simIdentity(0), hasher: referenceTxHasher });
    expect(leaderFor(m.state, 0)).toMatch(/^n[0-3]$/);
    const s0 = initialState(simGenesis(4, 'sim-3', 'majority'));
    expect(() => applyGroup(s0, { header: { height: 1, view: 0, prevId: s0.tipId, leader: leaderFor(s0, 0), results: [], seed: '', nextLeader: '', nextBookkeepers: [], groupId: '', votes: [], tc: [], sig: '' }, blocks: [] }, referenceTxHasher)).toThrow(/do not decide/);
  });
});
