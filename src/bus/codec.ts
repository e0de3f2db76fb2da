/**
 * JSON encoding of bus messages, validated on the way in and on the way out.
 * A message that fails validation becomes a typed HashgridError; nothing
 * half-parsed ever reaches a handler.
 */
import type { z } from 'zod';
import { ErrorCode, HashgridError } from '../core/errors.js';
import { SCHEMA_VERSION } from './schemas.js';

/** The largest message any hashgrid subject accepts (nats-server's own default limit is 1 MiB). */
export const MAX_PAYLOAD_BYTES = 64 * 1024;

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export function encode<S extends z.ZodType>(schema: S, value: z.input<S>): Uint8Array {
  const parsed = schema.safeParse(value);
  // Sending an invalid message is our bug, not the peer's: fail loudly here.
  if (!parsed.success) throw new Error(`refusing to send an invalid message: ${describeIssues(parsed.error)}`);
  return encoder.encode(JSON.stringify(parsed.data));
}

/** The largest PPoV message: a block of K = 10,000 40-byte transactions is ~590 kB of JSON (nats-server's default max_payload is 1 MiB). */
export const PPOV_MAX_PAYLOAD_BYTES = 1024 * 1024;

/** Decodes and validates `data`; `what` names the message in errors (e.g. "WorkAssignment"). */
export function decode<S extends z.ZodType>(schema: S, data: Uint8Array, what: string, maxBytes = MAX_PAYLOAD_BYTES): z.output<S> {
  if (data.length > maxBytes) {
    throw new HashgridError(ErrorCode.PAYLOAD_TOO_LARGE, `${what}: ${data.length} bytes, the limit is ${maxBytes}`, {
      bytes: data.length,
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(decoder.decode(data));
  } catch {
    throw new HashgridError(ErrorCode.BAD_MESSAGE, `${what}: expected a JSON object, got bytes that are not JSON`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new HashgridError(ErrorCode.BAD_MESSAGE, `${what}: expected a JSON object, got ${Array.isArray(json) ? 'an array' : typeof json}`);
  }
  const version = (json as { v?: unknown }).v;
  if ('v' in json && version !== SCHEMA_VERSION) {
    throw new HashgridError(ErrorCode.UNSUPPORTED_VERSION, `${what}: expected schema version v=${SCHEMA_VERSION}, got v=${JSON.stringify(version)}`, {
      version: version as never,
    });
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    throw new HashgridError(ErrorCode.INVALID_MESSAGE, `${what}: ${describeIssues(parsed.error)}`);
  }
  return parsed.data;
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((i) => `${i.path.length ? i.path.join('.') : 'message'}: ${i.message}`)
    .join('; ');
}
