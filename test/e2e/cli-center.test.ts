/**
 * `hashgrid center` as a process: accepted shares, their hashrate windows and
 * the up-to-standard answer survive SIGKILL, and bad
 * sub-account files are refused with exit code 2.
 */
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { jetstreamManager } from '@nats-io/jetstream';
import { connectBus } from '../../src/bus/connect.js';
import { request } from '../../src/bus/rpc.js';
import { SCHEMA_VERSION, StandardQuery, SubAccountList, SubAccountListRequest, SubAccountReply } from '../../src/bus/schemas.js';
import { subjects } from '../../src/bus/subjects.js';
import { hashToBigInt, sha256d } from '../../src/core/sha256d.js';
import { difficultyToTarget } from '../../src/core/target.js';
import { PACKAGE_ROOT } from '../../src/engine/paths.js';
import { StratumClient } from '../../src/stratum/client.js';
import { buildHeader, hex32, type StratumJob } from '../../src/stratum/job.js';
import { startServer, stopAll, tempDir, waitFor } from '../helpers/nats.js';

const BIN = join(PACKAGE_ROOT, 'bin', 'hashgrid.js');
afterAll(() => stopAll());

function startCenter(nats: string, accounts: string, difficulty = 2 ** -20, extra: string[] = []) {
  const child = spawn(process.execPath, [BIN, 'center', '--nats', nats, '--accounts', accounts, '--stratum-port', '0', '--metrics-port', '0', '--initial-difficulty', String(difficulty), ...extra], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const port = new Promise<number>((resolve, reject) => {
    child.stdout.on('data', () => {
      const m = /stratum +stratum\+tcp:\/\/127\.0\.0\.1:(\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.on('exit', (code) => reject(new Error(`center exited with ${code}`)));
  });
  const metrics = new Promise<string>((resolve) => {
    child.stdout.on('data', () => {
      const m = /metrics +(http:\/\/\S+\/metrics)/.exec(out);
      if (m) resolve(m[1]!);
    });
  });
  return { child, port, metrics, exited: new Promise((r) => child.on('exit', r)) };
}

/** `count` (extranonce2, nonce) pairs meeting `target`, one per extranonce2, found with the reference. */
function findShares(job: StratumJob, extranonce1: string, target: bigint, count: number): [string, string][] {
  const found: [string, string][] = [];
  for (let en2 = 0; found.length < count; en2++) {
    for (let n = 0; ; n++) {
      if (hashToBigInt(sha256d(buildHeader(job, { extranonce1, extranonce2: hex32(en2), ntime: job.ntime, nonce: hex32(n) }))) <= target) {
        found.push([hex32(en2), hex32(n)]);
        break;
      }
    }
  }
  return found;
}

describe('hashgrid center', () => {
  it('keeps exactly the accepted shares across a SIGKILL and a restart', async () => {
    const server = await startServer();
    const accounts = join(tempDir(), 'accounts.json');
    writeFileSync(accounts, JSON.stringify([{ id: 'alice', password: 'alice-secret', standard: 100, windowSeconds: 60 }]));
    const first = startCenter(server.url, accounts);
    const client = await StratumClient.connect({ host: '127.0.0.1', port: await first.port });
    await client.subscribe();
    const job = new Promise<StratumJob>((resolve) => client.once('notify', resolve));
    await client.authorize('alice.rig', 'alice-secret');
    const j = await job;
    const target = difficultyToTarget(client.difficulty);

    // N shares, each acknowledged by the center only after JetStream stored it.
    const N = 12;
    for (const [e2, nonce] of findShares(j, client.extranonce1, target, N)) expect(await client.submit('alice.rig', j.jobId, e2, j.ntime, nonce)).toBe(true);
    // The up-to-standard answer before the kill (the center re-evaluates once a second).
    const nc = await connectBus({ servers: server.url });
    const query = () => request(nc, subjects.center('main').standard, StandardQuery, { v: SCHEMA_VERSION, subAccount: 'alice' }, SubAccountReply, 'standard');
    await waitFor(async () => (await query()).info.upToStandard, 10_000, 'alice up to standard');
    const before = (await query()).info;
    first.child.kill('SIGKILL');
    await first.exited;
    client.close();

    const second = startCenter(server.url, accounts);
    await second.port;
    const list = await request(nc, subjects.center('main').list, SubAccountListRequest, { v: SCHEMA_VERSION }, SubAccountList, 'list');
    const alice = list.subAccounts.find((a) => a.id === 'alice')!;
    expect(alice.acceptedShares).toBe(N);
    expect(alice.accumulatedHashes).toBe(N * client.difficulty * 2 ** 32);
    // The windows are rebuilt from the shares' own times, and the standard decision with them.
    expect(alice.delivered['1m']!.shares).toBe(N);
    expect(alice.delivered['1m']!.hashrate).toBeGreaterThan(0);
    expect(alice.delivered['1m']!.hashrate).toBeLessThanOrEqual(before.delivered['1m']!.hashrate * 1.01);
    expect(alice.upToStandard).toBe(true);
    await nc.close();
    second.child.kill('SIGTERM');
    await second.exited;
  });

  it('loses no acknowledged share when killed with batches in flight (group commit)', async () => {
    const server = await startServer();
    const accounts = join(tempDir(), 'accounts.json');
    writeFileSync(accounts, JSON.stringify([{ id: 'alice', password: 'alice-secret', standard: 100, windowSeconds: 60 }]));
    const first = startCenter(server.url, accounts, 2 ** -26);
    const client = await StratumClient.connect({ host: '127.0.0.1', port: await first.port, timeoutMs: 30_000 });
    await client.subscribe();
    const job = new Promise<StratumJob>((resolve) => client.once('notify', resolve));
    await client.authorize('alice.rig', 'alice-secret');
    const j = await job;
    const target = difficultyToTarget(client.difficulty);
    // Found beforehand, then sent all at once, so the center stores them several to a message.
    const SENT = 400;
    const found = findShares(j, client.extranonce1, target, SENT);
    let acked = 0;
    const killAt = SENT / 2;
    const killed = new Promise<number>((resolve) => {
      for (const [e2, nonce] of found) {
        client.submit('alice.rig', j.jobId, e2, j.ntime, nonce).then(
          () => {
            if (++acked === killAt) {
              // Killed with the rest in flight: what was acknowledged so far must all be stored.
              first.child.kill('SIGKILL');
              resolve(acked);
            }
          },
          () => {},
        );
      }
    });
    const ackedAtKill = await killed;
    await first.exited;
    client.close();

    const second = startCenter(server.url, accounts, 2 ** -26);
    await second.port;
    const nc = await connectBus({ servers: server.url });
    const list = await request(nc, subjects.center('main').list, SubAccountListRequest, { v: SCHEMA_VERSION }, SubAccountList, 'list');
    const stored = list.subAccounts.find((a) => a.id === 'alice')!.acceptedShares;
    expect(stored).toBeGreaterThanOrEqual(ackedAtKill);
    expect(stored).toBeLessThanOrEqual(SENT);
    // Group commit did group: fewer stream messages than shares.
    const messages = (await (await jetstreamManager(nc)).streams.info('CENTER_main')).state.messages;
    expect(messages).toBeLessThan(stored);
    await nc.close();
    second.child.kill('SIGTERM');
    await second.exited;
  });

  it('serves /metrics, where a malformed bus request moves the bad-message counter; refuses Stratum connections over --max-connections', async () => {
    const server = await startServer();
    const accounts = join(tempDir(), 'accounts.json');
    writeFileSync(accounts, JSON.stringify([{ id: 'alice', password: 'alice-secret', standard: 100, windowSeconds: 60 }]));
    const center = startCenter(server.url, accounts, 2 ** -20, ['--max-connections', '1']);
    const stratumPort = await center.port;
    const url = await center.metrics;
    const badAdds = async () => {
      const text = await (await fetch(url)).text();
      const line = text.split('\n').find((l) => l.startsWith('hashgrid_bus_errors_total{') && l.includes('subaccounts.add') && l.includes('code="BAD_MESSAGE"'));
      return line ? Number(line.split(' ').at(-1)) : 0;
    };
    expect(await badAdds()).toBe(0);
    const text = await (await fetch(url)).text();
    expect(text).toMatch(/hashgrid_center_shares_accepted\{role="center"\} 0/);
    expect(text).toMatch(/hashgrid_center_stratum_connections\{role="center"\} 0/);
    const nc = await connectBus({ servers: server.url });
    const reply = await nc.request(subjects.center('main').add, new TextEncoder().encode('{not json'), { timeout: 5000 });
    expect(JSON.parse(new TextDecoder().decode(reply.data)).error.code).toBe('BAD_MESSAGE');
    expect(await badAdds()).toBe(1);

    const miner = await StratumClient.connect({ host: '127.0.0.1', port: stratumPort });
    await miner.subscribe();
    expect(await (await fetch(url)).text()).toMatch(/hashgrid_center_stratum_connections\{role="center"\} 1/);
    const refused = await new Promise<string>((resolve) => {
      let got = '';
      const socket = connect(stratumPort, '127.0.0.1');
      socket.setEncoding('utf8');
      socket.on('data', (d) => (got += d));
      socket.on('error', () => {});
      socket.on('close', () => resolve(got));
    });
    expect(refused).toMatch(/closing: server full \(1 connections\)/);
    miner.close();
    await nc.close();
    center.child.kill('SIGTERM');
    await center.exited;
  });

  it('refuses a bad sub-accounts file with exit code 2 and one line', () => {
    const dir = tempDir();
    const cases: [string, string, RegExp][] = [
      ['not json', '{', /--accounts: cannot read .* as JSON/],
      ['not an array', '{}', /--accounts: expected a JSON array/],
      ['no password', '[{"id":"x","standard":1}]', /--accounts: sub-account x: expected password or passwordHash/],
      ['bad id', '[{"id":"a.b","password":"12345678","standard":1}]', /--accounts: sub-account id: letters, digits/],
      ['negative standard', '[{"id":"a","password":"12345678","standard":-1}]', /--accounts: sub-account standard/],
    ];
    for (const [name, text, message] of cases) {
      const file = join(dir, `${name.replace(/ /g, '-')}.json`);
      writeFileSync(file, text);
      const r = spawnSync(process.execPath, [BIN, 'center', '--nats', 'nats://127.0.0.1:1', '--accounts', file], { encoding: 'utf8' });
      expect(r.status, name).toBe(2);
      expect(r.stderr.trim().split('\n'), name).toHaveLength(1);
      expect(r.stderr, name).toMatch(message);
    }
    const accounts = join(dir, 'good.json');
    writeFileSync(accounts, '[{"id":"a","password":"12345678","standard":1}]');
    const rep = spawnSync(process.execPath, [BIN, 'center', '--nats', 'nats://127.0.0.1:1', '--accounts', accounts, '--replicas', 'three'], { encoding: 'utf8' });
    expect(rep.status).toBe(2);
    expect(rep.stderr.trim()).toBe('hashgrid center: --replicas: expected an integer from 1 to 5, got "three"');
  });
});
