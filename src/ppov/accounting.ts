/**
 * Accounting on the PPoV ledger: the distribution center's accepted work and
 * its up-to-standard decisions, and the scheduler's decisions, written as
 * ledger transactions, so that every consortium member holds the same signed,
 * final accounts (issue: "PPoV consortium ledger", its first use in hashgrid).
 *
 * The ledger is its own cursor. A `work` record lists accepted shares by their
 * sequence in the center's JetStream stream (CENTER_<cid>); folding the chain
 * counts each sequence once, in order, so a record submitted twice (a retry, a
 * recorder restarted while its last record was still in a node's pool) never
 * counts twice, and a restarted recorder resumes from the first sequence the
 * chain does not hold yet. Nothing the center acknowledged to a miner can be
 * missing from the ledger for longer than it takes the recorder to run again.
 *
 * `foldAccounting` is pure (block groups in, accounts out); `LedgerRecorder`
 * runs it against the bus.
 */
import { DeliverPolicy, jetstream, jetstreamManager, type ConsumerMessages } from '@nats-io/jetstream';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '../core/bytes.js';
import { ErrorCode, HashgridError } from '../core/errors.js';
import { decode, encode, PPOV_MAX_PAYLOAD_BYTES } from '../bus/codec.js';
import { request } from '../bus/rpc.js';
import {
  ACCOUNTING_MAX_BYTES,
  ACCOUNTING_MAX_ENTRIES,
  AcceptedShare,
  AccountingRecord,
  PpovGroups,
  PpovSubmit,
  PpovSubmitted,
  PpovSyncRequest,
  SCHEMA_VERSION,
  SchedulerEvent,
  StandardChanged,
} from '../bus/schemas.js';
import { streams, subjects } from '../bus/subjects.js';
import { storedShares } from '../center/store.js';
import { decodeTxs } from './encode.js';
import type { BlockGroup } from './types.js';

/** Accounting transactions start with these bytes; any other transaction belongs to someone else. */
export const ACCOUNTING_MAGIC = 'HGACCT1';
const MAGIC = new TextEncoder().encode(ACCOUNTING_MAGIC);
const td = new TextDecoder();

export const encodeAccounting = (r: AccountingRecord): Uint8Array => {
  const body = encode(AccountingRecord, r);
  const out = new Uint8Array(MAGIC.length + body.length);
  out.set(MAGIC);
  out.set(body, MAGIC.length);
  return out;
};

/** The record a transaction carries; undefined for a transaction that is not accounting; a typed error for a malformed one. */
export function decodeAccounting(tx: Uint8Array): AccountingRecord | undefined {
  if (tx.length < MAGIC.length || MAGIC.some((b, i) => tx[i] !== b)) return undefined;
  return decode(AccountingRecord, tx.subarray(MAGIC.length), 'AccountingRecord', PPOV_MAX_PAYLOAD_BYTES);
}

export interface AccountTotals {
  shares: number;
  /** Σ share difficulty: the work proved is difficulty × 2^32 hashes. */
  difficulty: number;
}

export interface CenterAccounts {
  /** Per incarnation of the center's stream (its creation time): the first sequence the chain does not hold yet. */
  nextSeq: Record<string, number>;
  accounts: Record<string, AccountTotals>;
  /** Sequences skipped over (the stream lost records before they were recorded). */
  gaps: number;
}

/** What the chain says, folded up to `height`. */
export interface LedgerAccounts {
  height: number;
  centers: Record<string, CenterAccounts>;
  standards: StandardChanged[];
  decisions: SchedulerEvent[];
  /** Shares and events that were already on the chain, and malformed accounting transactions. */
  duplicates: number;
  invalid: number;
  /** Hashes of the accounting transactions seen, to spot a committed submission. */
  seen: Set<string>;
}

export const emptyAccounts = (): LedgerAccounts => ({ height: 0, centers: {}, standards: [], decisions: [], duplicates: 0, invalid: 0, seen: new Set() });

export const txId = (tx: Uint8Array): string => bytesToHex(sha256(tx));

/** Adds consecutive block groups (from `acc.height + 1`) to the accounts; mutates and returns `acc`. */
export function foldAccounting(acc: LedgerAccounts, groups: readonly BlockGroup[]): LedgerAccounts {
  for (const g of groups) {
    // Rule: groups fold in height order, each once.
    if (g.header.height !== acc.height + 1) {
      throw new HashgridError(ErrorCode.INVALID_STATE, `accounting: group ${g.header.height} does not follow ${acc.height}`);
    }
    for (const block of g.blocks) {
      for (const tx of decodeTxs(block.txs, block.txCount)) {
        let r: AccountingRecord | undefined;
        try {
          r = decodeAccounting(tx);
        } catch {
          acc.invalid++;
          continue;
        }
        if (!r) continue;
        const id = txId(tx);
        const repeat = acc.seen.has(id);
        acc.seen.add(id);
        if (r.kind === 'work') applyWork(acc, r.centerId, r.stream, r.shares);
        else if (repeat) acc.duplicates++;
        else if (r.kind === 'standard') acc.standards.push(r.event);
        else acc.decisions.push(r.event);
      }
    }
    acc.height = g.header.height;
  }
  return acc;
}

/** The first sequence of a center's stream incarnation that the chain does not hold. */
export const nextSeqOf = (acc: LedgerAccounts, centerId: string, stream: string): number => acc.centers[centerId]?.nextSeq[stream] ?? 1;

type WorkEntry = readonly [seq: number, subAccount: string, shares: number, difficulty: number];

function applyWork(acc: LedgerAccounts, centerId: string, stream: string, entries: readonly WorkEntry[]): void {
  const c = (acc.centers[centerId] ??= { nextSeq: {}, accounts: {}, gaps: 0 });
  const start = c.nextSeq[stream] ?? 1;
  let last = start - 1;
  for (const [seq, subAccount, shares, difficulty] of entries) {
    // Rule: a stream record counts once; records below the chain's cursor are already on it.
    if (seq < start) {
      acc.duplicates++;
      continue;
    }
    if (seq > last + 1) c.gaps += seq - last - 1;
    last = Math.max(last, seq);
    const t = (c.accounts[subAccount] ??= { shares: 0, difficulty: 0 });
    t.shares += shares;
    t.difficulty += difficulty;
  }
  c.nextSeq[stream] = last + 1;
}

/** Block groups from `height` on, from the first of `nodes` that answers. */
export async function fetchGroups(nc: NatsConnection, chain: string, nodes: readonly string[], height: number, timeoutMs = 2000): Promise<BlockGroup[]> {
  let last: unknown;
  for (const node of nodes) {
    try {
      const r = await request(nc, subjects.ppov(chain).sync(node), PpovSyncRequest, { v: SCHEMA_VERSION, from: 'accounting', height }, PpovGroups, 'PpovGroups', timeoutMs, PPOV_MAX_PAYLOAD_BYTES);
      return r.groups as BlockGroup[];
    } catch (e) {
      last = e;
    }
  }
  throw last instanceof Error ? last : new HashgridError(ErrorCode.NO_RESPONDERS, `accounting: no ledger node of chain ${chain} answered`);
}

/** Folds the whole chain as the first answering node holds it. */
export async function readAccounts(nc: NatsConnection, chain: string, nodes: readonly string[], acc = emptyAccounts()): Promise<LedgerAccounts> {
  for (;;) {
    const groups = await fetchGroups(nc, chain, nodes, acc.height + 1);
    if (groups.length === 0) return acc;
    foldAccounting(acc, groups);
  }
}

type RecordedShare = Pick<AcceptedShare, 'subAccount' | 'difficulty'>;

/**
 * Takes whole stream records off the front of `buffered` and sums them per
 * (sequence, sub-account), up to ACCOUNTING_MAX_ENTRIES entries and about
 * ACCOUNTING_MAX_BYTES of JSON: a record is never split between two
 * transactions.
 */
export function workEntries(buffered: { seq: number; shares: readonly RecordedShare[] }[]): [number, string, number, number][] {
  const entries: [number, string, number, number][] = [];
  // The record's own fields (kind, center id, stream time) take well under 200 bytes.
  let bytes = 200;
  while (buffered.length > 0) {
    const { seq, shares } = buffered[0]!;
    const bySub = new Map<string, [number, string, number, number]>();
    for (const sh of shares) {
      const e = bySub.get(sh.subAccount) ?? [seq, sh.subAccount, 0, 0];
      e[2]++;
      e[3] += sh.difficulty;
      bySub.set(sh.subAccount, e);
    }
    const size = [...bySub.values()].reduce((n, e) => n + JSON.stringify(e).length + 1, 0);
    if (entries.length > 0 && (entries.length + bySub.size > ACCOUNTING_MAX_ENTRIES || bytes + size > ACCOUNTING_MAX_BYTES)) break;
    bytes += size;
    entries.push(...bySub.values());
    buffered.shift();
  }
  return entries;
}

/** Recorder options; every default is documented here. */
export interface RecorderOptions {
  nc: NatsConnection;
  /** The PPoV chain and the ledger nodes to submit to and read from (first answering). */
  chain: string;
  nodes: readonly string[];
  /** Record this center's accepted work and up-to-standard decisions. */
  centerId?: string;
  /** Record this scheduler plan's decisions. */
  plan?: string;
  /** How often to follow the chain and submit what is new (default 1000 ms). */
  intervalMs?: number;
  /** Submit again what is not on the chain after this long (default 15 s): a ledger node may have lost its pool. */
  resubmitMs?: number;
  log?: (line: string) => void;
}

interface Pending {
  tx: Uint8Array;
  id: string;
  at: number;
  /** For work: the last sequence it carries. */
  toSeq?: number;
}

export class LedgerRecorder {
  readonly accounts: LedgerAccounts;
  private readonly log: (line: string) => void;
  private readonly buffered: { seq: number; shares: RecordedShare[] }[] = [];
  private readonly events: Uint8Array[] = [];
  private readonly pending = new Map<string, Pending>();
  private work: Pending | undefined;
  /** The center stream's creation time (its incarnation), once followed. */
  private stream = '';
  private subs: Subscription[] = [];
  private messages: ConsumerMessages | undefined;
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private stopped = false;

  private constructor(
    private readonly options: RecorderOptions,
    accounts: LedgerAccounts,
  ) {
    this.accounts = accounts;
    this.log = options.log ?? (() => {});
  }

  /** Reads the chain (where to resume), then follows the center's stream and events. */
  static async start(options: RecorderOptions): Promise<LedgerRecorder> {
    const r = new LedgerRecorder(options, await readAccounts(options.nc, options.chain, options.nodes));
    const { nc, centerId, plan } = options;
    if (centerId) {
      r.subs.push(nc.subscribe(subjects.center(centerId).standardChanged, { callback: (_, m) => r.onEvent(() => ({ v: SCHEMA_VERSION, kind: 'standard', event: decode(StandardChanged, m.data, 'StandardChanged') })) }));
      await r.follow(centerId);
    }
    if (plan) {
      r.subs.push(nc.subscribe(subjects.scheduler(plan).events, { callback: (_, m) => r.onEvent(() => ({ v: SCHEMA_VERSION, kind: 'decision', event: decode(SchedulerEvent, m.data, 'SchedulerEvent') })) }));
    }
    r.timer = setInterval(() => void r.tick(), options.intervalMs ?? 1000);
    r.log(`recording on chain ${options.chain} from height ${r.accounts.height}${centerId ? `, center ${centerId} from stream sequence ${r.nextSeq(centerId)}` : ''}${plan ? `, plan ${plan}` : ''}`);
    return r;
  }

  private nextSeq(centerId: string): number {
    return nextSeqOf(this.accounts, centerId, this.stream);
  }

  private onEvent(record: () => AccountingRecord): void {
    try {
      this.events.push(encodeAccounting(record()));
    } catch (e) {
      this.log(`skipping a malformed event: ${(e as Error).message}`);
    }
  }

  /** An ordered consumer from the first sequence the chain lacks; it re-creates itself after server trouble. */
  private async follow(centerId: string): Promise<void> {
    const name = streams.centerShares(centerId).name;
    this.stream = (await (await jetstreamManager(this.options.nc)).streams.info(name)).created;
    const consumer = await jetstream(this.options.nc).consumers.get(name, { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: this.nextSeq(centerId) });
    const messages = await consumer.consume();
    this.messages = messages;
    void (async () => {
      for await (const m of messages) {
        try {
          this.buffered.push({ seq: m.seq, shares: storedShares(m.data) });
        } catch (e) {
          this.log(`stream ${m.seq}: ${(e as Error).message}`);
        }
      }
    })().catch((e: unknown) => {
      // The stream went away (deleted, server gone for good): recording stops with a line, not a crash.
      this.log(`following ${name} stopped: ${(e as Error).message}`);
    });
  }

  /** Follows the chain, retires what it committed, and submits what is new. Never runs twice at once. */
  tick(): Promise<void> {
    this.ticking ??= this.step()
      .catch((e: unknown) => this.log(`ledger: ${(e as Error).message}`))
      .finally(() => (this.ticking = undefined));
    return this.ticking;
  }

  private async step(): Promise<void> {
    if (this.stopped) return;
    const { nc, chain, nodes, centerId } = this.options;
    await readAccounts(nc, chain, nodes, this.accounts);
    const now = Date.now();
    for (const [id, p] of this.pending) {
      const committed = this.accounts.seen.has(id) || (p.toSeq !== undefined && centerId !== undefined && this.nextSeq(centerId) > p.toSeq);
      if (committed) {
        this.pending.delete(id);
        if (this.work === p) this.work = undefined;
      } else if (now - p.at > (this.options.resubmitMs ?? 15_000)) {
        await this.submit([p.tx]);
        p.at = now;
      }
    }
    const fresh: Pending[] = this.events.splice(0).map((tx) => ({ tx, id: txId(tx), at: now }));
    // One work record in flight at a time: the next starts where the chain's cursor will be.
    if (centerId && !this.work) {
      const next = this.nextSeq(centerId);
      while (this.buffered.length > 0 && this.buffered[0]!.seq < next) this.buffered.shift();
      const entries = workEntries(this.buffered);
      if (entries.length > 0) {
        const tx = encodeAccounting({ v: SCHEMA_VERSION, kind: 'work', centerId, stream: this.stream, shares: entries });
        this.work = { tx, id: txId(tx), at: now, toSeq: entries.at(-1)![0] };
        fresh.push(this.work);
      }
    }
    if (fresh.length === 0) return;
    for (const p of fresh) this.pending.set(p.id, p);
    await this.submit(fresh.map((p) => p.tx));
  }

  private async submit(txs: Uint8Array[]): Promise<void> {
    const { nc, chain, nodes } = this.options;
    const body = { v: SCHEMA_VERSION, txs: txs.map((t) => Buffer.from(t).toString('base64')) };
    for (const node of nodes) {
      try {
        await request(nc, subjects.ppov(chain).submit(node), PpovSubmit, body, PpovSubmitted, 'PpovSubmitted');
        return;
      } catch (e) {
        this.log(`submit to ${node}: ${(e as Error).message}`);
      }
    }
  }

  /** Whether everything seen so far is on the chain. */
  get idle(): boolean {
    return this.pending.size === 0 && this.buffered.length === 0 && this.events.length === 0;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.timer);
    for (const s of this.subs) s.unsubscribe();
    await this.messages?.close();
    await this.ticking;
  }
}
