/**
 * Accounting on the ledger, on a real nats-server: a distribution center
 * accepts real shares, the recorder writes them and the up-to-standard
 * decisions into PPoV transactions, and the chain's accounts equal the
 * center's. A recorder stopped and started again resumes where the chain
 * ends; a record submitted twice counts once; a malformed one counts nothing.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectBus } from '../../src/bus/connect.js';
import { request } from '../../src/bus/rpc.js';
import { PpovSubmit, PpovSubmitted, SCHEMA_VERSION, StandardQuery, SubAccountReply } from '../../src/bus/schemas.js';
import { subjects } from '../../src/bus/subjects.js';
import { DistributionCenter } from '../../src/center/center.js';
import { BuiltinChain } from '../../src/center/chain.js';
import { ACCOUNTING_MAGIC, encodeAccounting, LedgerRecorder, readAccounts } from '../../src/ppov/accounting.js';
import { LOCAL_IDS, startLocalConsortium, type LocalConsortium } from '../../src/ppov/local.js';
import { deliverShares } from '../helpers/center.js';
import { startServer, stopAll, tempDir, waitFor } from '../helpers/nats.js';

const DIFFICULTY = 2 ** -20;
const s = subjects.center('acct');
const v = SCHEMA_VERSION;

describe('accounting on the PPoV ledger', () => {
  let nc: NatsConnection;
  let chain: BuiltinChain;
  let center: DistributionCenter;
  let ledger: LocalConsortium;
  const recorders: LedgerRecorder[] = [];

  beforeAll(async () => {
    const server = await startServer();
    nc = await connectBus({ servers: server.url });
    ledger = startLocalConsortium({ nc, stateDir: tempDir('hashgrid-accounting-') });
    chain = new BuiltinChain({ difficulty: 1, refreshMs: 0 });
    center = await DistributionCenter.start({
      centerId: 'acct',
      nc,
      source: chain,
      initialDifficulty: DIFFICULTY,
      subAccounts: [
        { id: 'alice', password: 'alice-secret', standard: 1, windowSeconds: 60 },
        { id: 'bob', password: 'bob-secret-1', standard: 1e12, windowSeconds: 60 },
      ],
    });
  });

  afterAll(async () => {
    for (const r of recorders) await r.stop();
    await center?.close();
    chain?.close();
    await ledger?.stop();
    await nc?.close();
    await stopAll();
  });

  const recorder = async () => {
    const r = await LedgerRecorder.start({ nc, chain: ledger.chainId, nodes: LOCAL_IDS, centerId: 'acct', intervalMs: 100, resubmitMs: 3000 });
    recorders.push(r);
    return r;
  };

  /** Mines `count` real shares for a sub-account (a new session each time) and has the center accept them. */
  const shares = async (subAccount: string, password: string, count: number) => {
    const { acks } = await deliverShares(nc, 'acct', subAccount, password, count);
    expect(acks.every((ack) => ack.accepted)).toBe(true);
  };

  const centerTotal = async (subAccount: string) =>
    (await request(nc, s.standard, StandardQuery, { v, subAccount }, SubAccountReply, 'StandardQuery')).info;

  const submitRaw = (tx: Uint8Array) => request(nc, subjects.ppov(ledger.chainId).submit(LOCAL_IDS[1]!), PpovSubmit, { v, txs: [Buffer.from(tx).toString('base64')] }, PpovSubmitted, 'PpovSubmitted');

  it('writes every accepted share and the up-to-standard decision into the chain; the chain equals the center', async () => {
    const r = await recorder();
    await shares('alice', 'alice-secret', 6);
    await shares('bob', 'bob-secret-1', 3);
    await waitFor(() => r.accounts.centers.acct?.accounts.alice?.shares === 6 && r.accounts.centers.acct?.accounts.bob?.shares === 3, 30_000, 'nine shares on the chain');
    await waitFor(() => r.accounts.standards.some((e) => e.subAccount === 'alice' && e.upToStandard), 30_000, "alice's decision on the chain");

    // Any member reads the same accounts from the chain alone, and they are the center's.
    const read = await readAccounts(nc, ledger.chainId, [LOCAL_IDS[3]!]);
    for (const id of ['alice', 'bob']) {
      const info = await centerTotal(id);
      expect(read.centers.acct!.accounts[id]).toEqual({ shares: info.acceptedShares, difficulty: info.acceptedShares * DIFFICULTY });
      expect(read.centers.acct!.accounts[id]!.difficulty * 2 ** 32).toBe(info.accumulatedHashes);
    }
    expect(Object.values(read.centers.acct!.nextSeq)).toEqual([10]);
    expect(read.centers.acct!.gaps).toBe(0);
    expect(read.duplicates).toBe(0);
  });

  it('resumes after a restart where the chain ends, and counts a repeated or malformed record never', async () => {
    await recorders.shift()!.stop();
    // Accepted while no recorder runs: the stream holds them until one does.
    await shares('alice', 'alice-secret', 4);
    const again = await recorder();
    await waitFor(() => again.accounts.centers.acct?.accounts.alice?.shares === 10 && again.idle, 30_000, 'the four shares after the restart');
    const read0 = () => again.accounts;

    // A retry of shares already on the chain, and a malformed accounting transaction.
    const stream = Object.keys(read0().centers.acct!.nextSeq)[0]!;
    await submitRaw(encodeAccounting({ v, kind: 'work', centerId: 'acct', stream, shares: [[1, 'alice', 1, DIFFICULTY], [2, 'alice', 1, DIFFICULTY]] }));
    await submitRaw(new TextEncoder().encode(`${ACCOUNTING_MAGIC}{"v":1,"kind":"work","centerId":"acct","shares":[[999,"mallory",1,-1]]}`));
    await waitFor(async () => {
      const read = await readAccounts(nc, ledger.chainId, [LOCAL_IDS[0]!]);
      return read.duplicates >= 2 && read.invalid >= 1;
    }, 30_000, 'the retry and the malformed record on the chain');
    const read = await readAccounts(nc, ledger.chainId, [LOCAL_IDS[2]!]);
    expect(read.centers.acct!.accounts.alice!.shares).toBe((await centerTotal('alice')).acceptedShares);
    expect(read.centers.acct!.accounts.alice!.shares).toBe(10);
    expect(read.centers.acct!.accounts.mallory).toBeUndefined();
    expect(Object.values(read.centers.acct!.nextSeq)).toEqual([14]);
  });
});
