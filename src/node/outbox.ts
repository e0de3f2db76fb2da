/**
 * Shares on their way to JetStream. A share counts as delivered only when
 * the stream acknowledges it; until then it stays queued and is retried with
 * back-off (through disconnects and server fail-overs). The message id makes
 * retries idempotent: JetStream drops a duplicate within its window.
 */
import type { JetStreamClient } from '@nats-io/jetstream';

export interface OutboxOptions {
  /** Shares kept while the stream is unreachable (default 100,000); beyond, the oldest is dropped and counted. */
  capacity?: number;
  /** Ack wait per attempt (default 2 s). */
  ackTimeoutMs?: number;
  onAck?: (msgId: string, latencyMs: number) => void;
  onDrop?: (msgId: string) => void;
}

interface Pending {
  subject: string;
  data: Uint8Array;
  msgId: string;
  queuedAt: number;
}

export class ShareOutbox {
  private readonly queue: Pending[] = [];
  private draining = false;
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
    this.queue.push({ subject, data, msgId, queuedAt: performance.now() });
    void this.drain();
  }

  /** Resolves once every queued share is acknowledged (or the outbox closes). */
  async flush(timeoutMs = 10_000): Promise<boolean> {
    const end = Date.now() + timeoutMs;
    while (this.queue.length > 0 && !this.closed && Date.now() < end) await sleep(10);
    return this.queue.length === 0;
  }

  close(): void {
    this.closed = true;
  }

  private async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    let backoff = 50;
    try {
      while (this.queue.length > 0 && !this.closed) {
        const next = this.queue[0]!;
        try {
          await this.js.publish(next.subject, next.data, { msgID: next.msgId, timeout: this.options.ackTimeoutMs ?? 2000 });
          this.queue.shift();
          backoff = 50;
          this.options.onAck?.(next.msgId, performance.now() - next.queuedAt);
        } catch {
          // Not acknowledged (no stream leader yet, disconnected, timed out): keep it and retry.
          await sleep(backoff);
          backoff = Math.min(backoff * 2, 2000);
        }
      }
    } finally {
      this.draining = false;
    }
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
