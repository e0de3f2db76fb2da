/**
 * What a center restores on restart, from JetStream: the totals, the
 * delivered-hashrate windows (from the shares' own timestamps), the
 * up-to-standard answer, sub-accounts added or changed over the bus, and
 * shares stored one per message before group commit.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectBus } from '../../src/bus/connect.js';
import { encode } from '../../src/bus/codec.js';
import { request } from '../../src/bus/rpc.js';
import { AcceptedShare, Authenticate, Authenticated, SCHEMA_VERSION, SubAccountAdd, SubAccountReply, SubAccountSetStandard } from '../../src/bus/schemas.js';
import { subjects } from '../../src/bus/subjects.js';
import { BuiltinChain } from '../../src/center/chain.js';
import { DistributionCenter } from '../../src/center/center.js';
import { deliverShares } from '../helpers/center.js';
import { startServer, stopAll, waitFor } from '../helpers/nats.js';

const CID = 'restart';
const s = subjects.center(CID);
const DIFFICULTY = 2 ** -20;

describe('a center restart', () => {
  let nc: NatsConnection;
  let chain: BuiltinChain;
  const centers: DistributionCenter[] = [];

  const start = async () => {
    const c = await DistributionCenter.start({
      centerId: CID,
      nc,
      source: chain,
      initialDifficulty: DIFFICULTY,
      subAccounts: [{ id: 'alice', password: 'alice-secret', standard: 100, windowSeconds: 60 }],
    });
    centers.push(c);
    return c;
  };

  const deliver = async (account: string, password: string, n: number) => {
    const { acks } = await deliverShares(nc, CID, account, password, n);
    expect(acks.every((a) => a.accepted)).toBe(true);
  };

  beforeAll(async () => {
    const server = await startServer();
    nc = await connectBus({ servers: server.url });
    chain = new BuiltinChain({ difficulty: 1, refreshMs: 0 });
  });

  afterAll(async () => {
    for (const c of centers) await c.close();
    chain?.close();
    await nc?.close();
    await stopAll();
  });

  it('restores windows, the standard decision, bus-made sub-accounts and old single-share records', async () => {
    const first = await start();
    await deliver('alice', 'alice-secret', 10);
    await request(nc, s.add, SubAccountAdd, { v: SCHEMA_VERSION, id: 'dave', password: 'dave-secret', standard: 1e9, windowSeconds: 600 }, SubAccountReply, 'add');
    await deliver('dave', 'dave-secret', 3);
    await request(nc, s.setStandard, SubAccountSetStandard, { v: SCHEMA_VERSION, id: 'alice', standard: 50, windowSeconds: 120 }, SubAccountReply, 'set');
    // The decision is taken on the center's one-second tick, not per share.
    await waitFor(() => first.info('alice').upToStandard, 5000, 'alice up to standard');
    const before = first.info('alice');
    expect(before.delivered['1m']!.shares).toBe(10);
    await first.close();

    // A record in the format written before group commit: one share per message.
    const old = { v: SCHEMA_VERSION, centerId: CID, subAccount: 'alice', difficulty: DIFFICULTY, at: Date.now(), jobId: '1' } as const;
    await jetstream(nc).publish(s.accepted, encode(AcceptedShare, old));

    const second = await start();
    const after = second.info('alice');
    expect(after.acceptedShares).toBe(11);
    expect(after.accumulatedHashes).toBe(11 * DIFFICULTY * 2 ** 32);
    // The windows count the replayed shares, from their own timestamps.
    for (const w of ['1m', '10m', '1h', '24h']) expect(after.delivered[w]!.shares, w).toBe(11);
    expect(after.delivered['1m']!.hashrate).toBeGreaterThan(0);
    // The history reaches back to the center's first start (the stream's creation), not the restart.
    expect(after.delivered['1m']!.seconds).toBeGreaterThan(before.delivered['1m']!.seconds - 0.5);
    // Up to standard at once, not only after new shares.
    expect(after.upToStandard).toBe(true);
    // The bus-made change and the bus-added sub-account, with its shares and its password.
    expect(after).toMatchObject({ standard: 50, windowSeconds: 120 });
    expect(second.info('dave')).toMatchObject({ standard: 1e9, windowSeconds: 600, acceptedShares: 3 });
    expect(second.unknownReplayed).toBe(0);
    await expect(request(nc, s.authenticate, Authenticate, { v: SCHEMA_VERSION, subAccount: 'dave', password: 'dave-secret' }, Authenticated, 'Authenticate')).resolves.toMatchObject({ subAccount: 'dave' });
    await expect(request(nc, s.authenticate, Authenticate, { v: SCHEMA_VERSION, subAccount: 'dave', password: 'wrong-secret' }, Authenticated, 'Authenticate')).rejects.toMatchObject({ code: 'STRATUM' });
    await second.close();
  });
});
