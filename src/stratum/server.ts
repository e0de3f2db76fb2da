/**
 * Stratum V1 server: transport only. It frames lines, answers the protocol's
 * own methods (subscribe, configure), and hands authorize/submit to a
 * handler (the distribution center). Abusive peers — over-long lines, a flood
 * of malformed messages, no handshake in time, silence — are closed; every
 * other connection carries on.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { hex32 } from './job.js';
import { LineSplitter, MAX_LINE_BYTES, parseLine, StratumCode, StratumError, type StratumRequest } from './protocol.js';

export interface StratumSession {
  readonly id: number;
  readonly remote: string;
  readonly extranonce1: string;
  readonly extranonce2Size: number;
  subscribed: boolean;
  /** Authorized worker names → whatever the handler attached (the sub-account). */
  readonly workers: Map<string, unknown>;
  /** BIP 310 bits the miner may roll (0 = none). */
  versionMask: number;
  /** Difficulty the miner asked for with mining.suggest_difficulty, if any. */
  suggestedDifficulty?: number;
  /** Free slot for the handler (vardiff state, per-job difficulty...). */
  state: Record<string, unknown>;
  notify(method: string, params: unknown[]): void;
  close(reason: string): void;
}

export interface StratumHandler {
  /** mining.authorize: attach the account to the worker, or throw StratumError(UNAUTHORIZED). */
  authorize(session: StratumSession, worker: string, password: string): unknown | Promise<unknown>;
  /** mining.submit: accept (resolve true) or throw a StratumError with the reason. */
  submit(session: StratumSession, params: SubmitParams): Promise<boolean> | boolean;
  /** After subscribe and the first authorize: send difficulty and the current job. */
  onReady?(session: StratumSession): void;
  onClose?(session: StratumSession): void;
  /** Counts malformed or failed requests, by Stratum code. */
  onError?(session: StratumSession, code: number): void;
}

export interface SubmitParams {
  worker: string;
  jobId: string;
  extranonce2: string;
  ntime: string;
  nonce: string;
  /** BIP 310 version bits, when the miner rolls the version. */
  versionBits?: string;
}

/** Server options; every default is documented here. */
export interface StratumServerOptions {
  host?: string;
  /** Default 0 (a free port). */
  port?: number;
  /** extranonce2 size in bytes (default 4). */
  extranonce2Size?: number;
  /** Version bits miners may roll (default 0x1fffe000, BIP 320). */
  versionRollingMask?: number;
  /** Close a connection that has not subscribed within this long (default 10 s). */
  handshakeTimeoutMs?: number;
  /** Close a connection silent for this long (default 10 min). */
  idleTimeoutMs?: number;
  /**
   * Close a connection that leaves a line unfinished this long (default 30 s): the idle timer
   * restarts on every byte, so without this a peer trickling one byte at a time stays forever.
   */
  lineTimeoutMs?: number;
  /** Refuse connections beyond this many at once (default 10,000); the refused peer is told why. */
  maxConnections?: number;
  /** Close a connection after this many malformed requests (default 20). */
  maxErrors?: number;
  maxLineBytes?: number;
  /** Hands out extranonce1 values (default: a counter from a random start); share one allocator between all front ends of a center. */
  allocateExtranonce1?: () => string;
}

export class StratumServer {
  private readonly server: Server;
  private readonly live = new Map<number, StratumSession>();
  private nextId = 1;
  /** Connections turned away because the server was full. */
  refused = 0;
  private extranonceCounter = Math.floor(Math.random() * 0xffff) << 16;

  constructor(
    private readonly handler: StratumHandler,
    private readonly options: StratumServerOptions = {},
  ) {
    this.server = createServer((socket) => this.accept(socket));
  }

  async listen(): Promise<{ host: string; port: number }> {
    const host = this.options.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => this.server.once('error', reject).listen(this.options.port ?? 0, host, resolve));
    return { host, port: (this.server.address() as { port: number }).port };
  }

  sessions(): StratumSession[] {
    return [...this.live.values()];
  }

  /** Asks every miner to reconnect (to `host:port`, or here after `waitSeconds`), e.g. before a restart. */
  reconnectAll(host?: string, port?: number, waitSeconds = 0): void {
    for (const s of this.live.values()) s.notify('client.reconnect', host === undefined ? [] : [host, port ?? 0, waitSeconds]);
  }

  async close(): Promise<void> {
    for (const s of this.live.values()) s.close('server closing');
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: Socket): void {
    socket.setEncoding('utf8');
    socket.setNoDelay(true);
    const cap = this.options.maxConnections ?? 10_000;
    if (this.live.size >= cap) {
      socket.on('error', () => socket.destroy());
      socket.end(`${JSON.stringify({ id: null, method: 'client.show_message', params: [`closing: server full (${cap} connections)`] })}\n`);
      this.refused++;
      return;
    }
    const id = this.nextId++;
    const splitter = new LineSplitter(this.options.maxLineBytes ?? MAX_LINE_BYTES);
    let errors = 0;
    const send = (msg: object) => {
      if (!socket.destroyed) socket.write(`${JSON.stringify(msg)}\n`);
    };
    const session: StratumSession = {
      id,
      remote: `${socket.remoteAddress}:${socket.remotePort}`,
      // Unique per connection, so two miners never search the same coinbase.
      extranonce1: this.options.allocateExtranonce1?.() ?? hex32(this.extranonceCounter++),
      extranonce2Size: this.options.extranonce2Size ?? 4,
      subscribed: false,
      workers: new Map(),
      versionMask: 0,
      state: {},
      notify: (method, params) => send({ id: null, method, params }),
      close: (reason) => {
        if (!socket.destroyed) {
          send({ id: null, method: 'client.show_message', params: [`closing: ${reason}`] });
          socket.end();
          socket.destroySoon?.();
        }
      },
    };
    this.live.set(id, session);
    const handshake = setTimeout(() => !session.subscribed && session.close('no mining.subscribe in time'), this.options.handshakeTimeoutMs ?? 10_000);
    socket.setTimeout(this.options.idleTimeoutMs ?? 600_000, () => session.close('idle'));
    let lineDeadline: NodeJS.Timeout | undefined;
    socket.on('close', () => {
      clearTimeout(handshake);
      clearTimeout(lineDeadline);
      this.live.delete(id);
      this.handler.onClose?.(session);
    });
    socket.on('error', () => socket.destroy());

    const fail = (reqId: StratumRequest['id'], e: unknown) => {
      const err = e instanceof StratumError ? e : new StratumError(StratumCode.OTHER, (e as Error)?.message ?? 'internal error');
      this.handler.onError?.(session, err.stratumCode);
      send({ id: reqId, result: null, error: err.toWire() });
      // Rejected shares are normal; a stream of malformed requests is not.
      if (err.stratumCode === StratumCode.OTHER && ++errors > (this.options.maxErrors ?? 20)) session.close('too many malformed requests');
    };

    socket.on('data', (chunk: string) => {
      let lines: string[];
      try {
        lines = splitter.push(chunk);
      } catch (e) {
        fail(null, e);
        socket.destroy();
        return;
      }
      // A line, once begun, must end within lineTimeoutMs (slow-loris): the clock restarts with
      // each complete request, and runs while a line is unfinished.
      if (lines.length > 0 || splitter.partial === 0) {
        clearTimeout(lineDeadline);
        lineDeadline = undefined;
      }
      if (splitter.partial > 0) {
        lineDeadline ??= setTimeout(() => {
          session.close('line not completed in time');
          // A peer that reads nothing would keep a graceful close pending forever.
          setTimeout(() => socket.destroy(), 1000).unref();
        }, this.options.lineTimeoutMs ?? 30_000);
      }
      for (const line of lines) {
        let msg;
        try {
          msg = parseLine(line);
        } catch (e) {
          fail(null, e);
          continue;
        }
        if (!('method' in msg)) continue; // a response from the miner: nothing asked it anything
        const req = msg;
        Promise.resolve()
          .then(() => this.dispatch(session, req))
          .then((result) => send({ id: req.id, result, error: null }))
          .catch((e) => fail(req.id, e));
      }
    });
  }

  private async dispatch(session: StratumSession, req: StratumRequest): Promise<unknown> {
    const p = req.params;
    switch (req.method) {
      case 'mining.subscribe': {
        session.subscribed = true;
        const sub = hex32(session.id);
        const wasReady = session.workers.size > 0;
        if (wasReady) queueMicrotask(() => this.handler.onReady?.(session));
        return [[['mining.set_difficulty', sub], ['mining.notify', sub]], session.extranonce1, session.extranonce2Size];
      }
      case 'mining.configure': {
        // BIP 310: [extensions, {"version-rolling.mask": hex, ...}].
        const [extensions, opts] = p as [unknown, Record<string, unknown> | undefined];
        const result: Record<string, unknown> = {};
        if (Array.isArray(extensions) && extensions.includes('version-rolling')) {
          const asked = Number.parseInt(String(opts?.['version-rolling.mask'] ?? 'ffffffff'), 16) >>> 0;
          session.versionMask = (asked & (this.options.versionRollingMask ?? 0x1fffe000)) >>> 0;
          result['version-rolling'] = true;
          result['version-rolling.mask'] = hex32(session.versionMask);
        }
        return result;
      }
      case 'mining.authorize': {
        const [worker, password] = p;
        if (typeof worker !== 'string' || worker.length === 0 || worker.length > 128) {
          throw new StratumError(StratumCode.UNAUTHORIZED, 'worker name: expected a string');
        }
        const account = await this.handler.authorize(session, worker, typeof password === 'string' ? password : '');
        const first = session.workers.size === 0;
        session.workers.set(worker, account);
        if (first && session.subscribed) queueMicrotask(() => this.handler.onReady?.(session));
        return true;
      }
      case 'mining.suggest_difficulty': {
        const d = Number(p[0]);
        if (!Number.isFinite(d) || d <= 0) throw new StratumError(StratumCode.OTHER, 'difficulty: expected a number > 0');
        session.suggestedDifficulty = d;
        return true;
      }
      case 'mining.extranonce.subscribe':
        return false;
      case 'mining.submit': {
        if (!session.subscribed) throw new StratumError(StratumCode.NOT_SUBSCRIBED, 'not subscribed');
        const [worker, jobId, extranonce2, ntime, nonce, versionBits] = p;
        if (typeof worker !== 'string' || !session.workers.has(worker)) throw new StratumError(StratumCode.UNAUTHORIZED, 'unauthorized worker');
        if (typeof jobId !== 'string') throw new StratumError(StratumCode.JOB_NOT_FOUND, 'job not found');
        return this.handler.submit(session, {
          worker,
          jobId,
          extranonce2: extranonce2 as string,
          ntime: ntime as string,
          nonce: nonce as string,
          ...(versionBits !== undefined ? { versionBits: versionBits as string } : {}),
        });
      }
      default:
        throw new StratumError(StratumCode.OTHER, `unknown method ${JSON.stringify(req.method).slice(0, 60)}`);
    }
  }
}
