/**
 * The dashboard in real headless Chromium (Debian's `chromium`, driven by
 * playwright-core; no browser download) against a whole local grid: a node
 * appears and hashes, sub-accounts progress, an operator changes a standard
 * and pauses the node, a caller without the token is refused, and the page
 * says when the bus is down and recovers when it is back.
 * Screenshots go to test-artifacts/ (gitignored).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NatsServer } from '../../src/bus/server.js';
import { startLocalGrid, type LocalGrid } from '../../src/cli/up.js';
import { PACKAGE_ROOT } from '../../src/engine/paths.js';
import { startServer, stopAll, tempDir } from '../helpers/nats.js';

const CHROMIUM = process.env.HASHGRID_CHROMIUM ?? '/usr/bin/chromium';
const ARTIFACTS = join(PACKAGE_ROOT, 'test-artifacts');
const TOKEN = 'e2e-operator-token';

describe('the dashboard in Chromium', () => {
  let server: NatsServer;
  let grid: LocalGrid;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: scripts/setup.sh installs Debian's chromium (or set HASHGRID_CHROMIUM)`);
    mkdirSync(ARTIFACTS, { recursive: true });
    server = await startServer();
    grid = await startLocalGrid({ stateDir: tempDir('hashgrid-dash-'), nats: server.url, threads: 1, calibrateMs: 300, dashboardToken: TOKEN });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
    page = await browser.newPage({ viewport: { width: 1600, height: 1100 } });
    await page.goto(grid.dashboard.url);
  });

  afterAll(async () => {
    await browser?.close();
    await grid?.stop();
    await stopAll();
  });

  const number = (selector: string) => page.locator(selector).getAttribute('data-value').then(Number);
  const accepted = async () => Number((await page.locator('#kpi-accepted').textContent())!.replace(/,/g, ''));

  it('shows the node with a non-zero hashrate, and sub-accounts whose progress moves', async () => {
    const row = page.locator(`tr[data-node="${grid.nodeId}"]`);
    await row.waitFor({ timeout: 15_000 });
    await expect.poll(() => number(`tr[data-node="${grid.nodeId}"] .rate`), { timeout: 20_000 }).toBeGreaterThan(0);
    expect(await row.locator('.hw').textContent()).toMatch(/wasm · .*cores/);
    expect(await page.locator('[data-testid=bus-status]').textContent()).toMatch(/bus connected/);
    // The local PPoV consortium's chain grows on the page: height, and the last groups with their leaders and votes.
    await expect.poll(async () => Number(await page.locator('[data-ledger-height]').textContent()), { timeout: 20_000 }).toBeGreaterThan(1);
    expect(await page.locator('[data-testid=ledger]').textContent()).toMatch(/chain local/);
    expect(await page.locator('[data-testid=ledger] table.ledger tbody tr').count()).toBeGreaterThan(0);
    const progress = () => Promise.all(['alice', 'bob', 'carol'].map((id) => number(`tr[data-account="main/${id}"] .pg`)));
    await page.locator('tr[data-account="main/carol"]').waitFor();
    const before = await progress();
    await expect.poll(async () => (await progress()).some((p, i) => p > before[i]!), { timeout: 20_000 }).toBe(true);
    await expect.poll(() => page.locator('#timeline li').count()).toBeGreaterThan(2);
  });

  it('refuses a caller without the operator token, and a wrong token, with a typed 401', async () => {
    const refused = await page.evaluate(async () => {
      const r = await fetch('/api/centers/main/subaccounts/alice/standard', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"standard":1}' });
      return { status: r.status, body: await r.json() };
    });
    expect(refused).toMatchObject({ status: 401, body: { error: { code: 'UNAUTHORIZED' } } });
    await page.fill('#token', 'not-the-token');
    await page.click('#unlock');
    await expect.poll(() => page.locator('[data-testid=toast]').textContent()).toMatch(/UNAUTHORIZED wrong operator token/);
    expect(await page.locator('[data-testid=mode]').textContent()).toBe('read-only');
    expect(await page.locator('#operator').isHidden()).toBe(true);
  });

  it('lets the operator change a standard and pause the node, and shows the effect', async () => {
    await page.fill('#token', TOKEN);
    await page.click('#unlock');
    await expect.poll(() => page.locator('[data-testid=mode]').textContent()).toBe('operator');
    // A standard far above what one node delivers: carol falls below it.
    await page.click('tr[data-account="main/carol"] [data-edit-account]');
    await page.fill('#standard-form [name=standard]', '40');
    await page.selectOption('#standard-form [name=unit]', { label: 'MH/s' });
    await page.click('#standard-form button[type=submit]');
    await expect.poll(() => page.locator('[data-testid=toast]').getAttribute('data-status')).toBe('ok');
    await expect.poll(() => number('tr[data-account="main/carol"] .standard'), { timeout: 5000 }).toBe(40e6);
    await expect.poll(() => number('tr[data-account="main/carol"] .pg'), { timeout: 10_000 }).toBeLessThan(0.5);
    expect(grid.center.center.info('carol').standard).toBe(40e6);

    const node = `tr[data-node="${grid.nodeId}"]`;
    await page.click(`${node} [data-node-action=pause]`);
    await expect.poll(() => page.locator(`${node} .st`).textContent(), { timeout: 10_000 }).toBe('paused');
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-operator.png') });
    await page.click(`${node} [data-node-action=resume]`);
    await expect.poll(() => page.locator(`${node} .st`).textContent(), { timeout: 10_000 }).toBe('mining');
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true });
  });

  it('shows that the bus is down, and recovers when it is back', async () => {
    const { port, stateDir } = server;
    await server.stop();
    await expect.poll(() => page.locator('[data-testid=bus-status]').textContent(), { timeout: 10_000 }).toBe('bus disconnected');
    expect(await page.locator('[data-testid=banner]').textContent()).toMatch(/Bus disconnected since .*reconnecting/);
    // It stays that way while the bus is down (the client keeps trying).
    await new Promise((r) => setTimeout(r, 2000));
    expect(await page.locator('[data-testid=bus-status]').textContent()).toBe('bus disconnected');
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-disconnected.png') });
    const acceptedBefore = await accepted();
    server = await startServer({ port, stateDir });
    await expect.poll(() => page.locator('[data-testid=bus-status]').textContent(), { timeout: 20_000 }).toMatch(/bus connected/);
    // Requests that timed out while the bus was down show as problems until the sources answer again.
    await expect.poll(() => page.locator('[data-testid=banner]').isHidden(), { timeout: 10_000 }).toBe(true);
    expect(await page.locator('#timeline').textContent()).toMatch(/reconnected/);
    // Data flows again end to end: node → JetStream → scheduler → center → dashboard.
    await expect.poll(accepted, { timeout: 30_000 }).toBeGreaterThan(acceptedBefore);
  });
});
