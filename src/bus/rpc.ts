/**
 * Request/reply on the bus with schemas on both ends, timeouts, and typed
 * error replies `{error: {code, message}}`.
 */
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import type { z } from 'zod';
import { ErrorCode, HashgridError, isHashgridError } from '../core/errors.js';
import { decode, encode } from './codec.js';
import { ErrorReply } from './schemas.js';

/** Where services count rejected messages (a Prometheus counter in production). */
export type BusErrorSink = (subject: string, code: string) => void;

const encoder = new TextEncoder();

/** What replyError needs of a message (core and NATS Services messages alike). */
export interface Replyable {
  reply?: string;
  respond(data: Uint8Array): boolean;
}

/** Replies to `msg` with a typed error (if it expects a reply). */
export function replyError(msg: Replyable, error: unknown): void {
  const e = isHashgridError(error) ? error : new HashgridError(ErrorCode.INVALID_STATE, (error as Error)?.message ?? String(error));
  if (msg.reply) msg.respond(encoder.encode(JSON.stringify({ error: { code: e.code, message: e.message } })));
}

export interface ServeOptions {
  queue?: string;
  /** Counts every rejected message by subject and code. */
  onError?: BusErrorSink;
  /** Largest request accepted (default codec.MAX_PAYLOAD_BYTES). */
  maxBytes?: number;
  /** When it returns false the request is left to another responder on the subject: no reply, no count. */
  answers?: () => boolean;
}

/**
 * Answers requests on `subject`: each is decoded with `input`, handled, and
 * the result encoded with `output`. A malformed request or a failing handler
 * gets an error reply and a count; the subscription carries on.
 */
export function serve<I extends z.ZodType, O extends z.ZodType>(
  nc: NatsConnection,
  subject: string,
  input: I,
  output: O,
  name: string,
  handler: (request: z.output<I>, msg: Msg) => Promise<z.input<O>> | z.input<O>,
  options: ServeOptions = {},
): Subscription {
  return nc.subscribe(subject, {
    ...(options.queue ? { queue: options.queue } : {}),
    callback: (err, msg) => {
      if (err || (options.answers && !options.answers())) return;
      void (async () => {
        try {
          const request = decode(input, msg.data, name, options.maxBytes);
          const result = await handler(request, msg);
          if (msg.reply) msg.respond(encode(output, result));
        } catch (e) {
          options.onError?.(msg.subject, isHashgridError(e) ? e.code : 'INTERNAL');
          replyError(msg, e);
        }
      })();
    },
  });
}

/**
 * Listens to published messages on `subject`, decoding each with `schema`.
 * Malformed ones are counted and dropped.
 */
export function listen<S extends z.ZodType>(
  nc: NatsConnection,
  subject: string,
  schema: S,
  name: string,
  handler: (message: z.output<S>, msg: Msg) => void,
  onError?: BusErrorSink,
  maxBytes?: number,
): Subscription {
  return nc.subscribe(subject, {
    callback: (err, msg) => {
      if (err) return;
      try {
        handler(decode(schema, msg.data, name, maxBytes), msg);
      } catch (e) {
        onError?.(msg.subject, isHashgridError(e) ? e.code : 'INTERNAL');
      }
    },
  });
}

/** Sends a request and decodes the reply; error replies and timeouts throw typed errors. */
export async function request<I extends z.ZodType, O extends z.ZodType>(
  nc: NatsConnection,
  subject: string,
  input: I,
  body: z.input<I>,
  output: O,
  name: string,
  timeoutMs = 2000,
  maxBytes?: number,
): Promise<z.output<O>> {
  let reply: Msg;
  try {
    reply = await nc.request(subject, encode(input, body), { timeout: timeoutMs });
  } catch (e) {
    const text = String((e as Error)?.message ?? e);
    if (/no responders/i.test(text) || (e as { name?: string }).name === 'NoRespondersError') {
      throw new HashgridError(ErrorCode.NO_RESPONDERS, `${name}: nobody is listening on ${subject}`, { subject });
    }
    if (/timeout/i.test(text) || (e as { name?: string }).name === 'TimeoutError') {
      throw new HashgridError(ErrorCode.BUS_TIMEOUT, `${name}: no reply on ${subject} within ${timeoutMs} ms`, { subject });
    }
    throw e;
  }
  const failed = ErrorReply.safeParse(safeJson(reply.data));
  if (failed.success) throw new HashgridError(failed.data.error.code as ErrorCode, failed.data.error.message, { subject, remote: true });
  return decode(output, reply.data, `${name} reply`, maxBytes);
}

function safeJson(data: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(data));
  } catch {
    return undefined;
  }
}
