/**
 * Governance as ledger transactions ([0091]–[0127]): each is a signed vote by
 * a consortium member on a motion (action, subject). The state machine tallies
 * them as block groups are stored and applies a motion when it passes:
 *
 * | action            | passes with                  | effect                                    |
 * | ----------------- | ---------------------------- | ----------------------------------------- |
 * | `admit`           | > 1/2 of members ([0092])    | subject joins the consortium next term    |
 * | `candidate`       | > 1/2 of members ([0110])    | subject becomes a bookkeeper candidate    |
 * | `demote`          | > 1/3 of members ([0125])    | loses bookkeeper status and its deposit   |
 * | `blacklist`       | ≥ 2/3 of members ([0126])    | removed everywhere, may never apply again |
 * | `confidence`      | (a ballot, not a motion)     | counts in the next term's election [0118] |
 *
 * A candidate motion needs a recommendation signed by a member ([0110]) and a
 * deposit of at least `MIN_DEPOSIT` ([0124]). Scores ([0121]): +1 for each
 * approved block, −1 for each rejected or missing one; reset each term.
 */
import { ppovError } from './errors.js';
import { concat, signHex, verifyHex, type Identity } from './crypto.js';
import type { Member } from './types.js';

export const GOV_MAGIC = 'PPOVGOV1';
export const MIN_DEPOSIT = 1000;

export type GovAction = 'admit' | 'candidate' | 'demote' | 'blacklist' | 'confidence';

export interface GovTx {
  action: GovAction;
  /** The chain and the term the vote is cast in: signed, so a vote cannot be replayed on another chain or in a later term. */
  chain: string;
  term: number;
  /** The node the motion is about; for `confidence`, a comma-free list in `subjects`. */
  subject: string;
  voter: string;
  /** admit: the newcomer's key and commitment; candidate: deposit and recommendation. */
  member?: Member;
  deposit?: number;
  /** A member's signature of `recommend:<subject>` ([0110]). */
  recommendation?: { by: string; sig: string };
  /** confidence: the candidates voted for, at most half of the candidates ([0118]). */
  subjects?: string[];
  sig: string;
}

export interface GovState {
  /** Open motions: key `${action}:${subject}` → voters in favour. */
  motions: Record<string, string[]>;
  candidates: Record<string, { deposit: number }>;
  blacklist: string[];
  /** Members admitted, joining at the next term. */
  pendingMembers: Member[];
  /** This term's confidence ballots: voter → candidates. */
  confidence: Record<string, string[]>;
  /** This term's scores by bookkeeper. */
  scores: Record<string, number>;
  /** Deposits forfeited by demotion or blacklisting. */
  forfeited: Record<string, number>;
  /** Motions (`${action}:${subject}`) enacted this term: their signed votes cannot reopen them. */
  enacted: string[];
}

export const emptyGov = (): GovState => ({ motions: {}, candidates: {}, blacklist: [], pendingMembers: [], confidence: {}, scores: {}, forfeited: {}, enacted: [] });

const te = new TextEncoder();
const td = new TextDecoder();

const govSigned = (t: Omit<GovTx, 'sig'>): Uint8Array =>
  te.encode(JSON.stringify(['hashgrid/ppov/gov', t.chain, t.term, t.action, t.subject, t.voter, t.member ?? null, t.deposit ?? null, t.recommendation ?? null, t.subjects ?? null]));

export const recommendationBytes = (subject: string): Uint8Array => te.encode(`hashgrid/ppov/recommend:${subject}`);

/** Signs a vote of `identity` on chain `at.chain` in term `at.term` (termOf the height it is meant for). */
export function signGov(identity: Identity, t: Omit<GovTx, 'sig' | 'voter' | 'chain' | 'term'>, at: { chain: string; term: number }): GovTx {
  const body = { ...t, chain: at.chain, term: at.term, voter: identity.id };
  return { ...body, sig: signHex(identity, govSigned(body)) };
}

export const encodeGov = (t: GovTx): Uint8Array => concat(te.encode(GOV_MAGIC), te.encode(JSON.stringify(t)));

/** The governance transaction in `tx`, or undefined for an application transaction. Malformed ones are errors. */
const MAGIC_BYTES = te.encode(GOV_MAGIC);
const hasMagic = (tx: Uint8Array): boolean => tx.length >= MAGIC_BYTES.length && MAGIC_BYTES.every((b, i) => tx[i] === b);

export function decodeGov(tx: Uint8Array): GovTx | undefined {
  // Every transaction of every block passes here: compare bytes, decode only governance ones.
  if (!hasMagic(tx)) return undefined;
  try {
    const t = JSON.parse(td.decode(tx.subarray(GOV_MAGIC.length))) as GovTx;
    if (typeof t.action !== 'string' || typeof t.subject !== 'string' || typeof t.voter !== 'string' || typeof t.sig !== 'string' || typeof t.chain !== 'string' || !Number.isSafeInteger(t.term)) throw new Error('fields');
    return t;
  } catch {
    throw ppovError('BAD_GOVERNANCE', 'governance transaction: not the JSON object of a GovTx');
  }
}

/** Thresholds of [0092], [0110], [0125], [0126] over `n` members. */
export function passes(action: Exclude<GovAction, 'confidence'>, yes: number, n: number): boolean {
  switch (action) {
    case 'admit':
    case 'candidate':
      // "approved by more than half of the committee members" ([0094], [0110])
      return 2 * yes > n;
    case 'demote':
      // "more than one-third of the committee members agree to deprive the node's housekeeper status" ([0125])
      return 3 * yes > n;
    case 'blacklist':
      // "with approval of two-thirds of the committee members, the node will be added to a blacklist" ([0126])
      return 3 * yes >= 2 * n;
  }
}

export interface GovContext {
  members: readonly Member[];
  bookkeepers: string[];
  /** The chain id and the term of the height the transaction is in. */
  chain: string;
  term: number;
}

/** The term of a height: heights 1..termLength are term 0 (a term ends after a multiple of termLength). */
export const termOf = (height: number, termLength: number): number => Math.floor((height - 1) / termLength);

/**
 * Applies one governance transaction to `gov` (mutated; the caller passes a
 * copy). Throws a BAD_GOVERNANCE error and changes nothing when a rule fails.
 * Returns the bookkeepers after the transaction.
 */
export function applyGov(gov: GovState, t: GovTx, ctx: GovContext): string[] {
  const voter = ctx.members.find((m) => m.id === t.voter);
  // Rule: only consortium members vote ([0092] "Members have the right to recommend, vote, evaluate").
  if (!voter) throw ppovError('BAD_GOVERNANCE', `${t.action}: ${t.voter} is not a consortium member`);
  // Rule: every governance vote is signed by its voter.
  if (!verifyHex(voter.publicKey, govSigned(t), t.sig)) throw ppovError('BAD_SIGNATURE', `${t.action}: bad signature by ${t.voter}`);
  // Rule: a vote counts only on the chain and in the term it was signed for, so a recorded vote cannot be replayed later.
  if (t.chain !== ctx.chain || t.term !== ctx.term) {
    throw ppovError('BAD_GOVERNANCE', `${t.action}: signed for chain ${t.chain} term ${t.term}, this is chain ${ctx.chain} term ${ctx.term}`);
  }
  // Rule: a blacklisted node "will not be allowed to join the system" ([0126]).
  if (gov.blacklist.includes(t.subject)) throw ppovError('BAD_GOVERNANCE', `${t.action}: ${t.subject} is blacklisted`);
  const n = ctx.members.length;
  if (t.action === 'confidence') {
    const candidates = Object.keys(gov.candidates);
    const picks = t.subjects ?? [];
    // Rule: "The number of votes that each member is allowed to cast does not exceed half the number of housekeeper candidates" ([0118]).
    if (picks.length > Math.floor(candidates.length / 2) || new Set(picks).size !== picks.length || picks.some((p) => !candidates.includes(p))) {
      throw ppovError('BAD_GOVERNANCE', `confidence: at most ${Math.floor(candidates.length / 2)} distinct candidates, got ${picks.join(',')}`);
    }
    gov.confidence[t.voter] = picks;
    return ctx.bookkeepers;
  }
  if (t.action === 'candidate' && !gov.motions[`candidate:${t.subject}`]) {
    const rec = t.recommendation;
    const by = ctx.members.find((m) => m.id === rec?.by);
    // Rule: "a letter of recommendation signed by at least one member of the domain names committee" ([0110]); members apply directly ([0112]).
    const isMember = ctx.members.some((m) => m.id === t.subject);
    if (!isMember && (!rec || !by || !verifyHex(by.publicKey, recommendationBytes(t.subject), rec.sig))) {
      throw ppovError('BAD_GOVERNANCE', `candidate: ${t.subject} needs a recommendation signed by a member`);
    }
    // Rule: a candidate submits a deposit ([0110], [0124]).
    if (!(typeof t.deposit === 'number' && t.deposit >= MIN_DEPOSIT)) throw ppovError('BAD_GOVERNANCE', `candidate: a deposit of at least ${MIN_DEPOSIT} is required`);
  }
  if (t.action === 'admit' && !gov.motions[`admit:${t.subject}`] && !(t.member && t.member.id === t.subject)) {
    throw ppovError('BAD_GOVERNANCE', 'admit: the first vote carries the newcomer (id, public key, commitment)');
  }
  const key = `${t.action}:${t.subject}`;
  // Rule: a motion is decided once a term; votes arriving after it passed do not reopen it.
  if (gov.enacted.includes(key)) throw ppovError('BAD_GOVERNANCE', `${t.action}: ${t.subject} was already decided this term`);
  const yes = gov.motions[key] ?? [];
  // Rule: one vote per member per motion.
  if (yes.includes(t.voter)) throw ppovError('BAD_GOVERNANCE', `${t.action}: ${t.voter} already voted on ${t.subject}`);
  gov.motions[key] = [...yes, t.voter];
  if (t.action === 'admit' && t.member) gov.pendingMembers.push({ ...t.member, id: t.subject });
  if (t.action === 'candidate' && t.deposit) gov.candidates[t.subject] ??= { deposit: 0 };
  if (t.action === 'candidate' && t.deposit) gov.forfeited[`pending:${t.subject}`] = t.deposit;
  if (!passes(t.action, gov.motions[key]!.length, n)) return ctx.bookkeepers;
  delete gov.motions[key];
  gov.enacted.push(key);
  return enact(gov, t.action, t.subject, ctx);
}

function enact(gov: GovState, action: Exclude<GovAction, 'confidence'>, subject: string, ctx: GovContext): string[] {
  const without = ctx.bookkeepers.filter((b) => b !== subject);
  // A consortium never runs without a bookkeeper: the last one stays until the term ends.
  const bookkeepers = without.length > 0 ? without : ctx.bookkeepers;
  switch (action) {
    case 'admit':
      gov.pendingMembers = gov.pendingMembers.map((m) => (m.id === subject ? { ...m, admitted: true } as Member : m));
      return ctx.bookkeepers;
    case 'candidate': {
      const deposit = gov.forfeited[`pending:${subject}`] ?? MIN_DEPOSIT;
      delete gov.forfeited[`pending:${subject}`];
      gov.candidates[subject] = { deposit };
      return ctx.bookkeepers;
    }
    case 'demote':
      gov.forfeited[subject] = (gov.forfeited[subject] ?? 0) + (gov.candidates[subject]?.deposit ?? 0);
      delete gov.candidates[subject];
      return bookkeepers;
    case 'blacklist':
      gov.forfeited[subject] = (gov.forfeited[subject] ?? 0) + (gov.candidates[subject]?.deposit ?? 0);
      delete gov.candidates[subject];
      gov.blacklist.push(subject);
      gov.pendingMembers = gov.pendingMembers.filter((m) => m.id !== subject);
      return bookkeepers;
  }
}

/**
 * The next term's bookkeepers ([0100], [0115]): the `count` candidates with
 * the most confidence votes (ties: higher score, then id). Without ballots the
 * term's bookkeepers carry on.
 */
export function elect(gov: GovState, current: readonly string[], count: number): string[] {
  const ballots = Object.values(gov.confidence);
  if (ballots.length === 0) return [...current];
  const votes = new Map<string, number>();
  for (const b of ballots) for (const c of b) votes.set(c, (votes.get(c) ?? 0) + 1);
  const ranked = [...votes.keys()]
    .filter((c) => gov.candidates[c] && !gov.blacklist.includes(c))
    .sort((a, b) => votes.get(b)! - votes.get(a)! || (gov.scores[b] ?? 0) - (gov.scores[a] ?? 0) || (a < b ? -1 : 1));
  return ranked.length > 0 ? ranked.slice(0, count).sort() : [...current];
}

/** Members who take part from the next term: admitted newcomers join, blacklisted members leave. */
export function nextMembers(gov: GovState, members: readonly Member[]): Member[] {
  const admitted = gov.pendingMembers.filter((m) => (m as Member & { admitted?: boolean }).admitted).map(({ id, publicKey, commitment }) => ({ id, publicKey, commitment }));
  return [...members.filter((m) => !gov.blacklist.includes(m.id)), ...admitted.filter((a) => !members.some((m) => m.id === a.id))].sort((a, b) => (a.id < b.id ? -1 : 1));
}
