/**
 * A hostile Stratum peer: random and malformed lines, an over-long line, a
 * flood of garbage, slow-loris peers that never finish a line (before or
 * after subscribing), more connections than the cap. The server
 * answers errors, closes the abusive connections, and an honest miner on the
 * same server keeps getting its shares accepted throughout.
 */
import fc from 'fast-check';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashToBigInt, sha256d } from '../../src/core/sha256d.js';
import { difficultyToTarget } from '../../src/core/target.js';
import { BuiltinChain } from '../../src/center/chain.js';
import { DistributionCenter } from '../../src/center/center.js';
import { StratumClient } from '../../src/stratum/client.js';
import { buildHeader, hex32, type StratumJob } from '../../src/stratum/job.js';
import { StratumServer } from '../../src/stratum/server.js';
import { waitFor } from '../helpers/nats.js';

const DIFFICULTY = 2 ** -20;

describe('Stratum server under abuse', () => {
  let chain: BuiltinChain;
  let center: DistributionCenter;
  let server: StratumServer;
  let port: number;
  let honest: StratumClient;
  let job: StratumJob;
  let en2 = 0;

  /** One valid share from the honest miner, found with the reference. */
  async function honestShare(): Promise<boolean> {
    const target = difficultyToTarget(DIFFICULTY);
    const e2 = hex32(en2++);
    for (let n = 0; ; n++) {
      if (hashToBigInt(sha256d(buildHeader(job, { extranonce1: honest.extranonce1, extranonce2: e2, ntime: job.ntime, nonce: hex32(n) }))) <= target) {
        return honest.submit('alice.honest', job.jobId, e2, job.ntime, hex32(n));
      }
    }
  }

  const raw = (to = port) =>
    new Promise<{ socket: Socket; received: () => string; closed: Promise<void> }>((resolve) => {
      const socket = connect(to, '127.0.0.1', () => resolve({ socket, received: () => data, closed }));
      let data = '';
      socket.setEncoding('utf8');
      socket.on('data', (d) => (data += d));
      socket.on('error', () => {});
      const closed = new Promise<void>((r) => socket.on('close', () => r()));
    });

  beforeAll(async () => {
    chain = new BuiltinChain({ difficulty: 1, refreshMs: 0 });
    center = await DistributionCenter.start({ source: chain, initialDifficulty: DIFFICULTY, subAccounts: [{ id: 'alice', password: 'alice-secret', standard: 1 }] });
    server = new StratumServer(center, { allocateExtranonce1: center.allocateExtranonce1, handshakeTimeoutMs: 1000, lineTimeoutMs: 2500, maxErrors: 10 });
    ({ port } = await server.listen());
    honest = await StratumClient.connect({ host: '127.0.0.1', port });
    await honest.subscribe();
    const notified = new Promise<StratumJob>((r) => honest.once('notify', r));
    await honest.authorize('alice.honest', 'alice-secret');
    job = await notified;
  });

  afterAll(async () => {
    honest?.close();
    await server?.close();
    await center?.close();
    chain?.close();
  });

  it('answers random and malformed lines with error 20 and stays up', async () => {
    const peer = await raw();
    await peer.socket.write('{"id":1,"method":"mining.subscribe","params":[]}\n');
    const lines = fc.sample(
      fc.oneof(
        fc.string({ maxLength: 200 }).filter((s) => !s.includes('\n')),
        fc.jsonValue().map((j) => JSON.stringify(j)),
        fc.record({ id: fc.integer(), method: fc.constantFrom('mining.submit', 'mining.authorize', 'nope'), params: fc.array(fc.jsonValue(), { maxLength: 6 }) }).map((r) => JSON.stringify(r)),
      ),
      8,
    );
    for (const l of lines) peer.socket.write(`${l}\n`);
    await waitFor(() => peer.received().split('\n').filter((l) => l.includes('"error":[')).length >= 1, 5000, 'error replies');
    for (const line of peer.received().trim().split('\n')) {
      const msg = JSON.parse(line);
      if (msg.error) expect([20, 21, 24, 25]).toContain(msg.error[0]);
    }
    expect(await honestShare()).toBe(true);
    peer.socket.destroy();
  });

  it('closes a connection that sends an over-long line', async () => {
    const peer = await raw();
    peer.socket.write('x'.repeat(40_000));
    await peer.closed;
    expect(await honestShare()).toBe(true);
  });

  it('closes a connection that floods malformed requests', async () => {
    const peer = await raw();
    for (let i = 0; i < 50; i++) peer.socket.write('{"broken\n');
    await peer.closed;
    expect(peer.received()).toMatch(/too many malformed requests/);
    expect(await honestShare()).toBe(true);
  });

  it('closes a slow-loris that never completes its handshake', async () => {
    const peer = await raw();
    peer.socket.write('{"id":1,"meth'); // and never more
    const t0 = Date.now();
    await peer.closed;
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(peer.received()).toMatch(/no mining.subscribe in time/);
    expect(await honestShare()).toBe(true);
  });

  it('closes a slow-loris that subscribed and then trickles a line that never ends', async () => {
    const peer = await raw();
    peer.socket.write('{"id":1,"method":"mining.subscribe","params":[]}\n');
    await waitFor(() => peer.received().includes('"result":[['), 5000, 'the subscription');
    // One byte every 100 ms: the idle timer (10 min) never fires, only the line deadline can.
    const trickle = setInterval(() => peer.socket.write('x'), 100);
    try {
      const t0 = Date.now();
      await peer.closed;
      expect(Date.now() - t0).toBeLessThan(6000);
      expect(peer.received()).toMatch(/line not completed in time/);
    } finally {
      clearInterval(trickle);
    }
    expect(await honestShare()).toBe(true);
  });

  it('keeps a connection whose lines arrive in pieces but end in time', async () => {
    const peer = await raw();
    for (const piece of ['{"id":1,"method":"mining.sub', 'scribe","params":[]}\n{"id":2,', '"method":"mining.suggest_difficulty",', '"params":[1]}\n']) {
      peer.socket.write(piece);
      await new Promise((r) => setTimeout(r, 800));
    }
    await waitFor(() => peer.received().includes('"id":2,"result":true'), 5000, 'both replies');
    expect(peer.socket.destroyed).toBe(false);
    peer.socket.destroy();
  });

  it('refuses connections over the cap with a clear message, and takes new ones once below it', async () => {
    const capped = new StratumServer(center, { allocateExtranonce1: center.allocateExtranonce1, maxConnections: 2 });
    const { port: cappedPort } = await capped.listen();
    try {
      const first = await raw(cappedPort);
      const second = await raw(cappedPort);
      await waitFor(() => capped.sessions().length === 2, 5000, 'two sessions');
      const third = await raw(cappedPort);
      await third.closed;
      expect(third.received()).toMatch(/closing: server full \(2 connections\)/);
      expect(capped.refused).toBe(1);
      // The two admitted connections still work.
      first.socket.write('{"id":1,"method":"mining.subscribe","params":[]}\n');
      await waitFor(() => first.received().includes('"result":[['), 5000, 'a subscription under the cap');
      second.socket.destroy();
      await waitFor(() => capped.sessions().length === 1, 5000, 'one session left');
      const fourth = await raw(cappedPort);
      fourth.socket.write('{"id":1,"method":"mining.subscribe","params":[]}\n');
      await waitFor(() => fourth.received().includes('"result":[['), 5000, 'a subscription after a slot freed');
      first.socket.destroy();
      fourth.socket.destroy();
    } finally {
      await capped.close();
    }
  });

  it('keeps serving many connections at once', async () => {
    const peers = await Promise.all(Array.from({ length: 50 }, () => raw()));
    for (const p of peers) p.socket.write('{"id":1,"method":"mining.subscribe","params":[]}\n');
    await waitFor(() => peers.every((p) => p.received().includes('"result":[[')), 10_000, '50 subscriptions');
    const extranonces = new Set(peers.map((p) => JSON.parse(p.received().split('\n')[0]!).result[1]));
    expect(extranonces.size).toBe(50);
    for (const p of peers) p.socket.destroy();
    expect(await honestShare()).toBe(true);
  });
});
