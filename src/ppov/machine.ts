/**
 * The PPoV consensus state machine (claim 11 S1–S10): pure. Time,
 * transactions and messages come in through `step`; what the node must send,
 * store or report comes out as effects. The runtime (runtime.ts) and the
 * simulation (test/unit/ppov-sim.test.ts) drive the same code.
 *
 * One height at a time ([0158]: "a new round of consensus can start only
 * after the end of the current one"):
 * S1 every bookkeeper builds, signs and broadcasts its block;
 * S2–S3 every consortium node, once it holds every block or the block
 *   deadline passed, signs ONE voting message with (hash, opinion) per block;
 * S4–S8 the leader of the view counts, and once every block is decided
 *   (quorum.ts) writes votes, results and the drawn next leader into the
 *   header, signs and broadcasts it;
 * S9–S10 every node verifies header and blocks (chain.ts) and stores the group.
 * A leader that does not publish in time is replaced by the next member
 * (draw.ts) once a quorum of timeouts certifies the view change.
 */
import { isHashgridError, type HashgridError } from '../core/errors.js';
import { signHex, type Identity } from './crypto.js';
import { revealFor } from './draw.js';
import { blockHash, encodeTxs, headerBytes, timeoutBytes, voteBytes, type TxHasher } from './encode.js';
import { applyGroup, factsOfTxs, groupCore, recordBlockFacts, initialState, isTimeoutCertificate, leaderFor, thresholdsOf, verifyBlock, verifyHeaderVotes, verifyTimeout, verifyVote, type ChainState } from './chain.js';
import { tallyAll } from './quorum.js';
import type { Block, BlockGroup, Genesis, GroupHeader, PpovMessage, Timeout, Vote } from './types.js';

export type Input =
  | { kind: 'tick'; now: number }
  | { kind: 'message'; msg: PpovMessage; now: number }
  | { kind: 'submit'; txs: Uint8Array[] };

/** Proof that a named node misbehaved: two signed, conflicting objects. */
/**
 * Proof of misbehaviour that any member can check on its own: signed objects
 * of the offender that no honest node would sign. A message with a bad
 * signature proves nothing about its claimed sender and is only rejected.
 */
export interface Evidence {
  kind: 'block-equivocation' | 'vote-equivocation' | 'invalid-block';
  offender: string;
  height: number;
  /** The two conflicting signed objects, or the one signed block that breaks a ledger rule. */
  proof: [Block, Block] | [Vote, Vote] | [Block];
}

export type Effect =
  | { kind: 'broadcast'; msg: PpovMessage }
  | { kind: 'send'; to: string; msg: PpovMessage }
  /** Persist the group atomically before anything else depends on it. */
  | { kind: 'stored'; group: BlockGroup }
  /** Persist the node's own vote before it is sent: after a restart it must send the same one. */
  | { kind: 'voted'; vote: Vote }
  /** Persist the node's own block before it is sent, for the same reason. */
  | { kind: 'proposed'; block: Block }
  | { kind: 'evidence'; evidence: Evidence }
  /** A message that failed a rule (counted; no state changed). */
  | { kind: 'rejected'; what: PpovMessage['type']; error: HashgridError };

export interface MachineOptions {
  genesis: Genesis;
  identity: Identity;
  hasher: TxHasher;
  /** What the node had persisted: its stored groups and its own votes. */
  restore?: { groups: BlockGroup[]; ownVotes: Vote[]; ownBlocks?: Block[] };
  /** Most groups one sync response carries (default 16). */
  syncBatch?: number;
  /** Observes the round's milestones as they happen (the runtime times S1–S4 with it); never changes behaviour. */
  trace?: (event: TraceEvent, height: number) => void;
}

/** Round milestones: round start, own block signed (S1), own vote signed (S2–S3), a header taken up (S4–S8), group stored (S9–S10). */
export type TraceEvent = 'round' | 'proposed' | 'voted' | 'header' | 'stored';

const FUTURE_LIMIT = 256;

/** Two votes with the same signed content (Ed25519 signatures are deterministic, but a signer could make another). */
const sameVote = (a: Vote, b: Vote): boolean => Buffer.from(voteBytes(a)).equals(voteBytes(b));

export class PpovMachine {
  state: ChainState;
  readonly groups: BlockGroup[] = [];
  private readonly me: Identity;
  private readonly hasher: TxHasher;
  private readonly syncBatch: number;
  private readonly trace: (event: TraceEvent, height: number) => void;
  private mempool: Uint8Array[] = [];
  private ownVotes = new Map<number, Vote>();
  private ownBlocks = new Map<number, Block>();
  // Round state for height state.height + 1.
  private started = false;
  private roundStart = 0;
  private view = 0;
  private viewStart = 0;
  /** The first valid block seen from each bookkeeper: the one this node votes on. */
  private blocks = new Map<string, { block: Block; hash: string }>();
  /** Every valid block of the round by hash (an equivocating bookkeeper's other block may be the approved one). */
  private byHash = new Map<string, Block>();
  private votes = new Map<string, Vote>();
  private timeouts = new Map<number, Map<string, Timeout>>();
  private myBlock: Block | undefined;
  private myTxs: Uint8Array[] = [];
  /** The round's block is not proposed yet (pacing holds it until roundStart). */
  private proposePending = false;
  private hadRound = false;
  private ledView = -1;
  private pendingHeader: GroupHeader | undefined;
  private lastRebroadcast = 0;
  private future: PpovMessage[] = [];
  private ahead: { height: number; peer: string } | undefined;
  private helped = new Map<string, number>();

  constructor(options: MachineOptions) {
    this.me = options.identity;
    this.hasher = options.hasher;
    this.syncBatch = options.syncBatch ?? 16;
    this.trace = options.trace ?? (() => {});
    this.state = initialState(options.genesis);
    for (const g of options.restore?.groups ?? []) {
      this.state = applyGroup(this.state, g, this.hasher);
      this.groups.push(g);
    }
    for (const v of options.restore?.ownVotes ?? []) this.ownVotes.set(v.height, v);
    for (const b of options.restore?.ownBlocks ?? []) this.ownBlocks.set(b.height, b);
  }

  get id(): string {
    return this.me.id;
  }
  /** The height this node works on. */
  get working(): number {
    return this.state.height + 1;
  }
  get currentView(): number {
    return this.view;
  }
  /** Transactions waiting for this node's next blocks. */
  get pendingTxs(): number {
    return this.mempool.length;
  }

  step(input: Input): Effect[] {
    const fx: Effect[] = [];
    if (input.kind === 'submit') {
      this.mempool.push(...input.txs);
      return fx;
    }
    if (!this.started) {
      this.started = true;
      this.beginRound(input.now, fx);
    }
    if (input.kind === 'tick') this.onTick(input.now, fx);
    else this.onMessage(input.msg, input.now, fx);
    return fx;
  }

  // ---- rounds -------------------------------------------------------------

  private beginRound(now: number, fx: Effect[]): void {
    // Pacing (Timing.minRoundMs): the round's clock starts no sooner than minRoundMs after the last one.
    const start = this.hadRound ? Math.max(now, this.roundStart + (this.state.genesis.timing.minRoundMs ?? 0)) : now;
    this.hadRound = true;
    this.roundStart = start;
    this.view = 0;
    this.viewStart = start;
    this.blocks.clear();
    this.byHash.clear();
    this.votes.clear();
    this.timeouts.clear();
    this.ledView = -1;
    this.pendingHeader = undefined;
    this.myBlock = undefined;
    this.proposePending = true;
    this.lastRebroadcast = now;
    const h = this.working;
    this.trace('round', h);
    for (const k of this.ownVotes.keys()) if (k < h) this.ownVotes.delete(k);
    for (const k of this.ownBlocks.keys()) if (k < h) this.ownBlocks.delete(k);
    if (now >= start) this.propose(now, fx);
    const own = this.ownVotes.get(h);
    if (own) this.acceptVote(own, now, fx);
    const future = this.future;
    this.future = [];
    for (const m of future) this.onMessage(m, now, fx);
    this.maybeVote(now, fx);
  }

  /** S1: publish this node's block for the round (once; a restarted node re-sends the one it signed). */
  private propose(now: number, fx: Effect[]): void {
    this.proposePending = false;
    const h = this.working;
    const before = this.ownBlocks.get(h);
    if (before && before.prevId === this.state.tipId) {
      // Restarted mid-round: publish the block this node already signed, never a second one.
      this.myTxs = [];
      this.myBlock = before;
      this.blocks.set(this.me.id, { block: before, hash: blockHash(before) });
      this.byHash.set(blockHash(before), before);
      fx.push({ kind: 'broadcast', msg: { type: 'block', block: before } });
    } else if (this.state.bookkeepers.includes(this.me.id) && h < this.state.genesis.revealChainLength) {
      // S1: build, sign and publish this node's block.
      this.myTxs = this.mempool.splice(0, this.state.genesis.maxTxPerBlock);
      const facts = factsOfTxs(this.myTxs, this.hasher);
      const body = {
        height: h,
        prevId: this.state.tipId,
        bookkeeper: this.me.id,
        merkleRoot: facts.merkleRoot,
        timestamp: now,
        reveal: revealFor(this.me.revealSecret, this.state.genesis.revealChainLength, h),
        txCount: this.myTxs.length,
      };
      const hash = blockHash(body);
      this.myBlock = { ...body, txs: encodeTxs(this.myTxs), sig: signHex(this.me, Buffer.from(hash, 'hex')) };
      recordBlockFacts(this.myBlock, facts);
      this.blocks.set(this.me.id, { block: this.myBlock, hash });
      this.byHash.set(hash, this.myBlock);
      this.ownBlocks.set(h, this.myBlock);
      this.trace('proposed', h);
      fx.push({ kind: 'proposed', block: this.myBlock });
      fx.push({ kind: 'broadcast', msg: { type: 'block', block: this.myBlock } });
    }
  }

  private store(group: BlockGroup, next: ChainState, now: number, fx: Effect[], begin = true): void {
    // Transactions of this node's rejected block go back to the pool.
    const mine = group.header.results.find((r) => r.bookkeeper === this.me.id);
    if (this.myBlock && mine && mine.block !== this.blocks.get(this.me.id)?.hash) this.mempool.unshift(...this.myTxs);
    this.myTxs = [];
    this.state = next;
    this.groups.push(group);
    this.trace('stored', group.header.height);
    fx.push({ kind: 'stored', group });
    if (begin) this.beginRound(now, fx);
  }

  private onTick(now: number, fx: Effect[]): void {
    const t = this.state.genesis.timing;
    if (this.proposePending && now >= this.roundStart) {
      this.propose(now, fx);
      this.maybeLead(now, fx);
    }
    this.maybeVote(now, fx);
    // Leader timeout: each view waits longer, so that slow networks settle (views grow linearly).
    if (now - this.viewStart >= t.viewTimeoutMs * (1 + this.view) && this.isMember()) this.sendTimeout(this.view, now, fx);
    if (now - this.lastRebroadcast >= t.rebroadcastMs) {
      this.lastRebroadcast = now;
      if (this.myBlock) fx.push({ kind: 'broadcast', msg: { type: 'block', block: this.myBlock } });
      const own = this.votes.get(this.me.id);
      if (own) fx.push({ kind: 'broadcast', msg: { type: 'vote', vote: own } });
      const myTimeout = this.timeouts.get(this.view - 1)?.get(this.me.id) ?? this.timeouts.get(this.view)?.get(this.me.id);
      if (myTimeout) fx.push({ kind: 'broadcast', msg: { type: 'timeout', timeout: myTimeout } });
      if (this.ahead && this.ahead.height > this.state.height) fx.push(this.syncRequest(this.ahead.peer));
      if (this.pendingHeader) fx.push(this.syncRequest(this.pendingHeader.leader));
    }
  }

  private isMember(): boolean {
    return this.state.members.some((m) => m.id === this.me.id);
  }

  private syncRequest(peer: string): Effect {
    return { kind: 'send', to: peer, msg: { type: 'sync-request', from: this.me.id, height: this.working } };
  }

  // ---- S2–S3: voting ------------------------------------------------------

  private maybeVote(now: number, fx: Effect[]): void {
    if (!this.isMember() || this.votes.has(this.me.id)) return;
    const all = this.state.bookkeepers.every((b) => this.blocks.has(b));
    if (!all && now - this.roundStart < this.state.genesis.timing.blockDeadlineMs) return;
    const body = {
      height: this.working,
      prevId: this.state.tipId,
      voter: this.me.id,
      entries: this.state.bookkeepers.map((b) => {
        const held = this.blocks.get(b);
        return { bookkeeper: b, block: held?.hash ?? '', approve: held !== undefined };
      }),
    };
    const vote: Vote = { ...body, sig: signHex(this.me, voteBytes(body)) };
    // The round's blocks are in: a good moment to start on this node's next block elsewhere.
    if (this.mempool.length > 0) this.hasher.prefetch?.(this.mempool.slice(0, this.state.genesis.maxTxPerBlock));
    this.trace('voted', vote.height);
    this.ownVotes.set(vote.height, vote);
    fx.push({ kind: 'voted', vote });
    fx.push({ kind: 'broadcast', msg: { type: 'vote', vote } });
    this.acceptVote(vote, now, fx);
  }

  private acceptVote(vote: Vote, now: number, fx: Effect[]): void {
    this.votes.set(vote.voter, vote);
    this.maybeLead(now, fx);
  }

  // ---- S4–S8: the leader --------------------------------------------------

  private maybeLead(now: number, fx: Effect[]): void {
    if (this.ledView === this.view || leaderFor(this.state, this.view) !== this.me.id) return;
    const votes = [...this.votes.values()].sort((a, b) => (a.voter < b.voter ? -1 : 1));
    const results = tallyAll(votes, this.state.bookkeepers.length, thresholdsOf(this.state));
    if (!results) return;
    const blocks: Block[] = [];
    for (const r of results) {
      if (!r.block) continue;
      const held = this.byHash.get(r.block);
      if (!held) return; // wait for the approved block (re-sent by its bookkeeper)
      blocks.push(held);
    }
    const tc = this.view > 0 ? [...(this.timeouts.get(this.view - 1)?.values() ?? [])] : [];
    const core = groupCore(this.state, this.working, results, blocks);
    const unsigned = { height: core.height, view: this.view, prevId: core.prevId, leader: this.me.id, results, seed: core.seed, nextLeader: core.nextLeader, nextBookkeepers: core.nextBookkeepers, groupId: core.groupId, votes, tc };
    const header: GroupHeader = { ...unsigned, sig: signHex(this.me, headerBytes(unsigned)) };
    this.ledView = this.view;
    fx.push({ kind: 'broadcast', msg: { type: 'header', header } });
    this.tryHeader(header, now, fx);
  }

  // ---- timeouts -----------------------------------------------------------

  private sendTimeout(view: number, now: number, fx: Effect[]): void {
    if (this.timeouts.get(view)?.has(this.me.id)) return;
    const body = { height: this.working, view, voter: this.me.id };
    const timeout: Timeout = { ...body, sig: signHex(this.me, timeoutBytes(body)) };
    fx.push({ kind: 'broadcast', msg: { type: 'timeout', timeout } });
    this.acceptTimeout(timeout, now, fx);
  }

  private acceptTimeout(t: Timeout, now: number, fx: Effect[]): void {
    let set = this.timeouts.get(t.view);
    if (!set) this.timeouts.set(t.view, (set = new Map()));
    set.set(t.voter, t);
    if (t.view >= this.view && set.size >= thresholdsOf(this.state).timeout && isTimeoutCertificate(this.state, [...set.values()], t.view)) {
      // A quorum certified that view t.view failed: move to the next view and its fallback leader.
      this.view = t.view + 1;
      this.viewStart = now;
      fx.push({ kind: 'broadcast', msg: { type: 'timeout', timeout: t } });
      this.maybeLead(now, fx);
    }
  }

  // ---- S9–S10: accepting a group -----------------------------------------

  private tryHeader(header: GroupHeader, now: number, fx: Effect[]): void {
    this.trace('header', header.height);
    const results = verifyHeaderVotes(this.state, header);
    // A vote carried in a header that differs from the one its voter sent this node: the voter signed two (a leader's own, typically).
    for (const v of header.votes) {
      const held = this.votes.get(v.voter);
      if (held && held !== v && !sameVote(held, v)) fx.push({ kind: 'evidence', evidence: { kind: 'vote-equivocation', offender: v.voter, height: v.height, proof: [held, v] } });
    }
    const blocks: Block[] = [];
    for (const r of results) {
      if (!r.block) continue;
      const held = this.byHash.get(r.block);
      if (!held) {
        // Missing an approved block: keep the header and fetch the group from its leader.
        this.pendingHeader = header;
        fx.push(this.syncRequest(header.leader));
        return;
      }
      blocks.push(held);
    }
    const group: BlockGroup = { header, blocks };
    this.store(group, applyGroup(this.state, group, this.hasher), now, fx);
  }

  // ---- messages -----------------------------------------------------------

  private onMessage(msg: PpovMessage, now: number, fx: Effect[]): void {
    try {
      this.handle(msg, now, fx);
    } catch (e) {
      if (!isHashgridError(e)) throw e;
      fx.push({ kind: 'rejected', what: msg.type, error: e });
    }
  }

  private messageHeight(msg: PpovMessage): { height: number; peer: string } | undefined {
    switch (msg.type) {
      case 'block':
        return { height: msg.block.height, peer: msg.block.bookkeeper };
      case 'vote':
        return { height: msg.vote.height, peer: msg.vote.voter };
      case 'timeout':
        return { height: msg.timeout.height, peer: msg.timeout.voter };
      case 'header':
        return { height: msg.header.height, peer: msg.header.leader };
      default:
        return undefined;
    }
  }

  private handle(msg: PpovMessage, now: number, fx: Effect[]): void {
    const at = this.messageHeight(msg);
    if (at && at.height !== this.working) {
      if (at.height < this.working) this.help(at.peer, at.height, now, fx);
      else {
        if (!this.ahead || at.height > this.ahead.height) this.ahead = { height: at.height, peer: at.peer };
        if (at.height === this.working + 1 && this.future.length < FUTURE_LIMIT) this.future.push(msg);
        else fx.push(this.syncRequest(at.peer));
      }
      return;
    }
    switch (msg.type) {
      case 'block': {
        // A block this node already holds (its own echo, a re-send) changes nothing: skip verifying it again.
        // A different body under a held hash would fail the Merkle check; ignoring it keeps the held one.
        if (this.byHash.has(blockHash(msg.block))) return;
        let hash: string;
        try {
          hash = verifyBlock(this.state, msg.block, this.hasher);
        } catch (e) {
          if (isHashgridError(e) && e.data.signed === true) fx.push({ kind: 'evidence', evidence: { kind: 'invalid-block', offender: msg.block.bookkeeper, height: msg.block.height, proof: [msg.block] } });
          throw e;
        }
        const held = this.blocks.get(msg.block.bookkeeper);
        this.byHash.set(hash, msg.block);
        if (held) {
          if (held.hash !== hash) fx.push({ kind: 'evidence', evidence: { kind: 'block-equivocation', offender: msg.block.bookkeeper, height: msg.block.height, proof: [held.block, msg.block] } });
          // The first block seen from a bookkeeper is the one this node votes on; the other may still be approved.
          this.maybeLead(now, fx);
          this.retryPending(now, fx);
          return;
        }
        this.blocks.set(msg.block.bookkeeper, { block: msg.block, hash });
        this.maybeVote(now, fx);
        this.maybeLead(now, fx);
        this.retryPending(now, fx);
        return;
      }
      case 'vote': {
        const held = this.votes.get(msg.vote.voter);
        if (held && (held.sig === msg.vote.sig || sameVote(held, msg.vote))) return;
        verifyVote(this.state, msg.vote);
        if (held) {
          fx.push({ kind: 'evidence', evidence: { kind: 'vote-equivocation', offender: msg.vote.voter, height: msg.vote.height, proof: [held, msg.vote] } });
          return;
        }
        this.acceptVote(msg.vote, now, fx);
        return;
      }
      case 'timeout':
        if (this.timeouts.get(msg.timeout.view)?.has(msg.timeout.voter)) return;
        verifyTimeout(this.state, msg.timeout);
        this.acceptTimeout(msg.timeout, now, fx);
        return;
      case 'header':
        this.tryHeader(msg.header, now, fx);
        return;
      case 'sync-request': {
        const from = Math.max(1, msg.height);
        const groups = this.groups.slice(from - 1, from - 1 + this.syncBatch);
        if (groups.length > 0) fx.push({ kind: 'send', to: msg.from, msg: { type: 'sync-response', groups } });
        return;
      }
      case 'sync-response': {
        // Catch-up: verify and store each group in order, then start the round once.
        let advanced = false;
        try {
          for (const g of msg.groups) {
            if (g.header.height !== this.working) continue;
            this.store(g, applyGroup(this.state, g, this.hasher), now, fx, false);
            advanced = true;
          }
        } finally {
          if (advanced) this.beginRound(now, fx);
        }
        return;
      }
    }
  }

  private retryPending(now: number, fx: Effect[]): void {
    if (!this.pendingHeader) return;
    const h = this.pendingHeader;
    this.pendingHeader = undefined;
    this.tryHeader(h, now, fx);
  }

  /** A peer is behind: send it the groups from its height (at most once per re-send period per peer). */
  private help(peer: string, height: number, now: number, fx: Effect[]): void {
    if (peer === this.me.id || now - (this.helped.get(peer) ?? -Infinity) < this.state.genesis.timing.rebroadcastMs) return;
    this.helped.set(peer, now);
    const groups = this.groups.slice(height - 1, height - 1 + this.syncBatch);
    if (groups.length > 0) fx.push({ kind: 'send', to: peer, msg: { type: 'sync-response', groups } });
  }
}
