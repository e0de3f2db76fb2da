/**
 * Stratum V1 client: connects to any pool (or a hashgrid center), subscribes,
 * authorizes, negotiates version rolling, follows jobs and difficulty, and
 * submits shares.
 */
import { EventEmitter } from 'node:events';
import { connect, type Socket } from 'node:net';
import { ErrorCode, HashgridError } from '../core/errors.js';
import { parseNotify, type StratumJob } from './job.js';
import { LineSplitter, parseLine, StratumCode, StratumError, type StratumResponse } from './protocol.js';

export interface StratumClientOptions {
  host: string;
  port: number;
  /** Reply wait per request (default 10 s). */
  timeoutMs?: number;
}

interface Events {
  notify: [StratumJob];
  difficulty: [number];
  reconnect: [{ host?: string; port?: number }];
  /** The pool broke the protocol badly enough that the connection was dropped (an over-long line). */
  protocolError: [StratumError];
  close: [];
}

export class StratumClient extends EventEmitter<Events> {
  extranonce1 = '';
  extranonce2Size = 0;
  versionMask = 0;
  difficulty = 1;
  job: StratumJob | undefined;
  /** Why the client dropped the connection itself, if it did. */
  closedBy: StratumError | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();

  private constructor(
    private readonly socket: Socket,
    private readonly timeoutMs: number,
  ) {
    super();
    const splitter = new LineSplitter();
    socket.setEncoding('utf8');
    socket.setNoDelay(true);
    socket.on('data', (chunk: string) => {
      let lines: string[];
      try {
        lines = splitter.push(chunk);
      } catch (e) {
        // A throw here would be an uncaught exception in a socket callback and take the whole
        // process (the scheduler with it) down: a hostile pool only gets its connection closed.
        this.closedBy = e instanceof StratumError ? e : new StratumError(StratumCode.OTHER, String(e));
        socket.destroy();
        this.emit('protocolError', this.closedBy);
        return;
      }
      for (const line of lines) this.onLine(line);
    });
    socket.on('close', () => {
      const why = this.closedBy ? `connection closed: ${this.closedBy.message}` : 'connection closed';
      for (const p of this.pending.values()) {
        clearTimeout(p.timer);
        p.reject(new HashgridError(ErrorCode.STRATUM, why));
      }
      this.pending.clear();
      this.emit('close');
    });
    socket.on('error', () => {});
  }

  static connect(options: StratumClientOptions): Promise<StratumClient> {
    return new Promise((resolve, reject) => {
      const socket = connect(options.port, options.host);
      socket.once('connect', () => resolve(new StratumClient(socket, options.timeoutMs ?? 10_000)));
      socket.once('error', (e) => reject(new HashgridError(ErrorCode.STRATUM, `cannot connect to ${options.host}:${options.port}: ${e.message}`)));
    });
  }

  async subscribe(agent = 'hashgrid/0.1.0'): Promise<void> {
    const r = (await this.call('mining.subscribe', [agent])) as [unknown, string, number];
    this.extranonce1 = r[1];
    this.extranonce2Size = r[2];
  }

  async configureVersionRolling(mask = 0x1fffe000): Promise<number> {
    const r = (await this.call('mining.configure', [['version-rolling'], { 'version-rolling.mask': mask.toString(16).padStart(8, '0'), 'version-rolling.min-bit-count': 2 }])) as Record<string, unknown>;
    this.versionMask = r['version-rolling'] ? Number.parseInt(String(r['version-rolling.mask']), 16) >>> 0 : 0;
    return this.versionMask;
  }

  async authorize(worker: string, password = ''): Promise<boolean> {
    return (await this.call('mining.authorize', [worker, password])) === true;
  }

  suggestDifficulty(difficulty: number): Promise<unknown> {
    return this.call('mining.suggest_difficulty', [difficulty]);
  }

  /** Resolves true when accepted; rejects with a StratumError carrying the pool's code. */
  async submit(worker: string, jobId: string, extranonce2: string, ntime: string, nonce: string, versionBits?: string): Promise<boolean> {
    const params = [worker, jobId, extranonce2, ntime, nonce, ...(versionBits ? [versionBits] : [])];
    return (await this.call('mining.submit', params)) === true;
  }

  /** Sends a raw line (tests use it to misbehave). */
  sendRaw(line: string): void {
    this.socket.write(line);
  }

  close(): void {
    this.socket.end();
  }

  call(method: string, params: unknown[]): Promise<unknown> {
    const id = this.nextId++;
    if (this.socket.destroyed) return Promise.reject(new HashgridError(ErrorCode.STRATUM, `${method}: connection closed${this.closedBy ? `: ${this.closedBy.message}` : ''}`));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new HashgridError(ErrorCode.BUS_TIMEOUT, `${method}: no reply within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.socket.write(`${JSON.stringify({ id, method, params })}\n`);
    });
  }

  private onLine(line: string): void {
    let msg;
    try {
      msg = parseLine(line);
    } catch {
      return; // a broken pool line: ignore it, keep the connection
    }
    if ('method' in msg) {
      if (msg.method === 'mining.notify') {
        try {
          this.job = parseNotify(msg.params);
          this.emit('notify', this.job);
        } catch {
          /* a malformed job is ignored; the next one replaces it */
        }
      } else if (msg.method === 'mining.set_difficulty') {
        const d = Number(msg.params[0]);
        if (Number.isFinite(d) && d > 0) {
          this.difficulty = d;
          this.emit('difficulty', d);
        }
      } else if (msg.method === 'client.reconnect') {
        this.emit('reconnect', { host: msg.params[0] as string, port: Number(msg.params[1]) || undefined });
      }
      return;
    }
    const res = msg as StratumResponse;
    const pending = typeof res.id === 'number' ? this.pending.get(res.id) : undefined;
    if (!pending) return;
    this.pending.delete(res.id as number);
    clearTimeout(pending.timer);
    if (res.error) pending.reject(new StratumError(res.error[0] as StratumCode, String(res.error[1])));
    else pending.resolve(res.result);
  }
}
