/**
 * Shares on their way to JetStream. A share counts as delivered only when
 * the stream acknowledges it; until then it stays queued and is retried with
 * back-off (through disconnects and server fail-overs). Up to `window`
 * shares are in flight at once, so a burst of hits does not queue behind
 * one ack round trip each. The message id makes retries idempotent:
 * JetStream drops a duplicate within its duplicate window.
 */
import type { JetStreamClient } from '@nats-io/jetstream';

export interface OutboxOptions {
  /** Shares kept while the stream is unreachable (default 100,000); beyond, the oldest is dropped and counted. */
  capacity?: number;
  /** Ack wait per attempt (default 2 s). */
  ackTimeoutMs?: number;
  /** Shares published before their acks come back (default 64). */
  window?: number;
  onAck?: (msgId: string, latencyMs: number) => void;
  onDrop?: (msgId: string) => void;
}

interface Pending {
  subject: string;
  data: Uint8Array;
  msgId: string;
  queuedAt: number;
  inFlight: boolean;
}

export class ShareOutbox {
  private readonly queue: Pending[] = [];
  private closed = false;
  dropped = 0;

  constructor(
    private readonly js: JetStreamClient,
    private readonly options: OutboxOptions = {},
  ) {}

  get pending(): number {
    return this.queue.length;
  }

  push(subject: string, data: Uint8Array, msgId: string): void {
    if (this.queue.length >= (this.options.capacity ?? 100_000)) {
      const lost = this.queue.shift()!;
      this.dropped++;
      this.options.onDrop?.(lost.msgId);
    }
    this.queue.push({ subject, data, msgId, queuedAt: performance.now(), inFlight: false });
    this.pump();
  }

  /** Resolves once every queued share is acknowledged (or the outbox closes). */
  async flush(timeoutMs = 10_000): Promise<boolean> {
    const end = Date.now() + timeoutMs;
    while (this.queue.length > 0 && !this.closed && Date.now() < end) await sleep(10);
    return this.queue.length === 0;
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.retryTimer);
  }

  private inFlight = 0;
  private retryAt = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private backoff = 50;

  /** Publishes queued shares, up to `window` awaiting their acks at once. */
  private pump(): void {
    if (this.closed) return;
    const wait = this.retryAt - Date.now();
    if (wait > 0) {
      this.retryTimer ??= setTimeout(() => {
        this.retryTimer = undefined;
        this.pump();
      }, wait);
      return;
    }
    const window = this.options.window ?? 64;
    for (const item of this.queue) {
      if (this.inFlight >= window) break;
      if (!item.inFlight) void this.send(item);
    }
  }

  private async send(item: Pending): Promise<void> {
    item.inFlight = true;
    this.inFlight++;
    try {
      await this.js.publish(item.subject, item.data, { msgID: item.msgId, timeout: this.options.ackTimeoutMs ?? 2000 });
      const i = this.queue.indexOf(item);
      if (i >= 0) this.queue.splice(i, 1);
      this.backoff = 50;
      this.options.onAck?.(item.msgId, performance.now() - item.queuedAt);
    } catch {
      // Not acknowledged (no stream leader yet, disconnected, timed out): keep it, back off, retry.
      item.inFlight = false;
      this.retryAt = Date.now() + this.backoff;
      this.backoff = Math.min(this.backoff * 2, 2000);
    } finally {
      this.inFlight--;
      this.pump();
    }
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
