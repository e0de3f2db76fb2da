/**
 * Creating the JetStream streams of src/bus/subjects.ts `streams`: one
 * helper, so every stream gets the same duplicate window and replica rules.
 */
import { jetstreamManager } from '@nats-io/jetstream';
import { nanos, type NatsConnection } from '@nats-io/transport-node';
import { streams } from './subjects.js';

/** Creates `stream` if it is missing. Retries of one message (same Nats-Msg-Id) within two minutes are stored once. */
export async function ensureStream(nc: NatsConnection, stream: { name: string; subjects: readonly string[] }, replicas = 1): Promise<void> {
  const jsm = await jetstreamManager(nc);
  try {
    await jsm.streams.info(stream.name);
  } catch {
    await jsm.streams.add({ name: stream.name, subjects: [...stream.subjects], num_replicas: replicas, duplicate_window: nanos(120_000) });
  }
}

/** The SHARES stream: a node's share is acknowledged once stored here. */
export const ensureSharesStream = (nc: NatsConnection, replicas = 1): Promise<void> => ensureStream(nc, streams.shares, replicas);
