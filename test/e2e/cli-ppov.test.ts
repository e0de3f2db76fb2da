/**
 * `hashgrid ppov` as an operator runs it: four ledger node processes on a
 * real nats-server agree on 20 block groups; one is SIGKILLed mid-round,
 * the others carry on, and the restarted process catches up from its LMDB
 * store and its peers. `hashgrid ppov model` prints the model and writes an
 * SVG; bad flags exit 2 naming the flag.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, describe, expect, it } from 'vitest';
import { connectBus } from '../../src/bus/connect.js';
import { request } from '../../src/bus/rpc.js';
import { PpovGroups, PpovStatus, PpovStatusRequest, PpovSyncRequest, SCHEMA_VERSION } from '../../src/bus/schemas.js';
import { subjects } from '../../src/bus/subjects.js';
import { PACKAGE_ROOT } from '../../src/engine/paths.js';
import { startServer, stopAll, tempDir, waitFor } from '../helpers/nats.js';

const BIN = join(PACKAGE_ROOT, 'bin', 'hashgrid.js');
const v = SCHEMA_VERSION;
const children: ChildProcess[] = [];

function start(args: string[]) {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, out: () => out };
}

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await stopAll();
});

describe('hashgrid ppov', () => {
  it('4 node processes, 20 identical block groups; a SIGKILLed node restarts and catches up', async () => {
    const server = await startServer();
    const dir = tempDir('hashgrid-ppov-e2e-');
    const ids = ['a', 'b', 'c', 'd'];
    const init = spawnSync(process.execPath, [BIN, 'ppov', 'init', '--dir', dir, '--ids', ids.join(','), '--chain-id', 'e2e', '--k', '100', '--reveals', '2000', '--min-round-ms', '50', '--block-deadline-ms', '300', '--view-timeout-ms', '600'], { encoding: 'utf8' });
    expect(init.status, init.stderr).toBe(0);
    expect(init.stdout).toMatch(/^genesis +.*genesis\.json \(chain e2e, 4 members, quorum majority, K 100\)$/m);
    const node = (id: string) => start(['ppov', 'node', '--nats', server.url, '--genesis', join(dir, 'genesis.json'), '--key', join(dir, `${id}.key`), '--state-dir', join(dir, `state-${id}`)]);
    const nodes = ids.map(node);
    const nc: NatsConnection = await connectBus({ servers: server.url });
    const sub = subjects.ppov('e2e');
    const height = async (id: string) => {
      try {
        return (await request(nc, sub.status(id), PpovStatusRequest, { v }, PpovStatus, 'status', 1000)).height;
      } catch {
        return -1;
      }
    };
    const heights = () => Promise.all(ids.map(height));
    await waitFor(async () => Math.min(...(await heights())) >= 5, 30_000, 'every node at height 5');

    // SIGKILL node c mid-round; the other three (> 1/2 of 4) carry on without it.
    nodes[2]!.child.kill('SIGKILL');
    await nodes[2]!.exited;
    const atKill = Math.max(...(await heights()));
    await waitFor(async () => (await height('a')) >= atKill + 3, 30_000, 'three nodes carry on without c');
    // Restart c on its own state: it reopens its store and catches up from its peers.
    nodes[2] = node('c');
    await waitFor(async () => Math.min(...(await heights())) >= 20, 60_000, 'every node at height 20, c caught up');
    expect(nodes[2]!.out()).toMatch(/^ppov +c on chain e2e at height (\d+)/m);
    expect(Number(/at height (\d+)/.exec(nodes[2]!.out())![1])).toBeGreaterThanOrEqual(5); // it restarted from its store, not from scratch

    // The same 20 groups on all four (fetched from each node over its sync subject).
    const chainOf = async (id: string) => {
      const ids: string[] = [];
      while (ids.length < 20) {
        const r = await request(nc, sub.sync(id), PpovSyncRequest, { v, from: 'test', height: ids.length + 1 }, PpovGroups, 'sync', 5000, 1 << 20);
        ids.push(...r.groups.map((g) => g.header.groupId));
      }
      return ids.slice(0, 20);
    };
    const chains = await Promise.all(ids.map(chainOf));
    for (const chain of chains) expect(chain).toEqual(chains[0]);

    for (const n of nodes) n.child.kill('SIGTERM');
    for (const n of nodes) expect(await n.exited).toBe(0);
    await nc.close();
  });

  it('record: exits with an error instead of hanging when no ledger node answers', async () => {
    const server = await startServer();
    const r = spawnSync(process.execPath, [BIN, 'ppov', 'record', '--nats', server.url, '--chain', 'nowhere', '--nodes', 'ghost', '--center', 'main'], { encoding: 'utf8', timeout: 20_000 });
    expect(r.signal, 'still running after 20 s').toBeNull();
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/ghost|no responders|NO_RESPONDERS/i);
  });

  it('model: prints round time and throughput, writes an SVG; bad flags exit 2 naming the flag', () => {
    const dir = tempDir('hashgrid-ppov-model-');
    const svg = join(dir, 'fig7.svg');
    const r = spawnSync(process.execPath, [BIN, 'ppov', 'model', '--n', '3,8', '--band', '1', '--svg', svg], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^ +3 +1\.000 +[\d.]+ +[\d.]+ +0\.1[0-9]+ +[\d,]+$/m);
    expect(existsSync(svg) && readFileSync(svg, 'utf8').startsWith('<svg')).toBe(true);
    const json = JSON.parse(spawnSync(process.execPath, [BIN, 'ppov', 'model', '--n', '4', '--json', '--svg', ''], { encoding: 'utf8' }).stdout);
    expect(json.rows[0].n).toBe(4);
    expect(json.rows[0].throughput).toBeGreaterThan(0);
    for (const [flag, args] of [
      ['--band', ['ppov', 'model', '--band', 'fast']],
      ['--n', ['ppov', 'model', '--n', '1']],
      ['--sizes', ['ppov', 'model', '--sizes', 'Q=3']],
      ['--bogus', ['ppov', 'model', '--bogus']],
      ['--nats', ['ppov', 'node', '--genesis', 'x']],
      ['--ids', ['ppov', 'init', '--dir', dir, '--ids', 'a,a']],
      ['--chain', ['ppov', 'accounts', '--nats', 'nats://127.0.0.1:1', '--nodes', 'a']],
      ['--nodes', ['ppov', 'accounts', '--nats', 'nats://127.0.0.1:1', '--chain', 'local', '--nodes', 'a b']],
      ['--center', ['ppov', 'record', '--nats', 'nats://127.0.0.1:1', '--chain', 'local', '--nodes', 'a']],
      ['--center', ['ppov', 'record', '--nats', 'nats://127.0.0.1:1', '--chain', 'local', '--nodes', 'a', '--center', 'x.y']],
    ] as const) {
      const bad = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
      expect(bad.status, args.join(' ')).toBe(2);
      expect(bad.stderr.trim().split('\n')).toHaveLength(1);
      expect(bad.stderr).toContain(flag);
    }
  });
});
