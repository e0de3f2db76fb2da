/**
 * The dashboard confined to its own NATS user (the `dashboard` role of
 * src/bus/auth.ts, which docs/operations.md shows): on a real nats-server
 * with a center, a scheduler, a PPoV ledger and a node beside it, it sees
 * everything it shows without a single permission violation, and acts only
 * when its user has the actions.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorizationBlock, dashboardInboxPrefix, nodeInboxPrefix, randomPassword } from '../../src/bus/auth.js';
import { connectBus } from '../../src/bus/connect.js';
import { demoSubAccounts, startCenter } from '../../src/cli/center.js';
import { startDashboard, type Dashboard } from '../../src/dashboard/server.js';
import type { Snapshot } from '../../src/dashboard/view.js';
import { NodeAgent } from '../../src/node/agent.js';
import { NodePool } from '../../src/node/pool.js';
import { startLocalConsortium } from '../../src/ppov/local.js';
import { Scheduler } from '../../src/scheduler/scheduler.js';
import { startServer, stopAll, tempDir, waitFor } from '../helpers/nats.js';

const TOKEN = 'permissions-operator-token';
const service = { user: 'svc', password: randomPassword() };
const node = { user: 'node-p', password: randomPassword() };
const operator = { user: 'dash-operator', password: randomPassword() };
const wall = { user: 'dash-wall', password: randomPassword() };
const cleanups: (() => Promise<unknown> | unknown)[] = [];
const violations: string[] = [];
let agent: NodeAgent;
let ledgerNodes: string[];
let ledgerChain: string;
let url: string;

/** A dashboard on its own connection as `user`, with every permission error that connection gets recorded. */
async function dashboardAs(user: { user: string; password: string }): Promise<Dashboard> {
  const nc: NatsConnection = await connectBus({ servers: url, name: user.user, ...user, inboxPrefix: dashboardInboxPrefix(user.user) });
  cleanups.push(() => nc.close());
  void (async () => {
    for await (const s of nc.status()) if (s.type === 'error') violations.push(`${user.user}: ${String((s as { error?: unknown }).error)}`);
  })();
  const dashboard = await startDashboard({ nc, token: TOKEN, tickMs: 200, ledger: { chain: ledgerChain, nodes: ledgerNodes } });
  cleanups.push(() => dashboard.stop());
  return dashboard;
}

beforeAll(async () => {
  const server = await startServer({
    authorization: authorizationBlock([
      { credential: service, role: 'service' },
      { credential: node, role: 'node', nodeId: 'node-p' },
      { credential: operator, role: 'dashboard', actions: true },
      { credential: wall, role: 'dashboard' },
    ]),
  });
  url = server.url;
  const svc = await connectBus({ servers: url, ...service });
  cleanups.push(() => svc.close());
  const pool = new NodePool(svc);
  cleanups.push(() => pool.stop());
  const subAccounts = demoSubAccounts();
  const center = await startCenter({ nc: svc, subAccounts, stratumPort: 0, initialDifficulty: 2 ** -16 });
  cleanups.push(() => center.stop());
  const scheduler = await Scheduler.start({
    nc: svc,
    pool,
    plan: { name: 'default', subAccounts: subAccounts.map((a) => ({ center: 'main', id: a.id, password: a.password })), sliceMs: 6000 },
  });
  cleanups.push(() => scheduler.stop());
  const ledger = startLocalConsortium({ nc: svc, stateDir: tempDir() });
  cleanups.push(() => ledger.stop());
  ledgerChain = ledger.chainId;
  ledgerNodes = ledger.nodes.map((n) => n.id);
  const nodeConn = await connectBus({ servers: url, ...node, inboxPrefix: nodeInboxPrefix('node-p') });
  cleanups.push(() => nodeConn.close());
  agent = await NodeAgent.start({ nc: nodeConn, nodeId: 'node-p', threads: 1, calibrateMs: 0 });
  cleanups.push(() => agent.stop());
}, 60_000);

afterAll(async () => {
  for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => {});
  await stopAll();
});

const snapshot = async (d: Dashboard) => (await (await fetch(new URL('/api/snapshot', d.url))).json()) as Snapshot;
const pause = (d: Dashboard) =>
  fetch(new URL('/api/nodes/node-p/control', d.url), {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
    body: JSON.stringify({ action: 'pause' }),
  });

describe('a dashboard on its own user', () => {
  it('sees the node, the center, the scheduler and the ledger, with no permission violation', async () => {
    const d = await dashboardAs(operator);
    await waitFor(
      async () => {
        const s = await snapshot(d);
        return s.nodes.some((n) => n.id === 'node-p') && s.accounts.length === 3 && s.plans.length === 1 && s.ledger !== null && s.problems.length === 0;
      },
      30_000,
      'node, sub-accounts, plan and ledger on the dashboard',
    );
    const s = await snapshot(d);
    expect(s.ledger!.chainId).toBe(ledgerChain);
    expect(violations).toEqual([]);
  }, 60_000);

  it('acts with the operator actions granted', async () => {
    const d = await dashboardAs(operator);
    const r = await pause(d);
    expect(r.status, await r.clone().text()).toBe(200);
    await waitFor(() => agent.state === 'paused', 5000, 'the node paused');
    expect(violations).toEqual([]);
  }, 30_000);

  it('a read-only dashboard user sees the grid but cannot act', async () => {
    const d = await dashboardAs(wall);
    await waitFor(async () => (await snapshot(d)).nodes.some((n) => n.id === 'node-p'), 30_000, 'the node on the wall screen');
    const r = await pause(d);
    expect(r.status).not.toBe(200);
    await waitFor(() => violations.some((v) => v.startsWith('dash-wall:') && /permissions violation/i.test(v)), 5000, 'the server refusing the publish');
  }, 60_000);

  it('cannot read replies meant for others: only its own inbox prefix is open to it', async () => {
    const nc = await connectBus({ servers: url, ...wall, inboxPrefix: dashboardInboxPrefix(wall.user) });
    cleanups.push(() => nc.close());
    const refused: string[] = [];
    void (async () => {
      for await (const st of nc.status()) if (st.type === 'error') refused.push(String((st as { error?: unknown }).error));
    })();
    nc.subscribe('_INBOX.>');
    await nc.flush().catch(() => {});
    await waitFor(() => refused.some((e) => /permissions violation.*subscription/i.test(e)), 5000, 'the server refusing _INBOX.>');
  }, 30_000);
});
