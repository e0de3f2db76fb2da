/**
 * `hashgrid dashboard` as an operator runs it against a grid that is
 * already running: it prints its token and URL, shows the node that
 * registered before it started and the center's sub-accounts, and stops on
 * SIGTERM. Bad flags exit with status 2.
 */
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, describe, expect, it } from 'vitest';
import { connectBus } from '../../src/bus/connect.js';
import { demoSubAccounts, startCenter, type CenterStack } from '../../src/cli/center.js';
import type { Snapshot } from '../../src/dashboard/view.js';
import { PACKAGE_ROOT } from '../../src/engine/paths.js';
import { NodeAgent } from '../../src/node/agent.js';
import { NodePool } from '../../src/node/pool.js';
import { startServer, stopAll, tempDir, waitFor } from '../helpers/nats.js';

const BIN = join(PACKAGE_ROOT, 'bin', 'hashgrid.js');

describe('hashgrid dashboard', () => {
  let nc: NatsConnection | undefined;
  let center: CenterStack | undefined;
  let agent: NodeAgent | undefined;
  let pool: NodePool | undefined;

  afterAll(async () => {
    await agent?.stop();
    pool?.stop();
    await center?.stop();
    await nc?.close();
    await stopAll();
  });

  it('joins a running grid, shows a node that registered before it, and stops on SIGTERM', async () => {
    const server = await startServer();
    nc = await connectBus({ servers: server.url });
    pool = new NodePool(nc);
    center = await startCenter({ nc, subAccounts: demoSubAccounts(), stratumPort: 0 });
    agent = await NodeAgent.start({ nc, nodeId: 'early-node', threads: 1, calibrateMs: 0 });
    await waitFor(() => pool!.get('early-node') !== undefined, 10_000, 'the node to register');

    const tokenFile = join(tempDir(), 'token');
    writeFileSync(tokenFile, 'a-token-from-a-file\n', { mode: 0o600 });
    const child = spawn(process.execPath, [BIN, 'dashboard', '--nats', server.url, '--port', '0', '--token-file', tokenFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    try {
      await waitFor(() => /^dashboard +http/m.test(out), 20_000, 'the URL');
      expect(out).not.toMatch(/token/); // given in a file: not printed
      const url = /^dashboard +(\S+)$/m.exec(out)![1]!;
      await waitFor(
        async () => {
          const s = (await (await fetch(`${url}api/snapshot`)).json()) as Snapshot;
          return s.nodes.some((n) => n.id === 'early-node') && s.accounts.length === 3;
        },
        15_000,
        'the early node and three sub-accounts on the dashboard',
      );
      const auth = await fetch(`${url}api/auth`, { headers: { authorization: 'Bearer a-token-from-a-file' } });
      expect(auth.status).toBe(204);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });

  it('rejects bad flags with exit code 2', () => {
    const cases: [string[], RegExp][] = [
      [['dashboard'], /--nats: required/],
      [['dashboard', '--nats', 'nats://127.0.0.1:1', '--port', '70000'], /--port: expected an integer from 0 to 65535/],
      [['dashboard', '--nats', 'nats://127.0.0.1:1', '--center', 'a.b'], /--center: expected letters/],
      [['dashboard', '--nats', 'nats://127.0.0.1:1', '--token-file', '/nonexistent/token'], /--token-file: cannot read/],
    ];
    for (const [args, message] of cases) {
      const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toMatch(message);
    }
  });
});
