/**
 * What a distribution center keeps across restarts, on JetStream:
 *  - accepted shares, in stream CENTER_<cid>, written by group commit: the
 *    shares accepted within one short window go out as one AcceptedShareBatch
 *    message, and each miner's "accepted" waits for that message's ack;
 *  - sub-accounts added or changed over the bus, in KV bucket
 *    hashgrid-center-<cid>.
 * Replay reads both back in the order they were stored.
 */
import { randomBytes } from 'node:crypto';
import { jetstream, jetstreamManager, type JetStreamClient } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { ErrorCode, HashgridError } from '../core/errors.js';
import { decode, encode, PPOV_MAX_PAYLOAD_BYTES } from '../bus/codec.js';
import { ensureStream } from '../bus/jetstream.js';
import { AcceptedShare, AcceptedShareBatch, MAX_SHARES_PER_BATCH, SCHEMA_VERSION, StoredSubAccount } from '../bus/schemas.js';
import { buckets, streams, subjects } from '../bus/subjects.js';

export type ShareRecord = AcceptedShareBatch['shares'][number];

/** Group-commit options; every default is documented here. */
export interface GroupCommitOptions {
  /**
   * How long the first share of a batch waits for company (default 0: until the event loop has
   * handled the I/O already in hand, which adds no delay on a quiet center and batches under load).
   */
  maxDelayMs?: number;
  /** Shares per batch at most (default and ceiling MAX_SHARES_PER_BATCH). */
  maxShares?: number;
  /** Batches awaiting their ack at once (default 4); further shares wait and join the next batch. */
  maxInFlight?: number;
}

interface Pending {
  record: ShareRecord;
  resolve: () => void;
  reject: (e: Error) => void;
}

export class CenterStore {
  /** Batches and shares stored by this process (the group commit's effect: shares per message). */
  readonly stored = { batches: 0, shares: 0 };
  private queue: Pending[] = [];
  private scheduled = false;
  private inFlight = 0;
  private drained: (() => void) | undefined;
  private seq = 0;
  /** Names this process's batches, so a retried publish is stored once (the stream's duplicate window). */
  private readonly runId = randomBytes(6).toString('hex');
  private readonly subject: string;
  private readonly maxShares: number;

  private constructor(
    private readonly centerId: string,
    private readonly js: JetStreamClient,
    private readonly kv: KV,
    private readonly nc: NatsConnection,
    private readonly options: GroupCommitOptions,
  ) {
    this.subject = subjects.center(centerId).accepted;
    this.maxShares = Math.min(MAX_SHARES_PER_BATCH, Math.max(1, options.maxShares ?? MAX_SHARES_PER_BATCH));
  }

  static async open(nc: NatsConnection, centerId: string, replicas: number, options: GroupCommitOptions = {}): Promise<CenterStore> {
    await ensureStream(nc, streams.centerShares(centerId), replicas);
    const kv = await new Kvm(nc).create(buckets.center(centerId), { history: 1, replicas });
    return new CenterStore(centerId, jetstream(nc), kv, nc, options);
  }

  /** When the share stream was created: the center's first start, where its hashrate history begins. */
  async createdAt(): Promise<number> {
    const jsm = await jetstreamManager(this.nc);
    return Date.parse((await jsm.streams.info(streams.centerShares(this.centerId).name)).created);
  }

  // ---- sub-accounts

  async putSubAccount(account: Omit<StoredSubAccount, 'v'>): Promise<void> {
    await this.kv.put(`subaccount.${account.id}`, encode(StoredSubAccount, { v: SCHEMA_VERSION, ...account }));
  }

  async subAccounts(): Promise<StoredSubAccount[]> {
    const out: StoredSubAccount[] = [];
    for await (const key of await this.kv.keys('subaccount.*')) {
      const entry = await this.kv.get(key);
      if (entry && entry.operation === 'PUT') out.push(decode(StoredSubAccount, entry.value, `StoredSubAccount ${key}`));
    }
    return out.sort((a, b) => a.since - b.since || a.id.localeCompare(b.id));
  }

  // ---- shares

  /** Resolves once the share is stored (in a batch with the shares accepted around it); rejects if it was not. */
  append(record: ShareRecord): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ record, resolve, reject });
      if (this.queue.length >= this.maxShares) this.flush();
      else this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    const run = () => {
      this.scheduled = false;
      this.flush();
    };
    if ((this.options.maxDelayMs ?? 0) > 0) setTimeout(run, this.options.maxDelayMs);
    else setImmediate(run);
  }

  /** Stores what is queued and waits for every batch's ack (a graceful stop). */
  async drain(): Promise<void> {
    this.flush();
    while (this.queue.length > 0 || this.inFlight > 0) {
      await new Promise<void>((resolve) => (this.drained = resolve));
    }
  }

  private flush(): void {
    // While maxInFlight batches await their acks, new shares gather into the next one: the batch
    // grows with the load instead of the number of messages.
    while (this.queue.length > 0 && this.inFlight < (this.options.maxInFlight ?? 4)) {
      const batch = this.queue.splice(0, this.maxShares);
      this.inFlight++;
      const data = encode(AcceptedShareBatch, { v: SCHEMA_VERSION, centerId: this.centerId, shares: batch.map((p) => p.record) });
      this.js
        .publish(this.subject, data, { msgID: `${this.runId}:${this.seq++}` })
        .then(
          () => {
            this.stored.batches++;
            this.stored.shares += batch.length;
            for (const p of batch) p.resolve();
          },
          (e: Error) => {
            const error = new HashgridError(ErrorCode.NATS_SERVER, `share not stored: ${e.message}`);
            for (const p of batch) p.reject(error);
          },
        )
        .finally(() => {
          this.inFlight--;
          if (this.queue.length > 0) this.flush();
          this.drained?.();
        });
    }
  }

  /** Reads every stored share in order: batches, and single records from streams written before batching. */
  async replay(onShare: (record: ShareRecord) => void): Promise<{ messages: number; shares: number; malformed: number }> {
    const name = streams.centerShares(this.centerId).name;
    const jsm = await jetstreamManager(this.nc);
    const total = (await jsm.streams.info(name)).state.messages;
    let read = 0;
    let shares = 0;
    let malformed = 0;
    if (total === 0) return { messages: 0, shares: 0, malformed: 0 };
    const consumer = await this.js.consumers.get(name);
    while (read < total) {
      const fetched = await consumer.fetch({ max_messages: Math.min(1000, total - read), expires: 5000 });
      let got = 0;
      for await (const m of fetched) {
        got++;
        let records: ShareRecord[];
        try {
          records = storedShares(m.data);
        } catch {
          // Only the center writes here, but anyone allowed to publish on the subject could store junk:
          // it is counted and skipped, so one bad record cannot keep the center from starting.
          malformed++;
          continue;
        }
        for (const r of records) onShare(r);
        shares += records.length;
      }
      if (got === 0) throw new HashgridError(ErrorCode.NATS_SERVER, `replay of ${name} stalled at ${read} of ${total} records`);
      read += got;
    }
    return { messages: read, shares, malformed };
  }
}

/** The shares in one stored message: a batch, or a single record from a stream written before batching. */
export function storedShares(data: Uint8Array): ShareRecord[] {
  // A batch has a `shares` array; a single record has none (a sub-account or job named "shares" is no batch).
  let batch = false;
  try {
    batch = Array.isArray((JSON.parse(utf8.decode(data)) as { shares?: unknown }).shares);
  } catch {
    // not JSON: the decode below says so, with its typed error
  }
  if (batch) return decode(AcceptedShareBatch, data, 'AcceptedShareBatch', PPOV_MAX_PAYLOAD_BYTES).shares;
  const r = decode(AcceptedShare, data, 'AcceptedShare');
  return [{ subAccount: r.subAccount, difficulty: r.difficulty, at: r.at, jobId: r.jobId }];
}

const utf8 = new TextDecoder();
