/**
 * Real nats-server instances for tests, on free loopback ports, in temporary
 * state folders, stopped after each test file.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NatsServer, freePort, type NatsServerOptions } from '../../src/bus/server.js';

const started: NatsServer[] = [];
const dirs: string[] = [];

export function tempDir(prefix = 'hashgrid-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

export async function startServer(options: Partial<NatsServerOptions> = {}): Promise<NatsServer> {
  const server = await NatsServer.start({ stateDir: tempDir(), ...options });
  started.push(server);
  return server;
}

/** A cluster of `size` servers routed to each other, JetStream on all. */
export async function startCluster(size: number, options: Partial<NatsServerOptions> = {}): Promise<NatsServer[]> {
  const routePorts = await Promise.all(Array.from({ length: size }, () => freePort()));
  const routes = routePorts.map((p) => `nats-route://127.0.0.1:${p}`);
  return Promise.all(
    routePorts.map((port, i) =>
      startServer({ ...options, name: `hg-${i}`, cluster: { name: 'hashgrid-test', port, routes: routes.filter((_, j) => j !== i) } }),
    ),
  );
}

export async function stopAll(): Promise<void> {
  await Promise.all(started.splice(0).map((s) => s.stop()));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** Polls `condition` every 20 ms until it holds or `timeoutMs` passes. */
export async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
