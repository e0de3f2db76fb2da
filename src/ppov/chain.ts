/**
 * The chain state and the one verification path for ledger data. A node
 * accepts a block, a vote, a timeout or a block group only through these
 * functions, whether it arrives live, by catch-up, or from the store.
 * Pure: no I/O, no clock, no randomness.
 */
import { bytesToHex } from '../core/bytes.js';
import { sha256, verifyHex } from './crypto.js';
import { checkReveal, genesisSeed, leaderOf, nextSeed } from './draw.js';
import { blockHash, decodeTxs, groupId, headerBytes, timeoutBytes, txMerkleRoot, voteBytes, type TxHasher } from './encode.js';
import { ppovError } from './errors.js';
import { applyGov, decodeGov, elect, emptyGov, nextMembers, termOf, type GovState, type GovTx } from './governance.js';
import { tallyAll, thresholds, type Thresholds } from './quorum.js';
import type { Block, BlockGroup, Genesis, GroupHeader, Member, SlotResult, Timeout, Vote } from './types.js';

export interface ChainState {
  genesis: Genesis;
  genesisId: string;
  /** Height of the last stored group (0: only the genesis). */
  height: number;
  tipId: string;
  seed: string;
  /** Consortium members in id order (the voters and leader candidates). */
  members: Member[];
  /** This height's bookkeepers, in slot order. */
  bookkeepers: string[];
  /** Each member's last reveal on the chain (or its commitment at height 0). */
  reveals: Record<string, { height: number; reveal: string }>;
  gov: GovState;
}

const stable = (v: unknown): string => JSON.stringify(v, (_k, x) => (x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort()) : x));

export const genesisIdOf = (g: Genesis): string => bytesToHex(sha256('hashgrid/ppov/genesis', stable(g)));

export function initialState(genesis: Genesis): ChainState {
  const id = genesisIdOf(genesis);
  const members = [...genesis.members].sort((a, b) => (a.id < b.id ? -1 : 1));
  return {
    genesis,
    genesisId: id,
    height: 0,
    tipId: id,
    seed: genesisSeed(id),
    members,
    bookkeepers: [...genesis.bookkeepers],
    reveals: Object.fromEntries(members.map((m) => [m.id, { height: 0, reveal: m.commitment }])),
    gov: emptyGov(),
  };
}

export const thresholdsOf = (s: ChainState): Thresholds => thresholds(s.members.length, s.genesis.quorum);
export const memberIds = (s: ChainState): string[] => s.members.map((m) => m.id);
export const leaderFor = (s: ChainState, view: number): string => leaderOf(s.seed, memberIds(s), view);
const memberKey = (s: ChainState, id: string): string | undefined => s.members.find((m) => m.id === id)?.publicKey;

/**
 * What a block's transactions say, computed from them once: the Merkle root
 * (claim 14 (2)) and the governance transactions among them.
 */
export interface BlockFacts {
  merkleRoot: string;
  govTxs: GovTx[];
}

/** The governance transactions among `txs`; a malformed one is left out: it "stays on the ledger and has no effect". */
function govTxsIn(txs: readonly Uint8Array[]): GovTx[] {
  const out: GovTx[] = [];
  for (const tx of txs) {
    try {
      const t = decodeGov(tx);
      if (t) out.push(t);
    } catch {
      // not a well-formed governance transaction: no effect
    }
  }
  return out;
}

export const factsOfTxs = (txs: readonly Uint8Array[], hasher: TxHasher): BlockFacts => ({ merkleRoot: txMerkleRoot(txs, hasher), govTxs: govTxsIn(txs) });

/**
 * The facts of a block's carried transactions (base64 framing, encode.ts). A
 * framing that does not hold exactly `txCount` transactions is BAD_BLOCK.
 */
export const factsOfBlockTxs = (block: Pick<Block, 'txs' | 'txCount'>, hasher: TxHasher): BlockFacts => factsOfTxs(decodeTxs(block.txs, block.txCount), hasher);

/**
 * Facts of blocks whose transactions were hashed in this process (their
 * Merkle root costs the most). Blocks are never mutated after they are made
 * or decoded, so a hit stands for the check.
 */
const factsOf = new WeakMap<Block, BlockFacts>();

/**
 * Records the facts of `block` computed from the very transactions it carries
 * elsewhere in this process (by its bookkeeper in S1, or by a verification
 * worker, verifier.ts), so that the chain does not hash them again. Every
 * other rule is still checked; facts whose root differs from the block's are
 * not kept (verifyBlock then finds the mismatch itself).
 */
export function recordBlockFacts(block: Block, facts: BlockFacts): void {
  if (facts.merkleRoot === block.merkleRoot) factsOf.set(block, facts);
}

/**
 * Signed objects whose signature verified in this process, with the key it
 * verified under. Objects are never mutated after they are made or decoded,
 * so a hit under the same key is exactly a check (another chain of the same
 * process may give the signer's name another key).
 */
const signatureChecked = new WeakMap<object, string>();
const checkSig = (obj: object, key: string, bytes: () => Uint8Array, sig: string): boolean => {
  if (signatureChecked.get(obj) === key) return true;
  const ok = verifyHex(key, bytes(), sig);
  if (ok) signatureChecked.set(obj, key);
  return ok;
};

/** Verifies `block` for the next height of `s`; returns its hash. */
export function verifyBlock(s: ChainState, block: Block, hasher: TxHasher): string {
  // Rule: a block is for the height after the tip, and names the tip (claim 14 (1)).
  if (block.height !== s.height + 1) throw ppovError('WRONG_HEIGHT', `block: for height ${block.height}, expected ${s.height + 1}`, { height: block.height });
  if (block.prevId !== s.tipId) throw ppovError('BAD_BLOCK', `block: previous group ${block.prevId.slice(0, 16)}… is not the tip ${s.tipId.slice(0, 16)}…`);
  // Rule: only this term's bookkeepers generate blocks ([0093]).
  if (!s.bookkeepers.includes(block.bookkeeper)) throw ppovError('NOT_A_MEMBER', `block: ${block.bookkeeper} is not a bookkeeper at height ${block.height}`);
  const key = memberKey(s, block.bookkeeper);
  if (!key) throw ppovError('NOT_A_MEMBER', `block: ${block.bookkeeper} is not a member`);
  // Rule: at most K transactions per block (K of equation (2)).
  if (!Number.isSafeInteger(block.txCount) || block.txCount < 0 || block.txCount > s.genesis.maxTxPerBlock) {
    throw ppovError('BAD_BLOCK', `block: ${block.txCount} transactions, the limit is ${s.genesis.maxTxPerBlock}`);
  }
  const hash = blockHash(block);
  // Rule: "Housekeepers are required to sign the blocks they pack" ([0093]).
  if (!checkSig(block, key, () => Buffer.from(hash, 'hex'), block.sig)) throw ppovError('BAD_SIGNATURE', `block: bad signature by ${block.bookkeeper}`);
  // From here on the bookkeeper has signed what breaks a rule: the error says so (data.signed), and the block is evidence.
  // Rule: the reveal extends the bookkeeper's committed hash chain (draw.ts).
  if (!checkReveal(block.reveal, block.height, s.reveals[block.bookkeeper]!)) throw ppovError('BAD_BLOCK', `block: reveal of ${block.bookkeeper} does not extend its hash chain`, { signed: true });
  if (!factsOf.has(block)) {
    let facts: BlockFacts;
    try {
      facts = factsOfBlockTxs(block, hasher);
    } catch (e) {
      throw ppovError('BAD_BLOCK', (e as Error).message, { signed: true });
    }
    // Rule: the Merkle root commits to exactly these transactions (claim 14 (2)).
    if (facts.merkleRoot !== block.merkleRoot) throw ppovError('BAD_BLOCK', `block: Merkle root of ${block.bookkeeper}'s block does not match its transactions`, { signed: true });
    factsOf.set(block, facts);
  }
  return hash;
}

/** Verifies a voting message for the next height of `s`. */
export function verifyVote(s: ChainState, vote: Vote): void {
  if (vote.height !== s.height + 1) throw ppovError('WRONG_HEIGHT', `vote: for height ${vote.height}, expected ${s.height + 1}`, { height: vote.height });
  if (vote.prevId !== s.tipId) throw ppovError('BAD_VOTE', `vote: previous group is not the tip`);
  const key = memberKey(s, vote.voter);
  // Rule: consortium nodes vote ([0145]).
  if (!key) throw ppovError('NOT_A_MEMBER', `vote: ${vote.voter} is not a consortium member`);
  // Rule: one (hash, opinion) per block of the round (claim 11 S3 (1)–(2)), in bookkeeper order.
  if (vote.entries.length !== s.bookkeepers.length || vote.entries.some((e, i) => e.bookkeeper !== s.bookkeepers[i] || (e.block !== '' && !/^[0-9a-f]{64}$/.test(e.block)))) {
    throw ppovError('BAD_VOTE', `vote: entries must name the ${s.bookkeepers.length} bookkeepers in order`);
  }
  // Rule: the voting message carries "a signature identifying the consortium computer node" (claim 11 S3 (3)).
  if (!checkSig(vote, key, () => voteBytes(vote), vote.sig)) throw ppovError('BAD_SIGNATURE', `vote: bad signature by ${vote.voter}`);
}

export function verifyTimeout(s: ChainState, t: Timeout): void {
  if (t.height !== s.height + 1) throw ppovError('WRONG_HEIGHT', `timeout: for height ${t.height}, expected ${s.height + 1}`, { height: t.height });
  const key = memberKey(s, t.voter);
  if (!key) throw ppovError('NOT_A_MEMBER', `timeout: ${t.voter} is not a consortium member`);
  if (!Number.isSafeInteger(t.view) || t.view < 0) throw ppovError('BAD_TIMEOUT', `timeout: view must be an integer ≥ 0`);
  if (!checkSig(t, key, () => timeoutBytes(t), t.sig)) throw ppovError('BAD_SIGNATURE', `timeout: bad signature by ${t.voter}`);
}

/** True when `tc` holds a quorum of distinct members' valid timeouts for (height, view). */
export function isTimeoutCertificate(s: ChainState, tc: readonly Timeout[], view: number): boolean {
  const voters = new Set<string>();
  for (const t of tc) {
    if (t.view !== view) return false;
    verifyTimeout(s, t);
    voters.add(t.voter);
  }
  return voters.size === tc.length && voters.size >= thresholdsOf(s).timeout;
}

/** The governance transactions of a block; known unless it is this node's own, restored from its store. */
const govTxsOf = (b: Block): GovTx[] => factsOf.get(b)?.govTxs ?? govTxsIn(decodeTxs(b.txs, b.txCount));

/**
 * Refuses, naming the rule it breaks, a governance transaction that would have
 * no effect if the next group carried it (a bad signature, a wrong term, a
 * double vote, ...), so that a submitter hears of it instead of it silently
 * staying on the ledger. It is checked again when its group is stored: the
 * chain may have moved on by then. Other transactions pass.
 */
export function checkGovSubmission(s: ChainState, tx: Uint8Array): void {
  const t = decodeGov(tx);
  if (!t) return;
  applyGov(structuredClone(s.gov), t, { members: s.members, bookkeepers: [...s.bookkeepers], chain: s.genesis.chainId, term: termOf(s.height + 1, s.genesis.termLength) });
}

/** The state a group leads to, from its results and approved blocks (reveals, scores, governance, terms: [0115], [0121]). */
function successor(s: ChainState, height: number, results: SlotResult[], blocks: readonly Block[]) {
  const gov: GovState = structuredClone(s.gov);
  let bookkeepers = [...s.bookkeepers];
  const reveals = { ...s.reveals };
  const revealByHash = new Map<string, string>();
  for (const r of results) gov.scores[r.bookkeeper] = (gov.scores[r.bookkeeper] ?? 0) + (r.block ? 1 : -1);
  for (const b of blocks) {
    reveals[b.bookkeeper] = { height: b.height, reveal: b.reveal };
    revealByHash.set(blockHash(b), b.reveal);
    for (const t of govTxsOf(b)) {
      try {
        bookkeepers = applyGov(gov, t, { members: s.members, bookkeepers, chain: s.genesis.chainId, term: termOf(height, s.genesis.termLength) });
      } catch {
        // A governance transaction that breaks a rule stays on the ledger and has no effect.
      }
    }
  }
  let members = s.members;
  if (height % s.genesis.termLength === 0) {
    bookkeepers = elect(gov, bookkeepers, s.genesis.bookkeepersPerTerm);
    members = nextMembers(gov, s.members);
    for (const m of members) reveals[m.id] ??= { height: 0, reveal: m.commitment };
    gov.confidence = {};
    gov.scores = {};
    gov.enacted = [];
    gov.pendingMembers = gov.pendingMembers.filter((m) => !(m as Member & { admitted?: boolean }).admitted);
  }
  const seed = nextSeed(s.seed, height, results, revealByHash);
  return { seed, bookkeepers, members, reveals, gov };
}

/** The forced part of the header at `height`: what every valid header for these results and blocks says. */
export function groupCore(s: ChainState, height: number, results: SlotResult[], blocks: readonly Block[]) {
  const next = successor(s, height, results, blocks);
  const core = { height, prevId: s.tipId, results, seed: next.seed, nextBookkeepers: next.bookkeepers };
  const id = groupId(core);
  const state: ChainState = { ...s, height, tipId: id, seed: next.seed, members: next.members, bookkeepers: next.bookkeepers, reveals: next.reveals, gov: next.gov };
  return { ...core, groupId: id, nextLeader: leaderOf(next.seed, next.members.map((m) => m.id), 0), state };
}

/**
 * Verifies a header against `s` without its blocks: leader and view, the
 * timeout certificate, the votes and their quorum, and the results. Returns
 * the results it certifies.
 */
export function verifyHeaderVotes(s: ChainState, h: GroupHeader): SlotResult[] {
  if (h.height !== s.height + 1) throw ppovError('WRONG_HEIGHT', `header: for height ${h.height}, expected ${s.height + 1}`, { height: h.height });
  if (h.prevId !== s.tipId) throw ppovError('BAD_HEADER', 'header: previous group is not the tip');
  // Rule: the leader of a view is drawn from the previous seed, the fallback rotates per view (draw.ts).
  if (!Number.isSafeInteger(h.view) || h.view < 0 || h.leader !== leaderFor(s, h.view)) throw ppovError('BAD_HEADER', `header: ${h.leader} does not lead view ${h.view}`);
  // Rule: a fallback leader shows the quorum of timeouts of the view before.
  if (h.view > 0 && !isTimeoutCertificate(s, h.tc, h.view - 1)) throw ppovError('BAD_HEADER', `header: view ${h.view} needs a timeout certificate for view ${h.view - 1}`);
  const key = memberKey(s, h.leader)!;
  const voters = new Set<string>();
  for (const v of h.votes) {
    verifyVote(s, v);
    if (voters.has(v.voter)) throw ppovError('BAD_HEADER', `header: two votes from ${v.voter}`);
    voters.add(v.voter);
  }
  // Rule: every block has more than half approvals or disapprovals (claim 11 S5; quorum.ts).
  const results = tallyAll(h.votes, s.bookkeepers.length, thresholdsOf(s));
  if (!results) throw ppovError('BAD_HEADER', 'header: the votes do not decide every block');
  if (h.results.length !== results.length || h.results.some((r, i) => r.bookkeeper !== results[i]!.bookkeeper || r.block !== results[i]!.block)) {
    throw ppovError('BAD_HEADER', 'header: results differ from the count of its votes');
  }
  if (!checkSig(h, key, () => headerBytes(h), h.sig)) throw ppovError('BAD_SIGNATURE', `header: bad signature by leader ${h.leader}`);
  return results;
}

/**
 * Verifies a whole block group against `s` and returns the state after it
 * (claim 11 S9–S10). Throws a typed error and leaves `s` untouched otherwise.
 */
export function applyGroup(s: ChainState, g: BlockGroup, hasher: TxHasher): ChainState {
  const h = g.header;
  const results = verifyHeaderVotes(s, h);
  const approved = results.filter((r) => r.block);
  // Rule: the body holds exactly the approved blocks, in bookkeeper order ([0143]).
  if (g.blocks.length !== approved.length) throw ppovError('BAD_HEADER', `group: ${g.blocks.length} blocks, ${approved.length} approved`);
  g.blocks.forEach((b, i) => {
    const hash = verifyBlock(s, b, hasher);
    if (hash !== approved[i]!.block || b.bookkeeper !== approved[i]!.bookkeeper) throw ppovError('BAD_HEADER', `group: block ${i} is not the approved one`);
  });
  const core = groupCore(s, h.height, results, g.blocks);
  // Rule: seed, next leader, next bookkeepers and id are recomputed by every node (claim 11 S7).
  if (h.seed !== core.seed || h.groupId !== core.groupId || h.nextLeader !== core.nextLeader || stable(h.nextBookkeepers) !== stable(core.nextBookkeepers)) {
    throw ppovError('BAD_HEADER', 'header: seed, next leader, next bookkeepers or group id is not the one its results force');
  }
  return core.state;
}

/** Replays groups from the genesis; throws at the first that does not verify. */
export function replay(genesis: Genesis, groups: readonly BlockGroup[], hasher: TxHasher): ChainState {
  let s = initialState(genesis);
  for (const g of groups) s = applyGroup(s, g, hasher);
  return s;
}
