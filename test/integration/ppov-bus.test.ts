/**
 * The PPoV runtime on a real nats-server (src/ppov/runtime.ts): four nodes on
 * separate connections agree on 20 block groups, their LMDB stores reopen to
 * the same chain, and bad input on every PPoV subject gets a typed error
 * reply and changes nothing.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, describe, expect, it } from 'vitest';
import { connectBus } from '../../src/bus/connect.js';
import { request } from '../../src/bus/rpc.js';
import { PpovAccepted, PpovBlock, PpovGroups, PpovStatus, PpovStatusRequest, PpovSubmit, PpovSubmitted, PpovSyncRequest, SCHEMA_VERSION } from '../../src/bus/schemas.js';
import { subjects } from '../../src/bus/subjects.js';
import { isHashgridError } from '../../src/core/errors.js';
import { replay } from '../../src/ppov/chain.js';
import { signHex } from '../../src/ppov/crypto.js';
import { revealFor } from '../../src/ppov/draw.js';
import { blockHash, encodeTxs, referenceTxHasher, txMerkleRoot } from '../../src/ppov/encode.js';
import { makeConsortium } from '../../src/ppov/genesis.js';
import { wasmTxHasher } from '../../src/ppov/hasher.js';
import { encodeGov, GOV_MAGIC, signGov } from '../../src/ppov/governance.js';
import { PpovNode, PpovTransport } from '../../src/ppov/runtime.js';
import { PpovStore } from '../../src/ppov/store.js';
import type { Block } from '../../src/ppov/types.js';
import { startServer, stopAll, tempDir, waitFor } from '../helpers/nats.js';

const v = SCHEMA_VERSION;
const enc = (x: unknown) => new TextEncoder().encode(typeof x === 'string' ? x : JSON.stringify(x));
const timing = { blockDeadlineMs: 400, viewTimeoutMs: 800, rebroadcastMs: 100 };
const conns: NatsConnection[] = [];
const running: PpovNode[] = [];
const transports: PpovTransport[] = [];

async function startNode(url: string, c: ReturnType<typeof makeConsortium>, i: number, dir: string) {
  const nc = await connectBus({ servers: url });
  conns.push(nc);
  const transport = new PpovTransport(nc, c.genesis.chainId);
  transports.push(transport);
  const node = PpovNode.start({ transport, genesis: c.genesis, identity: c.identities[i]!, hasher: wasmTxHasher(), store: PpovStore.open(dir) });
  running.push(node);
  // Its subscriptions reach the server before the test talks to it (a request sooner finds no responder).
  await nc.flush();
  return node;
}

afterAll(async () => {
  for (const n of running) await n.stop();
  for (const t of transports) await t.close();
  for (const nc of conns) await nc.close();
  await stopAll();
});

describe('PPoV on the bus', () => {
  it('4 nodes on separate connections store the same 20 block groups; stores reopen to the same verified chain', async () => {
    const server = await startServer();
    const c = makeConsortium({ chainId: 'itest', ids: ['a', 'b', 'c', 'd'], revealChainLength: 500, maxTxPerBlock: 50, timing });
    const dirs = c.identities.map(() => tempDir('hashgrid-ppov-'));
    const nodes = await Promise.all(c.identities.map((_, i) => startNode(server.url, c, i, dirs[i]!)));
    // Transactions through the submit subject, to two of the nodes.
    const client = await connectBus({ servers: server.url });
    conns.push(client);
    const txs = Array.from({ length: 120 }, (_, i) => Buffer.from(`tx-${i}`).toString('base64'));
    const sub = subjects.ppov('itest');
    const ack = await request(client, sub.submit('a'), PpovSubmit, { v, txs: txs.slice(0, 60) }, PpovSubmitted, 'PpovSubmit');
    expect(ack.accepted).toBe(60);
    await request(client, sub.submit('c'), PpovSubmit, { v, txs: txs.slice(60) }, PpovSubmitted, 'PpovSubmit');
    await waitFor(() => nodes.every((n) => n.height >= 20), 30_000, '20 heights on every node');
    for (const n of nodes) await n.stop();
    const chains = nodes.map((n) => n.machine.groups.slice(0, 20).map((g) => g.header.groupId));
    for (const chain of chains) expect(chain).toEqual(chains[0]);
    // Every submitted transaction is in the chain, once.
    const carried = nodes[0]!.machine.groups.flatMap((g) => g.blocks.map((b) => b.txCount)).reduce((s, x) => s + x, 0);
    expect(carried).toBe(120);
    // Each store reopens to a chain that replays from the genesis.
    for (const [i, dir] of dirs.entries()) {
      const store = PpovStore.open(dir);
      const loaded = store.load();
      await store.close();
      expect(loaded.groups.length).toBe(nodes[i]!.height);
      expect(replay(c.genesis, loaded.groups, referenceTxHasher).tipId).toBe(nodes[i]!.machine.state.tipId);
    }
  });

  describe('bad input on every PPoV subject', () => {
    // One node of a 4-member chain, alone: it cannot reach a quorum, so its state only changes by what we send.
    let client: NatsConnection;
    let node: PpovNode;
    const c = makeConsortium({ chainId: 'fuzz', ids: ['a', 'b', 'c', 'd'], revealChainLength: 100, maxTxPerBlock: 10, timing: { ...timing, viewTimeoutMs: 60_000 } });
    const sub = subjects.ppov('fuzz');
    const status = () => request(client, sub.status('a'), PpovStatusRequest, { v }, PpovStatus, 'status');
    /** A block by member `i` for height 1, valid unless `spoil` changes it (`resign`: then signed by its bookkeeper). */
    const block = (i: number, spoil: (b: Block) => Block = (b) => b, resign = false): Block => {
      const m = c.identities[i]!;
      const txs = [new TextEncoder().encode(`x${i}`)];
      const body = { height: 1, prevId: node.machine.state.tipId, bookkeeper: m.id, merkleRoot: txMerkleRoot(txs, referenceTxHasher), timestamp: 1, reveal: revealFor(m.revealSecret, 100, 1), txCount: 1 };
      const b = spoil({ ...body, txs: encodeTxs(txs), sig: signHex(m, Buffer.from(blockHash(body), 'hex')) });
      return resign ? { ...b, sig: signHex(m, Buffer.from(blockHash({ ...b }), 'hex')) } : b;
    };
    const ask = async (subject: string, data: Uint8Array): Promise<string> => {
      const reply = JSON.parse(new TextDecoder().decode((await client.request(subject, data, { timeout: 2000 })).data));
      return reply.error?.code ?? 'OK';
    };

    it('typed error replies for malformed messages on each subject, and for messages that break a ledger rule; the state does not change', async () => {
      const server = await startServer();
      client = await connectBus({ servers: server.url });
      conns.push(client);
      const dir = tempDir('hashgrid-ppov-');
      node = await startNode(server.url, c, 0, dir);
      await waitFor(async () => (await status()).height === 0, 5000, 'node up');
      const before = await status();

      const every = [sub.block, sub.vote, sub.timeout, sub.header, sub.sync('a'), sub.groups('a'), sub.submit('a'), sub.status('a')];
      for (const subject of every) {
        expect(await ask(subject, enc('not json {')), subject).toBe('BAD_MESSAGE');
        expect(await ask(subject, enc([1, 2])), subject).toBe('BAD_MESSAGE');
        expect(await ask(subject, enc({ v: 2 })), subject).toBe('UNSUPPORTED_VERSION');
        if (subject !== sub.status('a')) expect(await ask(subject, enc({ v })), subject).toBe('INVALID_MESSAGE');
      }
      // Schema: a field of the wrong shape is named.
      const wrongShape = await client.request(sub.block, enc({ v, block: { ...block(1), merkleRoot: 'zz' } }));
      expect(JSON.parse(new TextDecoder().decode(wrongShape.data)).error.message).toMatch(/block\.merkleRoot/);
      // Strict base64: base64url's letters, a space, padding mid-string and a cut-off quartet are all refused by the schema.
      for (const txs of ['QUJ-', 'QUJ_', 'QU D', 'QQ==QUJD', 'QUJ']) {
        const reply = JSON.parse(new TextDecoder().decode((await client.request(sub.block, enc({ v, block: { ...block(1), txs } }))).data));
        expect(reply.error, txs).toMatchObject({ code: 'INVALID_MESSAGE', message: expect.stringMatching(/block\.txs: base64/) });
      }
      // Ledger rules, each its typed code (src/ppov/chain.ts).
      const rule = (b: Block) => ask(sub.block, enc({ v, block: b }));
      expect(await rule(block(1, (b) => ({ ...b, sig: b.sig.replace(/^./, b.sig[0] === '0' ? '1' : '0') })))).toBe('PPOV_BAD_SIGNATURE');
      expect(await rule(block(1, (b) => ({ ...b, bookkeeper: 'mallory' })))).toBe('PPOV_NOT_A_MEMBER');
      expect(await rule(block(1, (b) => ({ ...b, prevId: 'ab'.repeat(32) }), true))).toBe('PPOV_BAD_BLOCK');
      expect(await rule(block(1, (b) => ({ ...b, txCount: 11 }), true))).toBe('PPOV_BAD_BLOCK');
      expect(await rule(block(1, (b) => ({ ...b, merkleRoot: '00'.repeat(32) }), true))).toBe('PPOV_BAD_BLOCK');
      const forged = { height: 1, prevId: node.machine.state.tipId, voter: 'b', entries: c.genesis.bookkeepers.map((k) => ({ bookkeeper: k, block: '', approve: false })), sig: '00'.repeat(64) };
      expect(await ask(sub.vote, enc({ v, vote: forged }))).toBe('PPOV_BAD_SIGNATURE');
      expect(await ask(sub.vote, enc({ v, vote: { ...forged, entries: forged.entries.slice(1) } }))).toBe('PPOV_BAD_VOTE');
      expect(await ask(sub.timeout, enc({ v, timeout: { height: 1, view: 0, voter: 'b', sig: '00'.repeat(64) } }))).toBe('PPOV_BAD_SIGNATURE');
      const header = { height: 1, view: 0, prevId: node.machine.state.tipId, leader: 'a', results: [], seed: '00'.repeat(32), nextLeader: 'a', nextBookkeepers: [], groupId: '00'.repeat(32), votes: [], tc: [], sig: '00'.repeat(64) };
      expect(await ask(sub.header, enc({ v, header }))).toMatch(/^PPOV_BAD_(HEADER|SIGNATURE)$/);
      expect(await ask(sub.groups('a'), enc({ v, groups: [{ header, blocks: [] }] }))).toMatch(/^PPOV_BAD_(HEADER|SIGNATURE)$/);
      expect(await ask(sub.sync('a'), enc({ v, from: 'b', height: 0 }))).toBe('INVALID_MESSAGE');

      // Rejections are counted once the step's store transaction committed (evidence is written in it).
      const rejections = (st: PpovStatus) => Object.values(st.rejected).reduce((s, x) => s + x, 0);
      await waitFor(async () => rejections(await status()) === 10, 5000, 'ten rejections counted');
      const after = await status();
      expect({ ...after, rejected: {}, evidence: 0 }).toEqual({ ...before, rejected: {}, evidence: 0 });
      // Of all these, only the block its bookkeeper signed with a wrong Merkle root proves misbehaviour.
      expect(before.evidence).toBe(0);
      expect(after.evidence).toBe(1);

      // Governance submissions are checked on the way in: a bad one is refused whole, with its rule, and nothing joins the pool.
      const gov = (t: Parameters<typeof signGov>[1], at = { chain: 'fuzz', term: 0 }, by = 1) => Buffer.from(encodeGov(signGov(c.identities[by]!, t, at))).toString('base64');
      const pending = (await status()).pending;
      expect(await ask(sub.submit('a'), enc({ v, txs: [gov({ action: 'demote', subject: 'c' }, { chain: 'fuzz', term: 7 })] }))).toBe('PPOV_BAD_GOVERNANCE');
      expect(await ask(sub.submit('a'), enc({ v, txs: [Buffer.from('app tx').toString('base64'), gov({ action: 'demote', subject: 'c' }, { chain: 'other', term: 0 })] }))).toBe('PPOV_BAD_GOVERNANCE');
      const honest = JSON.parse(Buffer.from(gov({ action: 'demote', subject: 'c' }), 'base64').subarray(GOV_MAGIC.length).toString());
      expect(await ask(sub.submit('a'), enc({ v, txs: [Buffer.from(`${GOV_MAGIC}${JSON.stringify({ ...honest, voter: 'd' })}`).toString('base64')] }))).toBe('PPOV_BAD_SIGNATURE');
      expect(await ask(sub.submit('a'), enc({ v, txs: [Buffer.from(`${GOV_MAGIC}{not json`).toString('base64')] }))).toBe('PPOV_BAD_GOVERNANCE');
      expect((await status()).pending).toBe(pending);
      expect(await ask(sub.submit('a'), enc({ v, txs: [gov({ action: 'demote', subject: 'c' })] }))).toBe('OK');
      expect((await status()).pending).toBe(pending + 1);

      // A valid block is taken (no error) and the node is still answering.
      expect(await request(client, sub.block, PpovBlock, { v, block: block(1) }, PpovAccepted, 'PpovBlock')).toEqual({ v, accepted: true });
      expect((await request(client, sub.sync('a'), PpovSyncRequest, { v, from: 'b', height: 1 }, PpovGroups, 'sync')).groups).toEqual([]);
      try {
        await request(client, sub.block, PpovBlock, { v, block: block(2, (b) => ({ ...b, reveal: '11'.repeat(32) }), true) }, PpovAccepted, 'PpovBlock');
        expect.unreachable();
      } catch (e) {
        expect(isHashgridError(e) && e.code).toBe('PPOV_BAD_BLOCK');
      }
      // The signed bad reveal is evidence too, and evidence is stored: it outlives a restart.
      await waitFor(async () => (await status()).evidence === 2, 5000, 'the second piece of evidence stored');
      await node.stop();
      node = await startNode(server.url, c, 0, dir);
      await waitFor(async () => (await status()).height === 0, 5000, 'node up again');
      expect((await status()).evidence).toBe(2);
    });
  });
});
