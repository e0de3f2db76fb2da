/**
 * Draws a Snapshot into the page. Each panel has one function; rows are
 * keyed so sparklines and buttons persist between snapshots.
 */
import { formatCount, formatEta, formatRate } from '../../core/format.js';
import type { AccountView, CenterView, NodeView, Snapshot, TimelineEntry } from '../view.js';
import { RateChart, Sparkline } from './charts.js';
import { byId, clock, esc, keyedRows, setHtml } from './dom.js';

const nodeRows = new Map<string, HTMLTableRowElement>();
const accountRows = new Map<string, HTMLTableRowElement>();
const sparks = new WeakMap<HTMLTableRowElement, Sparkline>();
let totalChart: RateChart | undefined;

export function renderAll(s: Snapshot, operator: boolean): void {
  renderKpis(s);
  (totalChart ??= new RateChart(byId('total-chart'))).set(s.total);
  renderNodes(s.nodes, operator);
  renderAccounts(s.accounts, operator);
  renderRejected(s.centers);
  renderTimeline(s.timeline);
  renderLedger(s);
}

/** An empty row with one cell per class list, marked `data-<kind>="<key>"` (tests and delegated clicks find rows by it). */
function newRow(kind: string, key: string, cells: string[]): HTMLTableRowElement {
  const row = document.createElement('tr');
  row.dataset[kind] = key;
  row.innerHTML = cells.map((c) => `<td class="${c}"></td>`).join('');
  return row;
}

function renderKpis(s: Snapshot): void {
  const live = s.nodes.filter((n) => n.alive);
  byId('kpi-rate').textContent = formatRate(live.reduce((a, n) => a + n.hashrate, 0));
  byId('kpi-nodes').textContent = `${live.length} / ${s.nodes.length}`;
  byId('kpi-up').textContent = `${s.accounts.filter((a) => a.upToStandard).length} / ${s.accounts.length}`;
  byId('kpi-accepted').textContent = formatCount(s.centers.reduce((a, c) => a + c.accepted, 0));
  byId('kpi-rejected').textContent = formatCount(s.centers.reduce((a, c) => a + Object.values(c.rejected).reduce((x, y) => x + y, 0), 0));
  byId('kpi-plan').textContent = s.plans.map((p) => `${p.plan} · ${p.mode} · ${p.leader ? 'leading' : 'no leader'}`).join(', ') || 'none answers';
}

function nodeStatus(n: NodeView): [string, string] {
  if (!n.alive) return ['lost', 'bad'];
  if (n.role === 'failed') return ['failed', 'bad'];
  // On probation: it failed to deliver and now works beside its replacement until it proves itself again.
  if (n.role === 'probation') return [n.state === 'mining' ? 'probation, mining' : 'probation', 'warn'];
  if (n.state === 'paused') return ['paused', 'warn'];
  if (n.state === 'mining') return ['mining', 'good'];
  return [n.role === 'standby' ? 'standby' : 'idle', 'idle'];
}

function renderNodes(nodes: NodeView[], operator: boolean): void {
  const tbody = byId('nodes').querySelector('tbody')!;
  byId('nodes-empty').hidden = nodes.length > 0;
  keyedRows(
    tbody,
    nodes,
    (n) => n.id,
    (n) => {
      const row = newRow('node', n.id, ['id', 'st', 'hw', 'num rate', 'sp', 'num cal', 'num shares', 'for', 'op']);
      sparks.set(row, new Sparkline(row.querySelector<HTMLElement>('.sp')!));
      return row;
    },
    (row, n) => {
      const [status, tone] = nodeStatus(n);
      row.classList.toggle('lost', !n.alive);
      const cell = (c: string) => row.querySelector(`.${c}`)!;
      cell('id').textContent = n.id;
      setHtml(cell('st'), `<span class="pill ${tone}">${status}</span>`);
      setHtml(cell('hw'), `<b>${esc(n.backends.join(', '))}</b> · ${esc(n.hardware)}`);
      const rate = cell('rate') as HTMLElement;
      rate.textContent = n.alive ? formatRate(n.hashrate) : '-';
      rate.dataset.value = String(n.hashrate);
      cell('cal').textContent = formatRate(n.calibrated);
      cell('shares').textContent = formatCount(n.sharesFound);
      setHtml(cell('for'), n.slices?.length ? n.slices.map((sl) => `${esc(sl.account)} <span class="muted">${Math.round(sl.fraction * 100)}%</span>`).join('<br>') : '<span class="muted">-</span>');
      const action = n.state === 'paused' ? 'resume' : 'pause';
      setHtml(cell('op'), operator && n.alive ? `<button class="small" data-node-action="${action}" data-node-id="${esc(n.id)}">${action}</button>` : '');
      sparks.get(row)!.set(n.spark);
    },
    nodeRows,
  );
}

/** A bar for the delivered rate, a whisker for its error, a tick at the standard. */
function meter(a: AccountView): string {
  const w = a.delivered.standardWindow ?? { hashrate: 0, relativeError: 1, shares: 0 };
  const hi = w.hashrate * (1 + w.relativeError);
  const scale = Math.max(a.standard, hi, 1) * 1.1;
  const pct = (x: number) => `${Math.min(100, (100 * Math.max(0, x)) / scale).toFixed(1)}%`;
  const lo = w.hashrate * (1 - w.relativeError);
  return (
    `<div class="meter" title="delivered ${esc(formatRate(w.hashrate))} ± ${(100 * w.relativeError).toFixed(0)}% (${w.shares} shares) against a standard of ${esc(formatRate(a.standard))}">` +
    `<div class="fill" style="width:${pct(w.hashrate)}"></div>` +
    (w.shares > 0 ? `<div class="err" style="left:${pct(lo)};width:calc(${pct(hi)} - ${pct(lo)})"></div>` : '') +
    `<div class="std" style="left:${pct(a.standard)}"></div></div>` +
    `<div class="meter-label">${esc(formatRate(w.hashrate))} <span class="muted">± ${(100 * w.relativeError).toFixed(0)}% · ${formatCount(w.shares)} shares / ${a.windowSeconds} s</span></div>`
  );
}

function accountState(a: AccountView): [string, string] {
  const state = a.scheduled?.state ?? (a.upToStandard ? 'up-to-standard' : 'not scheduled');
  const tone = state === 'up-to-standard' ? 'good' : state === 'failed' ? 'bad' : state === 'mining' ? 'accent' : 'idle';
  return [state, tone];
}

function renderAccounts(accounts: AccountView[], operator: boolean): void {
  const tbody = byId('accounts').querySelector('tbody')!;
  byId('accounts-empty').hidden = accounts.length > 0;
  keyedRows(
    tbody,
    accounts,
    (a) => a.key,
    (a) => newRow('account', a.key, ['id', 'st', 'num standard', 'dl', 'windows', 'pg', 'nodes', 'num eta', 'op']),
    (row, a) => {
      const cell = (c: string) => row.querySelector(`.${c}`)! as HTMLElement;
      const [state, tone] = accountState(a);
      setHtml(cell('id'), `${esc(a.id)} <span class="muted">${esc(a.center)}</span>`);
      setHtml(cell('st'), `<span class="pill ${tone}" title="${esc(a.scheduled?.reason ?? '')}">${esc(state)}</span>`);
      cell('standard').textContent = formatRate(a.standard);
      cell('standard').dataset.value = String(a.standard);
      setHtml(cell('dl'), meter(a));
      setHtml(cell('windows'), ['1m', '10m', '1h'].map((w) => esc(formatRate(a.delivered[w]?.hashrate ?? 0))).join(' · '));
      // Progress is the scheduler's (delivered over the window ÷ standard); without a scheduler, the same ratio here.
      const w = a.delivered.standardWindow?.hashrate ?? 0;
      const progress = a.scheduled?.progress ?? (a.standard > 0 ? Math.min(1, w / a.standard) : 1);
      const pg = cell('pg');
      pg.dataset.value = String(progress);
      setHtml(pg, `<div class="progress ${a.upToStandard ? '' : 'below'}"><div class="bar" style="width:${(100 * progress).toFixed(1)}%"></div></div><div class="progress-label">${(100 * progress).toFixed(0)}%</div>`);
      cell('nodes').textContent = a.scheduled?.nodes.join(', ') || '-';
      cell('eta').textContent = a.scheduled ? formatEta(a.scheduled.etaSeconds) : '-';
      setHtml(cell('op'), operator ? `<button class="small" data-edit-account="${esc(a.key)}">edit</button>` : '');
    },
    accountRows,
  );
}

function renderRejected(centers: CenterView[]): void {
  const html = centers
    .map((c) => {
      const reasons = Object.entries(c.rejected).filter(([, n]) => n > 0).sort((x, y) => y[1] - x[1]);
      const max = Math.max(1, ...reasons.map(([, n]) => n));
      const rows = reasons.length
        ? reasons.map(([r, n]) => `<span>${esc(r)}</span><div class="bar" style="width:${((100 * n) / max).toFixed(1)}%"></div><span class="num">${formatCount(n)}</span>`).join('')
        : '<span class="none">none rejected</span>';
      return `<div class="center-head">center <b>${esc(c.id)}</b> · ${formatCount(c.accepted)} accepted · ${formatCount(c.blocks)} block candidates</div><div class="reasons">${rows}</div>`;
    })
    .join('');
  setHtml(byId('rejected'), html || '<span class="muted">no distribution center answers</span>');
}

function tone(e: TimelineEntry): string {
  if (/fail|lost|disconnected/.test(e.kind) || /fell below/.test(e.text)) return 'bad';
  if (/recovered|reconnected|back/.test(e.kind) || /up to standard|up-to-standard/.test(e.text)) return 'good';
  if (e.kind === 'plan' || e.kind === 'leadership') return 'warn';
  return '';
}

function renderTimeline(entries: TimelineEntry[]): void {
  const html = entries
    .slice(0, 60)
    .map((e) => `<li><span class="t">${clock(e.at)}</span><span class="k ${tone(e)}" title="${esc(e.source)}">${esc(e.kind)}</span><span>${esc(e.text)}</span></li>`)
    .join('');
  setHtml(byId('timeline'), html || '<li class="muted">no decisions yet</li>');
}

function renderLedger(s: Snapshot): void {
  const l = s.ledger;
  if (l === null) {
    setHtml(byId('ledger'), '<strong>no ledger on this grid</strong><br>the PPoV chain shows here (height, block groups, leader, votes) when the dashboard follows one');
    return;
  }
  const rows = l.groups
    .map(
      (g) =>
        `<tr><td class="num">${g.height}</td><td title="${esc(g.groupId)}">${esc(g.groupId.slice(0, 8))}</td><td title="next: ${esc(g.nextLeader)}">${esc(g.leader)}</td><td class="num">${g.votes}</td><td class="num">${g.approved}/${g.blocks}</td><td class="num">${g.txs}</td></tr>`,
    )
    .join('');
  setHtml(
    byId('ledger'),
    `<div class="ledger-head">chain <strong>${esc(l.chainId)}</strong> · height <strong data-ledger-height>${l.height}</strong> · view ${l.view} · ${l.pending} pending tx · as seen by ${esc(l.nodeId)}</div>` +
      `<table class="ledger"><thead><tr><th class="num">height</th><th>group</th><th>leader</th><th class="num">votes</th><th class="num">approved</th><th class="num">tx</th></tr></thead><tbody>${rows}</tbody></table>`,
  );
}
