/**
 * Embedded nats-server: the Debian binary, started on a free loopback port
 * with its config and JetStream data in a state folder, stopped on exit.
 *
 * The server runs under a small sh wrapper whose watchdog reads our stdin:
 * if this process dies in any way (even SIGKILL), the pipe closes, `read`
 * returns, and the watchdog stops the server. No orphan servers.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, join } from 'node:path';
import { ErrorCode, HashgridError } from '../core/errors.js';

/** Server options; every default is documented here. */
export interface NatsServerOptions {
  /** Folder for the config, pid file and JetStream store (created if missing). */
  stateDir: string;
  /** server_name, unique within a cluster (default `hashgrid-0`). */
  name?: string;
  /** Listen address (default 127.0.0.1: the grid is private unless you say otherwise). */
  host?: string;
  /** Client port (default: a free port). */
  port?: number;
  /** Enable JetStream (default true). */
  jetstream?: boolean;
  /** Join a cluster: its name, this server's route port (default free), and the other servers' route URLs. */
  cluster?: { name: string; port?: number; routes: string[] };
  /** An `authorization { ... }` block (see auth.ts); default none. */
  authorization?: string;
  /** Receives the server's log lines (default: dropped). */
  log?: (line: string) => void;
  /** How long to wait for "Server is ready" (default 15 s). */
  readyTimeoutMs?: number;
  /** The binary (default: $HASHGRID_NATS_SERVER, else nats-server on PATH or in /usr/sbin). */
  binary?: string;
}

export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, host, () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

export function findNatsServer(explicit?: string): string {
  const candidates = explicit
    ? [explicit]
    : process.env.HASHGRID_NATS_SERVER
      ? [process.env.HASHGRID_NATS_SERVER]
      : [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/bin', '/usr/local/bin'].map((d) => join(d, 'nats-server'));
  const found = candidates.find((c) => c && existsSync(c));
  if (!found) {
    throw new HashgridError(ErrorCode.NATS_SERVER, 'nats-server not found: install the Debian package (scripts/setup.sh does) or set HASHGRID_NATS_SERVER', {
      searched: candidates.slice(0, 8).join(delimiter),
    });
  }
  return found;
}

const quote = (s: string) => JSON.stringify(s);

export class NatsServer {
  private exited: Promise<number | null>;
  private constructor(
    private readonly child: ChildProcess,
    readonly name: string,
    readonly host: string,
    readonly port: number,
    readonly clusterPort: number | undefined,
    readonly stateDir: string,
  ) {
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    const cleanup = () => this.killNow();
    process.once('exit', cleanup);
    child.once('exit', () => process.off('exit', cleanup));
  }

  /** Client URL, e.g. nats://127.0.0.1:4222. */
  get url(): string {
    return `nats://${this.host}:${this.port}`;
  }

  /** Route URL for other cluster members, if clustered. */
  get routeUrl(): string | undefined {
    return this.clusterPort === undefined ? undefined : `nats-route://${this.host}:${this.clusterPort}`;
  }

  /** The nats-server process id (from its pid file). */
  get pid(): number | undefined {
    try {
      return Number(readFileSync(join(this.stateDir, 'nats.pid'), 'utf8').trim()) || undefined;
    } catch {
      return undefined;
    }
  }

  static async start(options: NatsServerOptions): Promise<NatsServer> {
    const binary = findNatsServer(options.binary);
    const host = options.host ?? '127.0.0.1';
    const name = options.name ?? 'hashgrid-0';
    const port = options.port ?? (await freePort(host));
    const clusterPort = options.cluster ? (options.cluster.port ?? (await freePort(host))) : undefined;
    mkdirSync(options.stateDir, { recursive: true });
    const config = [
      `server_name: ${quote(name)}`,
      `host: ${quote(host)}`,
      `port: ${port}`,
      `pid_file: ${quote(join(options.stateDir, 'nats.pid'))}`,
      options.jetstream === false ? '' : `jetstream { store_dir: ${quote(join(options.stateDir, 'jetstream'))} }`,
      options.cluster
        ? `cluster { name: ${quote(options.cluster.name)}, listen: ${quote(`${host}:${clusterPort}`)}, routes: [${options.cluster.routes.map(quote).join(', ')}] }`
        : '',
      options.authorization ?? '',
    ]
      .filter(Boolean)
      .join('\n');
    const configPath = join(options.stateDir, 'nats-server.conf');
    writeFileSync(configPath, `${config}\n`, { mode: 0o600 });

    // The wrapper: run the server; a watchdog stops it when our stdin closes
    // (we exited or died); the wrapper exits with the server.
    const script = [
      // Background jobs get /dev/null as stdin unless redirected: keep ours on fd 3.
      'exec 3<&0',
      '"$0" -c "$1" </dev/null & pid=$!',
      "trap 'kill -TERM $pid 2>/dev/null' TERM INT HUP",
      '( read _ <&3 ; kill -TERM $pid 2>/dev/null ) & watch=$!',
      'wait $pid; code=$?',
      'kill $watch 2>/dev/null',
      'exit $code',
    ].join('\n');
    const child = spawn('/bin/sh', ['-c', script, binary, configPath], { stdio: ['pipe', 'ignore', 'pipe'] });
    const server = new NatsServer(child, name, host, port, clusterPort, options.stateDir);
    const log = options.log ?? (() => {});
    let buffered = '';
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new HashgridError(ErrorCode.NATS_SERVER, `nats-server ${name} was not ready within ${options.readyTimeoutMs ?? 15000} ms`)),
        options.readyTimeoutMs ?? 15_000,
      );
      child.stderr!.setEncoding('utf8');
      child.stderr!.on('data', (chunk: string) => {
        buffered += chunk;
        const lines = buffered.split('\n');
        buffered = lines.pop()!;
        for (const line of lines) {
          log(line);
          if (line.includes('Server is ready')) {
            clearTimeout(timer);
            resolve();
          }
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new HashgridError(ErrorCode.NATS_SERVER, `nats-server ${name} exited with code ${code} before it was ready (see its log)`, { code }));
      });
    });
    try {
      await ready;
    } catch (e) {
      server.killNow();
      throw e;
    }
    return server;
  }

  /** Stops the server gracefully (closing the wrapper's stdin), then waits for it. */
  async stop(timeoutMs = 5000): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.stdin?.end();
    const timer = setTimeout(() => this.killNow(), timeoutMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** Kills the server process with `signal` (SIGKILL simulates a crash). */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const pid = this.pid;
    if (pid) {
      try {
        process.kill(pid, signal);
      } catch {
        /* already gone */
      }
    }
    await this.exited;
  }

  private killNow(): void {
    const pid = this.pid;
    try {
      if (pid) process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
    this.child.kill('SIGKILL');
  }
}
