/**
 * The PPoV store keeps blocks' transactions as bytes and gives back exactly
 * the blocks it was given; a store written when it kept base64 text loads
 * the same way.
 */
import { open } from 'lmdb';
import { describe, expect, it } from 'vitest';
import { encodeTxs } from '../../src/ppov/encode.js';
import { PpovStore } from '../../src/ppov/store.js';
import type { Block, BlockGroup, GroupHeader } from '../../src/ppov/types.js';
import { tempDir } from '../helpers/nats.js';

const block = (height: number, bookkeeper: string): Block => ({
  height,
  prevId: 'ab'.repeat(32),
  bookkeeper,
  merkleRoot: 'cd'.repeat(32),
  timestamp: 1_700_000_000_000 + height,
  reveal: 'ef'.repeat(32),
  txCount: 3,
  txs: encodeTxs([Uint8Array.of(1, 2, 3), new Uint8Array(0), new TextEncoder().encode(`${bookkeeper}@${height}`)]),
  sig: '01'.repeat(64),
});
const header = (height: number): GroupHeader => ({ height, view: 0, prevId: '00'.repeat(32), leader: 'a', results: [], seed: '11'.repeat(32), nextLeader: 'b', nextBookkeepers: ['a', 'b'], groupId: height.toString(16).padStart(64, '0'), votes: [], tc: [], sig: '22'.repeat(64) });

describe('PPoV store', () => {
  it('gives back the groups and own block it stored, transactions and all', async () => {
    const dir = tempDir('hashgrid-ppov-store-');
    const store = PpovStore.open(dir, { durable: false });
    const groups: BlockGroup[] = [1, 2].map((h) => ({ header: header(h), blocks: [block(h, 'a'), block(h, 'b')] }));
    for (const g of groups) await store.write([{ kind: 'stored', group: g }]);
    const own = block(3, 'a');
    await store.write([{ kind: 'proposed', block: own }]);
    await store.close();

    const loaded = PpovStore.open(dir, { durable: false });
    const back = loaded.load();
    expect(back.groups).toEqual(groups);
    expect(back.ownBlocks).toEqual([own]);
    await loaded.close();
  });

  it('loads a store that kept transactions as base64 text', async () => {
    const dir = tempDir('hashgrid-ppov-store-');
    const group: BlockGroup = { header: header(1), blocks: [block(1, 'a')] };
    const db = open({ path: dir, compression: false });
    await db.transaction(() => {
      db.put(['g', 1], group);
      db.put('tip', { height: 1, groupId: group.header.groupId });
      db.put(['b', 2], block(2, 'a'));
    });
    await db.close();

    const store = PpovStore.open(dir, { durable: false });
    const back = store.load();
    expect(back.groups).toEqual([group]);
    expect(back.ownBlocks).toEqual([block(2, 'a')]);
    await store.close();
  });
});
