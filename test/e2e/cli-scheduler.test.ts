/**
 * `hashgrid scheduler` as a process: killed with SIGKILL and restarted, it
 * resumes from its KV state and the center's accounting neither repeats nor
 * loses a share.
 */
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, describe, expect, it } from 'vitest';
import { connectBus } from '../../src/bus/connect.js';
import { streams } from '../../src/bus/subjects.js';
import { PACKAGE_ROOT } from '../../src/engine/paths.js';
import { NodeAgent } from '../../src/node/agent.js';
import { unreachableStandards } from '../helpers/center.js';
import { startServer, stopAll, tempDir, waitFor } from '../helpers/nats.js';

const BIN = join(PACKAGE_ROOT, 'bin', 'hashgrid.js');
afterAll(() => stopAll());

function scheduler(nats: string, plan: string, ...extra: string[]) {
  const child = spawn(process.execPath, [BIN, 'scheduler', '--nats', nats, '--plan', plan, ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  let out = '';
  child.stderr.on('data', (d) => (err += d));
  child.stdout.on('data', (d) => (out += d));
  return { child, err: () => err, out: () => out, exited: new Promise((r) => child.on('exit', r)) };
}

describe('hashgrid scheduler', () => {
  it('resumes after SIGKILL without repeating or losing accounting', async () => {
    // Standards out of reach: the work never stops.
    const { server, nc, accounts, center, close } = await unreachableStandards();
    const nodeConn = await connectBus({ servers: server.url });
    const agent = await NodeAgent.start({ nc: nodeConn, nodeId: 'n1', threads: 1, calibrateMs: 200, heartbeatMs: 250 });
    const planFile = join(tempDir(), 'plan.json');
    writeFileSync(planFile, JSON.stringify({ name: 'resume', subAccounts: accounts.map((a) => ({ center: 'main', id: a.id, password: a.password })), decisionMs: 250, sliceMs: 1000 }));

    const first = scheduler(server.url, planFile);
    await waitFor(() => center.stats.accepted >= 20, 30_000, '20 accepted shares');
    first.child.kill('SIGKILL');
    await first.exited;
    const atKill = center.stats.accepted;
    // The node keeps hashing its last assignment: those shares wait in the stream.
    await new Promise((r) => setTimeout(r, 1500));

    const second = scheduler(server.url, planFile);
    await waitFor(() => /resumed plan resume/.test(second.err()), 15_000, 'resumed from KV');
    await waitFor(() => center.stats.accepted >= atKill + 20, 30_000, 'accounting continues');
    await agent.stop();
    await nodeConn.close();

    // Let the scheduler forward everything, then compare with the stream.
    const jsm = await jetstreamManager(nc);
    let last = '';
    await waitFor(async () => {
      const c = await jsm.consumers.info(streams.shares.name, 'scheduler-resume');
      last = `pending ${c.num_pending}, awaiting ack ${c.num_ack_pending}, redelivered ${c.num_redelivered}`;
      return c.num_pending === 0 && c.num_ack_pending === 0;
    }, 30_000, 'every share forwarded').catch((e: Error) => {
      throw new Error(`${e.message} (${last}); scheduler log:\n${second.err().slice(-2000)}`);
    });
    const stored = (await jsm.streams.info(streams.shares.name)).state.messages;
    const { duplicate = 0, ...otherRejections } = center.stats.rejected;
    const rejected = Object.values(otherRejections).reduce((a, b) => a + b, 0);
    // Each distinct share the nodes stored is accounted exactly once: accepted or rejected for a reason.
    expect(center.stats.accepted + rejected).toBe(stored);
    expect(accounts.reduce((s, a) => s + center.info(a.id).acceptedShares, 0)).toBe(center.stats.accepted);
    expect(duplicate).toBeGreaterThanOrEqual(0);

    second.child.kill('SIGTERM');
    await second.exited;
    await close();
  });

  it('refuses a bad plan with exit code 2 before connecting anywhere', () => {
    const file = join(tempDir(), 'bad.json');
    writeFileSync(file, JSON.stringify({ mode: 'sideways', subAccounts: [{ center: 'main', id: 'a', password: 'password1' }] }));
    const r = spawnSync(process.execPath, [BIN, 'scheduler', '--nats', 'nats://127.0.0.1:1', '--plan', file], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toMatch(/^hashgrid scheduler: --plan: .*bad\.json:1: mode: Invalid option/);
    const yamlFile = join(tempDir(), 'bad.yaml');
    writeFileSync(yamlFile, 'name: y\nsubAccounts:\n  - center: main\n    id: a\n    password: short\n');
    const y = spawnSync(process.execPath, [BIN, 'scheduler', '--nats', 'nats://127.0.0.1:1', '--plan', yamlFile], { encoding: 'utf8' });
    expect(y.status).toBe(2);
    expect(y.stderr.trim()).toMatch(/^hashgrid scheduler: --plan: .*bad\.yaml:5: subAccounts\.0\.password/);
    const m = spawnSync(process.execPath, [BIN, 'scheduler', '--nats', 'nats://127.0.0.1:1', '--plan', yamlFile, '--mode', 'sideways'], { encoding: 'utf8' });
    expect(m.status).toBe(2);
    expect(m.stderr.trim()).toBe('hashgrid scheduler: --mode: expected "sequential" or "parallel", got "sideways"');
    const good = join(tempDir(), 'good.yaml');
    writeFileSync(good, 'name: y\nsubAccounts:\n  - center: main\n    id: a\n    password: password1\n');
    const rep = spawnSync(process.execPath, [BIN, 'scheduler', '--nats', 'nats://127.0.0.1:1', '--plan', good, '--replicas', '0'], { encoding: 'utf8' });
    expect(rep.status).toBe(2);
    expect(rep.stderr.trim()).toBe('hashgrid scheduler: --replicas: expected an integer from 1 to 5, got "0"');
    for (const bad of ['0', '4294967297', '16k']) {
      const e2 = spawnSync(process.execPath, [BIN, 'scheduler', '--nats', 'nats://127.0.0.1:1', '--plan', good, '--extranonce2-range', bad], { encoding: 'utf8' });
      expect(e2.status).toBe(2);
      expect(e2.stderr.trim()).toBe(`hashgrid scheduler: --extranonce2-range: expected an integer from 1 to 4294967296, got "${bad}"`);
    }
  });

  it('runs a YAML plan, with --mode overriding the plan file', async () => {
    const server = await startServer();
    const file = join(tempDir(), 'plan.yaml');
    writeFileSync(file, 'name: yaml-mode\nmode: parallel\nsubAccounts:\n  - center: nowhere\n    id: alice\n    password: alice-secret\n');
    const s = scheduler(server.url, file, '--mode', 'sequential');
    await waitFor(() => /scheduler plan yaml-mode \(sequential\)/.test(s.out()), 15_000, 'the scheduler started in sequential mode');
    const status = spawnSync(process.execPath, [BIN, 'scheduler', 'status', '--nats', server.url, '--plan-name', 'yaml-mode', '--json'], { encoding: 'utf8' });
    expect(JSON.parse(status.stdout).mode).toBe('sequential');
    s.child.kill('SIGTERM');
    await s.exited;
  });
});
