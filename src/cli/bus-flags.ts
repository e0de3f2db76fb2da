/**
 * The bus flags every service command shares (--nats, --user,
 * --password-file), and reading secrets from files: secrets never come
 * from the command line, where `ps` would show them.
 */
import { readFileSync } from 'node:fs';
import type { NatsConnection } from '@nats-io/transport-node';
import { connectBus } from '../bus/connect.js';
import { UsageError } from './args.js';

/** The parseFlags entries for the shared bus flags. */
export const BUS_FLAGS = {
  nats: { type: 'string' },
  user: { type: 'string' },
  'password-file': { type: 'string' },
} as const;

/** A secret from a file (trimmed); an unreadable file is a usage error naming `flag`. */
export function readSecret(flag: string, path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (e) {
    throw new UsageError(flag, `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/**
 * Connects as a service: --nats is required; the password comes from
 * --password-file or $HASHGRID_NATS_PASSWORD. `inboxPrefix(user)` names the
 * inbox a confined user's replies come to (a dashboard user's).
 */
export async function connectFromFlags(
  values: { nats?: string; user?: string; 'password-file'?: string },
  name: string,
  inboxPrefix?: (user: string) => string,
): Promise<NatsConnection> {
  if (!values.nats) throw new UsageError('--nats', 'required: the NATS server URL, e.g. nats://127.0.0.1:4222');
  const password = values['password-file'] ? readSecret('--password-file', values['password-file']) : process.env.HASHGRID_NATS_PASSWORD;
  return connectBus({
    servers: values.nats,
    name,
    ...(values.user ? { user: values.user, password: password ?? '' } : {}),
    ...(values.user && inboxPrefix ? { inboxPrefix: inboxPrefix(values.user) } : {}),
  });
}
