/**
 * The dashboard: a GridWatcher (the bus, read-only) behind a small Fastify
 * server that serves the page, pushes snapshots over Server-Sent Events,
 * and runs operator actions for callers that present the operator token.
 *
 *   GET  /                      the page (built by scripts/build-dashboard.ts into dist/dashboard/web)
 *   GET  /assets/<file>         its script and stylesheet (no CDN: the page works offline)
 *   GET  /api/snapshot          the latest Snapshot (view.ts) as JSON
 *   GET  /api/stream            SSE: event "snapshot" once per watcher tick
 *   GET  /api/auth              204 with a good token, 401 without (the page checks a pasted token)
 *   POST /api/nodes/:id/control                        {action: pause|resume|cancel}
 *   POST /api/centers/:cid/subaccounts                 {id, password, standard, windowSeconds, plan?}
 *   POST /api/centers/:cid/subaccounts/:id/standard    {standard, windowSeconds?}
 *
 * Reading needs nothing; every POST needs `Authorization: Bearer <token>`.
 * The token travels in a header, never a cookie, so another site cannot make
 * a browser send it. Every error is `{error: {code, message}}` with the
 * codes of src/core/errors.ts, as on the bus.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { ErrorCode, HashgridError, isHashgridError } from '../core/errors.js';
import { MAX_PAYLOAD_BYTES } from '../bus/codec.js';
import { builtFile } from '../engine/paths.js';
import { httpStatus, OperatorActions } from './actions.js';
import { GridWatcher, type GridWatcherOptions } from './watcher.js';

/** Dashboard options; every default is documented here (watcher options: see GridWatcherOptions). */
export interface DashboardOptions extends GridWatcherOptions {
  nc: NatsConnection;
  /** Listen address (default 127.0.0.1: put a TLS proxy in front to expose it). */
  host?: string;
  /** Port (default 0: a free port). */
  port?: number;
  /** The operator token (default: 24 random bytes, base64url). */
  token?: string;
  /** Where the built page is (default dist/dashboard/web in the package). */
  assetsDir?: string;
}

export interface Dashboard {
  /** e.g. http://127.0.0.1:8080/ */
  url: string;
  token: string;
  watcher: GridWatcher;
  stop(): Promise<void>;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
};

/** The built page, read once: a fixed set of files, so no path from a request ever reaches the file system. */
function loadAssets(dir: string): Map<string, { body: Buffer; type: string }> {
  const assets = new Map<string, { body: Buffer; type: string }>();
  for (const name of readdirSync(dir)) {
    const type = CONTENT_TYPES[extname(name)];
    if (type) assets.set(name, { body: readFileSync(join(dir, name)), type });
  }
  return assets;
}

const digest = (s: string) => createHash('sha256').update(s).digest();

export async function startDashboard(options: DashboardOptions): Promise<Dashboard> {
  const assetsDir = options.assetsDir ?? join(builtFile('dist/dashboard/web/index.html'), '..');
  const assets = loadAssets(assetsDir);
  const token = options.token ?? randomBytes(24).toString('base64url');
  if (token.length < 8) throw new HashgridError(ErrorCode.INVALID_ARGUMENT, 'operator token: expected at least 8 characters');
  const tokenDigest = digest(token);
  const watcher = new GridWatcher(options);
  const actions = new OperatorActions(options.nc);
  const app: FastifyInstance = Fastify({ logger: false, bodyLimit: MAX_PAYLOAD_BYTES });

  const fail = (reply: FastifyReply, e: unknown) => {
    const err = isHashgridError(e) ? e : new HashgridError(ErrorCode.INVALID_STATE, (e as Error)?.message ?? String(e));
    return reply.code(httpStatus(err.code)).send({ error: { code: err.code, message: err.message } });
  };
  // Fastify's own errors (body not JSON, too large, wrong content type) in the same typed shape.
  app.setErrorHandler((e: Error & { statusCode?: number }, _req, reply) => {
    if (isHashgridError(e)) return fail(reply, e);
    const code = e.statusCode === 413 ? ErrorCode.PAYLOAD_TOO_LARGE : e.statusCode && e.statusCode < 500 ? ErrorCode.BAD_MESSAGE : ErrorCode.INVALID_STATE;
    return reply.code(e.statusCode ?? 500).send({ error: { code, message: e.message } });
  });
  app.setNotFoundHandler((req, reply) => reply.code(404).send({ error: { code: ErrorCode.NOT_FOUND, message: `no such page: ${req.method} ${req.url}` } }));
  app.addHook('onSend', async (_req, reply) => {
    // Everything the page needs comes from this server: a CDN reference would simply fail.
    reply.header('content-security-policy', "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:");
    reply.header('x-content-type-options', 'nosniff');
    reply.header('cache-control', 'no-store');
  });

  const authorised = async (req: FastifyRequest) => {
    const m = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '');
    // Compare digests: equal length, constant time, whatever was sent.
    if (!m || !timingSafeEqual(digest(m[1]!), tokenDigest)) {
      throw new HashgridError(ErrorCode.UNAUTHORIZED, m ? 'wrong operator token' : 'operator actions need the operator token: send "Authorization: Bearer <token>"');
    }
  };

  const asset = (name: string) => (_req: FastifyRequest, reply: FastifyReply) => {
    const a = assets.get(name);
    if (!a) return reply.code(404).send({ error: { code: ErrorCode.NOT_FOUND, message: `no asset ${name}` } });
    return reply.type(a.type).send(a.body);
  };
  app.get('/', asset('index.html'));
  app.get<{ Params: { file: string } }>('/assets/:file', (req, reply) => asset(req.params.file)(req, reply));
  app.get('/api/snapshot', async () => watcher.snapshot());
  app.get('/api/auth', { onRequest: authorised }, async (_req, reply) => reply.code(204).send());
  app.get('/api/stream', (req, reply) => {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    // The browser reconnects by itself after `retry` ms if this server goes away.
    const send = (s: unknown) => res.write(`event: snapshot\ndata: ${JSON.stringify(s)}\n\n`);
    res.write('retry: 1000\n\n');
    send(watcher.snapshot());
    const off = watcher.onSnapshot(send);
    const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
    req.raw.on('close', () => {
      off();
      clearInterval(keepAlive);
    });
  });

  const act = <P>(run: (params: P, body: unknown) => Promise<unknown>) => ({
    onRequest: authorised,
    handler: async (req: FastifyRequest<{ Params: P }>, reply: FastifyReply) => {
      try {
        return await run(req.params as P, req.body);
      } catch (e) {
        return fail(reply, e);
      }
    },
  });
  app.post<{ Params: { id: string } }>('/api/nodes/:id/control', act<{ id: string }>((p, body) => actions.controlNode(p.id, body)));
  app.post<{ Params: { cid: string } }>('/api/centers/:cid/subaccounts', act<{ cid: string }>((p, body) => actions.addSubAccount(p.cid, body)));
  app.post<{ Params: { cid: string; id: string } }>(
    '/api/centers/:cid/subaccounts/:id/standard',
    act<{ cid: string; id: string }>((p, body) => actions.setStandard(p.cid, p.id, body)),
  );

  try {
    await app.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? 0 });
  } catch (e) {
    watcher.stop();
    throw new HashgridError(ErrorCode.INVALID_ARGUMENT, `dashboard: cannot listen on ${options.host ?? '127.0.0.1'}:${options.port ?? 0}: ${(e as Error).message}`);
  }
  const address = app.server.address() as { address: string; port: number };
  const host = address.address.includes(':') ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}/`,
    token,
    watcher,
    stop: async () => {
      watcher.stop();
      // SSE responses stay open until the client goes: end them so close() returns.
      app.server.closeAllConnections();
      await app.close();
    },
  };
}
