/**
 * `hashgrid up` and `hashgrid node` as a user runs them: start, hash, stop
 * cleanly, leave no process behind.
 */
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { authorizationBlock, randomPassword } from '../../src/bus/auth.js';
import { PACKAGE_ROOT } from '../../src/engine/paths.js';
import { startServer, stopAll, tempDir, waitFor } from '../helpers/nats.js';

const BIN = join(PACKAGE_ROOT, 'bin', 'hashgrid.js');

/** Processes whose command line mentions `needle` (our children leave theirs in the state folder path). */
const processesMentioning = (needle: string) =>
  spawnSync('pgrep', ['-f', needle], { encoding: 'utf8' })
    .stdout.split('\n')
    .filter(Boolean);

function run(args: string[]) {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  return { child, exited, out: () => stdout, err: () => stderr };
}

afterAll(() => stopAll());

describe('hashgrid up', () => {
  it('starts a grid, hashes, validates shares, and stops by itself with --for', async () => {
    const state = tempDir('hashgrid-up-');
    const up = run(['up', '--state-dir', state, '--for', '8', '--threads', '1']);
    expect(await up.exited, up.err()).toBe(0);
    const out = up.out();
    expect(out).toMatch(/^nats +nats:\/\/127\.0\.0\.1:\d+ \(embedded, JetStream data in /m);
    expect(out).toMatch(/^metrics +http:\/\/127\.0\.0\.1:\d+\/metrics$/m);
    expect(out).toMatch(/^ledger +PPoV chain local: 4 nodes in this process, block groups in /m);
    expect(out).toMatch(/^node +\S+: wasm, calibrated [\d.]+ [kM]H\/s$/m);
    // The startup output ends with the dashboard's URL (the live lines follow it).
    const lines = out.split('\n');
    const first = lines.findIndex((l) => l.startsWith('hashrate'));
    expect(lines[first - 1]).toMatch(/^dashboard +http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(out).toMatch(/^operator +token \S{16,} /m);
    const last = out.trimEnd().split('\n').filter((l) => l.startsWith('hashrate')).at(-1)!;
    const [, accepted, rejected, stale] = /shares (\d+) accepted, (\d+) rejected(?: \((\d+) stale, \d+ blocks\))?$/.exec(last)!;
    expect(Number(accepted)).toBeGreaterThan(0);
    // Only shares a new block made stale may be rejected (the demo chain finds blocks): none invalid, duplicate or low.
    expect(Number(rejected)).toBe(Number(stale ?? 0));
    expect(out).toMatch(/^stratum +stratum\+tcp:\/\/127\.0\.0\.1:\d+/m);
    expect(out.match(/^account +\w+: standard .* password \S+$/gm)).toHaveLength(3);
    expect(out).toMatch(/^stopped$/m);
    expect(processesMentioning(state)).toEqual([]);
  });

  it('shows the scheduler status table while it runs', async () => {
    const state = tempDir('hashgrid-up-');
    const up = run(['up', '--state-dir', state, '--threads', '1']);
    await waitFor(() => /running; Ctrl-C stops everything/.test(up.out()), 30_000, 'the grid to start');
    const command = /see it with: node bin\/hashgrid\.js (scheduler status .*)$/m.exec(up.out())![1]!.split(' ');
    await waitFor(
      () => {
        const r = spawnSync(process.execPath, [BIN, ...command], { encoding: 'utf8' });
        return r.status === 0 && /main\/alice +(mining|up-to-standard)/.test(r.stdout) && /main\/carol/.test(r.stdout);
      },
      30_000,
      'a status table with the demo sub-accounts',
    );
    const r = spawnSync(process.execPath, [BIN, ...command, '--json'], { encoding: 'utf8' });
    const status = JSON.parse(r.stdout);
    expect(status.plan).toBe('default');
    expect(status.accounts.map((a: { key: string }) => a.key)).toEqual(['main/alice', 'main/bob', 'main/carol']);

    // The center's accepted work is on the ledger: `ppov accounts` reads it back from the chain.
    const accounts = /see them with: node bin\/hashgrid\.js (ppov accounts .*)$/m.exec(up.out())![1]!.split(' ');
    await waitFor(
      () => {
        const a = spawnSync(process.execPath, [BIN, ...accounts, '--json'], { encoding: 'utf8' });
        return a.status === 0 && Object.values(JSON.parse(a.stdout).centers.main?.accounts ?? {}).some((t) => (t as { shares: number }).shares > 0);
      },
      30_000,
      'accepted shares on the ledger',
    );
    const table = spawnSync(process.execPath, [BIN, ...accounts], { encoding: 'utf8' });
    expect(table.stdout).toMatch(/^ledger +chain local at height \d+: \d+ scheduler decisions, 0 duplicates, 0 malformed$/m);
    expect(table.stdout).toMatch(/^main +(alice|bob|carol) +[\d,]+ +[\d.]+e\+\d+ /m);
    up.child.kill('SIGINT');
    expect(await up.exited).toBe(0);
  });

  it('stops everything cleanly on Ctrl-C (SIGINT)', async () => {
    const state = tempDir('hashgrid-up-');
    const up = run(['up', '--state-dir', state, '--threads', '1']);
    await waitFor(() => /running; Ctrl-C stops everything/.test(up.out()), 30_000, 'the grid to start');
    expect(processesMentioning(state).length).toBeGreaterThan(0); // the embedded nats-server
    up.child.kill('SIGINT');
    expect(await up.exited).toBe(0);
    expect(up.out()).toMatch(/^stopped$/m);
    expect(processesMentioning(state)).toEqual([]);
  });

  it('takes the embedded server down with it when killed outright (SIGKILL)', async () => {
    const state = tempDir('hashgrid-up-');
    const up = run(['up', '--state-dir', state, '--threads', '1']);
    await waitFor(() => /running; Ctrl-C/.test(up.out()), 30_000, 'the grid to start');
    up.child.kill('SIGKILL');
    await up.exited;
    await waitFor(() => processesMentioning(state).length === 0, 5000, 'no process left');
  });
});

describe('hashgrid up --nats on a server with authentication', () => {
  it('connects with --user and --password-file, hashes and stops; without them it is refused', async () => {
    const admin = { user: 'grid-admin', password: randomPassword() };
    const server = await startServer({ authorization: authorizationBlock([{ credential: admin, role: 'service' }]) });
    const state = tempDir('hashgrid-up-auth-');
    const passwordFile = join(state, 'nats.password');
    writeFileSync(passwordFile, `${admin.password}\n`, { mode: 0o600 });

    const up = run(['up', '--nats', server.url, '--user', admin.user, '--password-file', passwordFile, '--state-dir', state, '--for', '8', '--threads', '1']);
    expect(await up.exited, up.err()).toBe(0);
    const out = up.out();
    expect(out).toMatch(new RegExp(`^nats +${server.url.replace(/[.]/g, '\\.')}$`, 'm'));
    const last = out.trimEnd().split('\n').filter((l) => l.startsWith('hashrate')).at(-1)!;
    expect(Number(/shares (\d+) accepted/.exec(last)![1])).toBeGreaterThan(0);
    // The status hint names the same credentials, and the password appears nowhere.
    expect(out).toMatch(new RegExp(`--user ${admin.user} --password-file ${passwordFile}`));
    expect(out + up.err()).not.toContain(admin.password);

    const refused = run(['up', '--nats', server.url, '--state-dir', state, '--for', '3', '--threads', '1']);
    expect(await refused.exited).not.toBe(0);
    expect(refused.err()).toMatch(/authoriz|authenticat/i);
  });

  it('rejects --user without --nats with exit code 2', () => {
    const r = spawnSync(process.execPath, [BIN, 'up', '--user', 'someone'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--user: only with --nats/);
  });
});

describe('hashgrid node', () => {
  it('joins an existing server and stops on SIGTERM', async () => {
    const server = await startServer();
    const node = run(['node', '--nats', server.url, '--id', 'e2e-node', '--threads', '1']);
    await waitFor(() => /connected to nats:\/\/127\.0\.0\.1:\d+; metrics at http/.test(node.err()), 30_000, 'node connected');
    await waitFor(() => /register: .*retrying/.test(node.err()), 30_000, 'registration retries (no pool is running)');
    node.child.kill('SIGTERM');
    expect(await node.exited).toBe(0);
    expect(node.err()).toMatch(/stopping/);
  });

  it('rejects a bad node id and a missing server with exit code 2', () => {
    const bad = spawnSync(process.execPath, [BIN, 'node', '--nats', 'nats://127.0.0.1:1', '--id', 'no spaces'], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/^hashgrid node: --id: expected letters, digits/);
    const missing = spawnSync(process.execPath, [BIN, 'node'], { encoding: 'utf8' });
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/--nats: required/);
  });
});
