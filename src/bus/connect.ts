/**
 * Connecting to the bus with hashgrid's defaults: reconnect forever with
 * jittered back-off, and credentials that never reach a log line.
 */
import { connect, nkeyAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import { ErrorCode, HashgridError } from '../core/errors.js';
import { redactUrl } from './auth.js';

/** Connection options; every default is documented here. */
export interface BusOptions {
  /** Server URLs (a cluster: several), tried in the order given: put the nearest first. */
  servers: string | string[];
  /** Connection name shown by the server (default `hashgrid`). */
  name?: string;
  user?: string;
  password?: string;
  /** nkey seed (the `SU...` text) instead of user/password. */
  nkeySeed?: string;
  /** Inbox prefix (nodes must use theirs: see auth.nodeInboxPrefix). */
  inboxPrefix?: string;
  /** Base reconnect wait (default 250 ms, with jitter). */
  reconnectTimeWaitMs?: number;
  /** Give up connecting the first time after this long (default 10 s). */
  connectTimeoutMs?: number;
}

export async function connectBus(options: BusOptions): Promise<NatsConnection> {
  const servers = Array.isArray(options.servers) ? options.servers : options.servers.split(',');
  try {
    return await connect({
      servers,
      name: options.name ?? 'hashgrid',
      maxReconnectAttempts: -1,
      noRandomize: true,
      reconnectTimeWait: options.reconnectTimeWaitMs ?? 250,
      reconnectJitter: 100,
      timeout: options.connectTimeoutMs ?? 10_000,
      ...(options.user !== undefined ? { user: options.user, pass: options.password ?? '' } : {}),
      ...(options.nkeySeed ? { authenticator: nkeyAuthenticator(new TextEncoder().encode(options.nkeySeed)) } : {}),
      ...(options.inboxPrefix ? { inboxPrefix: options.inboxPrefix } : {}),
    });
  } catch (e) {
    throw new HashgridError(ErrorCode.NATS_SERVER, `cannot connect to ${servers.map(redactUrl).join(', ')}: ${(e as Error).message}`, {
      servers: servers.map(redactUrl).join(','),
    });
  }
}
