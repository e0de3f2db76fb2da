/**
 * The dashboard page: follows /api/stream (Server-Sent Events), draws each
 * snapshot, says when the bus or the dashboard server is unreachable, and
 * sends operator actions with the operator token once it is unlocked.
 */
import 'uplot/dist/uPlot.min.css';
import './style.css';
import type { Snapshot } from '../view.js';
import { byId, clock, esc } from './dom.js';
import { renderAll } from './render.js';

const TOKEN_KEY = 'hashgrid-operator-token';
let token: string | null = localStorage.getItem(TOKEN_KEY);
let operator = false;
let last: Snapshot | undefined;
let streamUp = false;

// ---- live updates

function follow(): void {
  const source = new EventSource('/api/stream');
  source.addEventListener('snapshot', (e) => {
    streamUp = true;
    last = JSON.parse((e as MessageEvent<string>).data) as Snapshot;
    draw();
  });
  source.onopen = () => {
    streamUp = true;
    showStatus();
  };
  // EventSource retries by itself (the server asks for 1 s); the page says so meanwhile.
  source.onerror = () => {
    streamUp = false;
    showStatus();
  };
}

function draw(): void {
  if (!last) return;
  renderAll(last, operator);
  fillSelects(last);
  showStatus();
}

function showStatus(): void {
  const bus = byId('bus');
  const banner = byId('banner');
  byId('clock').textContent = last ? `updated ${clock(last.at)}` : '';
  document.body.classList.toggle('stale', !streamUp || (last !== undefined && !last.bus.connected));
  if (!streamUp) {
    bus.className = 'pill bad';
    bus.textContent = 'dashboard unreachable';
    banner.className = 'banner';
    banner.textContent = 'The dashboard server does not answer; retrying every second. Figures below are the last known.';
    banner.hidden = false;
    return;
  }
  if (last && !last.bus.connected) {
    bus.className = 'pill bad';
    bus.textContent = 'bus disconnected';
    banner.className = 'banner';
    banner.textContent = `Bus disconnected since ${clock(last.bus.since)}: reconnecting to ${last.bus.server}. Figures below are the last known.`;
    banner.hidden = false;
    return;
  }
  bus.className = 'pill good';
  bus.textContent = last ? `bus connected · ${last.bus.server}` : 'connected';
  const problems = last?.problems ?? [];
  banner.hidden = problems.length === 0;
  banner.className = 'banner warn';
  banner.textContent = problems.map((p) => `${p.source}: ${p.code} (${p.message})`).join(' · ');
}

// ---- operator token

function setOperator(on: boolean): void {
  operator = on;
  const mode = byId('mode');
  mode.textContent = on ? 'operator' : 'read-only';
  mode.className = on ? 'pill accent' : 'pill';
  byId('operator').hidden = !on;
  byId('token').hidden = on;
  byId('unlock').hidden = on;
  byId('lock').hidden = !on;
  draw();
}

/** Checks a token with the server before showing the actions. */
async function unlock(candidate: string): Promise<void> {
  const r = await fetch('/api/auth', { headers: { authorization: `Bearer ${candidate}` } });
  if (r.status === 204) {
    token = candidate;
    localStorage.setItem(TOKEN_KEY, candidate);
    setOperator(true);
    return;
  }
  await report(r, '');
}

byId<HTMLFormElement>('token-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const input = byId<HTMLInputElement>('token');
  void unlock(input.value.trim());
  input.value = '';
});
byId('lock').addEventListener('click', () => {
  token = null;
  localStorage.removeItem(TOKEN_KEY);
  setOperator(false);
});

// ---- actions

let toastTimer: number | undefined;
function toast(ok: boolean, text: string): void {
  const t = byId('toast');
  t.className = `toast ${ok ? 'ok' : 'error'}`;
  t.dataset.status = ok ? 'ok' : 'error';
  t.innerHTML = text;
  t.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = window.setTimeout(() => (t.hidden = true), 8000);
}

/** Shows the outcome of an action: the typed error's code and message, or `done`. */
async function report(r: Response, done: string): Promise<void> {
  const body = (await r.json().catch(() => ({}))) as { error?: { code: string; message: string } };
  if (r.ok) toast(true, esc(done));
  else toast(false, `<b>${esc(body.error?.code ?? r.status)}</b> ${esc(body.error?.message ?? r.statusText)}`);
  if (r.status === 401 && operator) setOperator(false);
}

async function post(path: string, body: unknown, done: string): Promise<void> {
  try {
    const r = await fetch(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    });
    await report(r, done);
  } catch (e) {
    toast(false, `<b>unreachable</b> ${esc((e as Error).message)}`);
  }
}

document.addEventListener('click', (e) => {
  const el = (e.target as HTMLElement).closest<HTMLElement>('[data-node-action],[data-edit-account]');
  if (!el) return;
  if (el.dataset.nodeAction) {
    const id = el.dataset.nodeId!;
    void post(`/api/nodes/${encodeURIComponent(id)}/control`, { action: el.dataset.nodeAction }, `${id}: ${el.dataset.nodeAction}d`);
  } else {
    const form = byId<HTMLFormElement>('standard-form');
    (form.elements.namedItem('account') as HTMLSelectElement).value = el.dataset.editAccount!;
    (form.elements.namedItem('standard') as HTMLInputElement).focus();
  }
});

const field = (form: HTMLFormElement, name: string) => form.elements.namedItem(name) as HTMLInputElement | HTMLSelectElement;
/** A number input's value, or the text as typed (the server names the field when it is not a number). */
const numberOf = (form: HTMLFormElement, name: string): number | string => {
  const v = field(form, name).value.trim();
  return v !== '' && Number.isFinite(Number(v)) ? Number(v) : v;
};
const rateOf = (form: HTMLFormElement): number | string => {
  const v = numberOf(form, 'standard');
  return typeof v === 'number' ? v * Number(field(form, 'unit').value) : v;
};

byId<HTMLFormElement>('standard-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const form = e.target as HTMLFormElement;
  const key = field(form, 'account').value;
  const [center, id] = key.split('/') as [string, string];
  const windowSeconds = numberOf(form, 'windowSeconds');
  const body = { standard: rateOf(form), ...(windowSeconds !== '' ? { windowSeconds } : {}) };
  void post(`/api/centers/${encodeURIComponent(center)}/subaccounts/${encodeURIComponent(id)}/standard`, body, `standard of ${key} changed`);
});

byId<HTMLFormElement>('add-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const form = e.target as HTMLFormElement;
  const center = field(form, 'center').value;
  const schedule = (form.elements.namedItem('schedule') as HTMLInputElement).checked;
  const body = {
    id: field(form, 'id').value.trim(),
    password: field(form, 'password').value,
    standard: rateOf(form),
    windowSeconds: numberOf(form, 'windowSeconds'),
    ...(schedule && field(form, 'plan').value ? { plan: field(form, 'plan').value } : {}),
  };
  void post(`/api/centers/${encodeURIComponent(center)}/subaccounts`, body, `sub-account ${center}/${body.id} added${body.plan ? ` and scheduled on ${body.plan}` : ''}`);
});

/** Keeps the forms' choices in step with the grid, without losing what is selected. */
function fillSelects(s: Snapshot): void {
  const fill = (select: HTMLSelectElement, values: string[]) => {
    const html = values.map((v) => `<option>${esc(v)}</option>`).join('');
    if (select.dataset.options === html) return;
    const keep = select.value;
    select.innerHTML = html;
    select.dataset.options = html;
    if (values.includes(keep)) select.value = keep;
  };
  fill(field(byId<HTMLFormElement>('standard-form'), 'account') as HTMLSelectElement, s.accounts.map((a) => a.key));
  fill(field(byId<HTMLFormElement>('add-form'), 'center') as HTMLSelectElement, [...new Set([...s.centers.map((c) => c.id), ...s.accounts.map((a) => a.center)])]);
  fill(field(byId<HTMLFormElement>('add-form'), 'plan') as HTMLSelectElement, s.plans.map((p) => p.plan));
}

setInterval(showStatus, 1000);
follow();
if (token) void unlock(token);
else setOperator(false);
