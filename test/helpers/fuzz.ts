/** Malformed bus payloads for fuzz tests: what a broken or hostile peer might send on any subject. */
import fc from 'fast-check';
import type { NatsConnection } from '@nats-io/transport-node';
import { expect } from 'vitest';
import type { z } from 'zod';
import { MAX_PAYLOAD_BYTES } from '../../src/bus/codec.js';
import { ErrorReply } from '../../src/bus/schemas.js';

/** The error codes a bad message may be answered with. */
export const TYPED_CODES = ['BAD_MESSAGE', 'INVALID_MESSAGE', 'UNSUPPORTED_VERSION', 'PAYLOAD_TOO_LARGE', 'INVALID_NONCE_RANGE', 'TARGET_OUT_OF_RANGE'];
export const enc = (x: unknown) => new TextEncoder().encode(typeof x === 'string' ? x : JSON.stringify(x));

/** Payloads a broken or hostile peer might send, derived from a valid message; none passes `schema`. */
export function badPayloads(valid: Record<string, unknown>, schema: z.ZodType): fc.Arbitrary<Uint8Array> {
  const keys = Object.keys(valid);
  return fc.oneof(
    fc.uint8Array({ maxLength: 200 }),
    fc.jsonValue().filter((j) => typeof j !== 'object' || j === null || Array.isArray(j)).map(enc),
    fc.integer({ min: 2, max: 1000 }).map((v) => enc({ ...valid, v })),
    fc.constantFrom(...keys).chain((k) =>
      fc.oneof(fc.string(), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.array(fc.integer())).map((bad) => enc({ ...valid, [k]: bad })),
    ),
    fc.constantFrom(...keys).map((k) => enc(Object.fromEntries(Object.entries(valid).filter(([key]) => key !== k)))),
    fc.constant(enc({ ...valid, padding: 'x'.repeat(MAX_PAYLOAD_BYTES) })),
  ).filter((bytes) => {
    // Drop the payload that is accidentally valid (a mutated id can still be an id).
    try {
      return !schema.safeParse(JSON.parse(new TextDecoder().decode(bytes))).success;
    } catch {
      return true;
    }
  });
}


/** Sends `numRuns` bad requests to `subject`; each must get a typed error reply. Returns how many were sent. */
export async function expectTypedErrorReplies(nc: NatsConnection, subject: string, payloads: fc.Arbitrary<Uint8Array>, numRuns: number, timeout = 5000): Promise<number> {
  let sent = 0;
  await fc.assert(
    fc.asyncProperty(payloads, async (payload) => {
      sent++;
      const reply = await nc.request(subject, payload, { timeout });
      const parsed = ErrorReply.safeParse(JSON.parse(new TextDecoder().decode(reply.data)));
      expect(parsed.success, new TextDecoder().decode(reply.data)).toBe(true);
      expect(TYPED_CODES).toContain(parsed.data!.error.code);
      expect(parsed.data!.error.message.length).toBeGreaterThan(10);
    }),
    { numRuns },
  );
  return sent;
}
