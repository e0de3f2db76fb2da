/**
 * The dashboard's HTTP surface on a real nats-server and a real
 * distribution center: snapshots come from the bus, reading needs nothing,
 * actions need the operator token, and every refusal is a typed error.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectBus } from '../../src/bus/connect.js';
import { request } from '../../src/bus/rpc.js';
import { CenterStats, CenterStatsRequest, SCHEMA_VERSION } from '../../src/bus/schemas.js';
import { subjects } from '../../src/bus/subjects.js';
import { demoSubAccounts, startCenter, type CenterStack } from '../../src/cli/center.js';
import { startDashboard, type Dashboard } from '../../src/dashboard/server.js';
import type { Snapshot } from '../../src/dashboard/view.js';
import { startServer, stopAll, waitFor } from '../helpers/nats.js';

const TOKEN = 'integration-operator-token';

describe('the dashboard API', () => {
  let nc: NatsConnection;
  let center: CenterStack;
  let dashboard: Dashboard;

  beforeAll(async () => {
    const server = await startServer();
    nc = await connectBus({ servers: server.url });
    center = await startCenter({ nc, subAccounts: demoSubAccounts(), stratumPort: 0 });
    dashboard = await startDashboard({ nc, token: TOKEN, tickMs: 200, plans: ['nobody-runs-this-plan'] });
  });

  afterAll(async () => {
    await dashboard?.stop();
    await center?.stop();
    await nc?.close();
    await stopAll();
  });

  const url = (path: string) => new URL(path, dashboard.url).toString();
  const snapshot = async () => (await (await fetch(url('/api/snapshot'))).json()) as Snapshot;
  /** POSTs `body` (raw when a string) and returns the status and the parsed reply. */
  const post = async (path: string, body: unknown, token: string | null = TOKEN) => {
    const r = await fetch(url(path), {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token !== null ? { authorization: `Bearer ${token}` } : {}) },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { status: r.status, body: (await r.json()) as { error?: { code: string; message: string } } & Record<string, unknown> };
  };

  it('serves the page and its bundled assets, with nothing loaded from elsewhere', async () => {
    const page = await fetch(url('/'));
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toMatch(/default-src 'self'/);
    const html = await page.text();
    expect(html).toContain('/assets/app.js');
    expect(html).not.toMatch(/https?:\/\//);
    const js = await fetch(url('/assets/app.js'));
    expect(js.headers.get('content-type')).toMatch(/javascript/);
    expect(await js.text()).toMatch(/uPlot|uplot/);
    expect((await fetch(url('/assets/../package.json'))).status).toBe(404);
  });

  it('shows the center\'s sub-accounts and share counters, and a scheduler that does not answer as a problem', async () => {
    await waitFor(async () => (await snapshot()).accounts.length === 3, 5000, 'three sub-accounts');
    const s = await snapshot();
    expect(s.bus.connected).toBe(true);
    expect(s.accounts.map((a) => a.key)).toEqual(['main/alice', 'main/bob', 'main/carol']);
    expect(s.accounts[0]!.delivered.standardWindow).toMatchObject({ hashrate: 0, shares: 0 });
    expect(s.centers).toEqual([{ id: 'main', accepted: 0, rejected: {}, blocks: 0 }]);
    expect(s.problems).toEqual([expect.objectContaining({ source: 'scheduler nobody-runs-this-plan', code: 'NO_RESPONDERS' })]);
    expect(s.ledger).toBeNull();
  });

  it('answers CenterStats on the bus', async () => {
    const stats = await request(nc, subjects.center('main').stats, CenterStatsRequest, { v: SCHEMA_VERSION }, CenterStats, 'CenterStats');
    expect(stats).toEqual({ v: 1, centerId: 'main', accepted: 0, rejected: {}, blocks: 0 });
  });

  it('refuses actions without the operator token, or with a wrong one (401, UNAUTHORIZED)', async () => {
    for (const token of [null, 'wrong-token-123', '']) {
      const r = await post('/api/centers/main/subaccounts/alice/standard', { standard: 1 }, token);
      expect(r.status).toBe(401);
      expect(r.body.error!.code).toBe('UNAUTHORIZED');
    }
    expect((await fetch(url('/api/auth'))).status).toBe(401);
    expect((await fetch(url('/api/auth'), { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(204);
    // Nothing changed.
    expect(center.center.info('alice').standard).toBe(1e6);
  });

  it('changes a standard with the token, and the next snapshot shows it', async () => {
    const r = await post('/api/centers/main/subaccounts/alice/standard', { standard: 3e6, windowSeconds: 120 });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ info: { id: 'alice', standard: 3e6, windowSeconds: 120 } });
    await waitFor(async () => (await snapshot()).accounts[0]!.standard === 3e6, 3000, 'the new standard in a snapshot');
  });

  it('adds a sub-account, and refuses a duplicate (409, SUBACCOUNT)', async () => {
    const r = await post('/api/centers/main/subaccounts', { id: 'dave', password: 'dave-password', standard: 1e5, windowSeconds: 60 });
    expect(r.status).toBe(200);
    await waitFor(async () => (await snapshot()).accounts.some((a) => a.key === 'main/dave'), 3000, 'dave in a snapshot');
    const again = await post('/api/centers/main/subaccounts', { id: 'dave', password: 'dave-password', standard: 1e5, windowSeconds: 60 });
    expect(again.status).toBe(409);
    expect(again.body.error!.code).toBe('SUBACCOUNT');
  });

  it('answers bad input with typed errors that name the field', async () => {
    const cases: [string, unknown, number, string, RegExp][] = [
      ['/api/centers/main/subaccounts/alice/standard', { standard: -1 }, 400, 'INVALID_MESSAGE', /standard/],
      ['/api/centers/main/subaccounts/alice/standard', { standard: 'fast' }, 400, 'INVALID_MESSAGE', /standard/],
      ['/api/centers/main/subaccounts/alice/standard', { standard: 1, windowSeconds: 0 }, 400, 'INVALID_MESSAGE', /windowSeconds/],
      ['/api/centers/main/subaccounts/alice/standard', [1, 2], 400, 'BAD_MESSAGE', /object/],
      ['/api/centers/main/subaccounts/alice/standard', '{not json', 400, 'BAD_MESSAGE', /JSON/],
      ['/api/centers/main/subaccounts/nobody/standard', { standard: 1 }, 404, 'NOT_FOUND', /nobody/],
      ['/api/centers/bad.center/subaccounts/alice/standard', { standard: 1 }, 400, 'INVALID_ARGUMENT', /center id/],
      ['/api/centers/elsewhere/subaccounts/alice/standard', { standard: 1 }, 503, 'NO_RESPONDERS', /elsewhere/],
      ['/api/centers/main/subaccounts', { id: 'eve', password: 'short', standard: 1, windowSeconds: 60 }, 400, 'INVALID_MESSAGE', /password/],
      ['/api/centers/main/subaccounts', { id: 'no spaces', password: 'long-enough', standard: 1, windowSeconds: 60 }, 400, 'INVALID_MESSAGE', /id/],
      ['/api/centers/main/subaccounts', { id: 'erin', password: 'long-enough', standard: 1, windowSeconds: 60, plan: 'a plan' }, 400, 'INVALID_MESSAGE', /plan/],
      ['/api/nodes/no-such-node/control', { action: 'pause' }, 503, 'NO_RESPONDERS', /no-such-node/],
      ['/api/nodes/node-1/control', { action: 'explode' }, 400, 'INVALID_MESSAGE', /action/],
      ['/api/nodes/a.b/control', { action: 'pause' }, 400, 'INVALID_ARGUMENT', /node id/],
    ];
    for (const [path, body, status, code, message] of cases) {
      const r = await post(path, body);
      expect({ path, body, status: r.status, code: r.body.error?.code }).toEqual({ path, body, status, code });
      expect(r.body.error!.message).toMatch(message);
    }
    const missing = await fetch(url('/api/nothing-here'));
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('NOT_FOUND');
  });

  it('says when a sub-account joined the center but its plan did not answer', async () => {
    const r = await post('/api/centers/main/subaccounts', { id: 'frank', password: 'frank-password', standard: 1, windowSeconds: 60, plan: 'nobody-runs-this-plan' });
    expect(r.status).toBe(503);
    expect(r.body.error!.code).toBe('NO_RESPONDERS');
    expect(r.body.error!.message).toMatch(/frank was added to center main, but not to plan nobody-runs-this-plan/);
  });

  it('pushes snapshots over Server-Sent Events', async () => {
    const controller = new AbortController();
    const r = await fetch(url('/api/stream'), { signal: controller.signal });
    expect(r.headers.get('content-type')).toBe('text/event-stream');
    const reader = r.body!.getReader();
    let text = '';
    while ((text.match(/event: snapshot/g) ?? []).length < 2) text += new TextDecoder().decode((await reader.read()).value);
    controller.abort();
    const first = JSON.parse(/data: (.*)\n/.exec(text)![1]!) as Snapshot;
    expect(first.accounts.length).toBeGreaterThanOrEqual(3);
  });
});
