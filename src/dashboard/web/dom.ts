/** Small DOM helpers for the page: typed lookups, escaping, and keyed rows. */

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no #${id}`);
  return el as T;
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
/** Text from the bus goes into HTML only through this. */
export const esc = (s: unknown): string => String(s).replace(/[&<>"']/g, (c) => ESCAPES[c]!);

/**
 * Keeps one row per item in `tbody`, in item order: rows are created once
 * (so charts inside them survive) and updated on every snapshot.
 */
export function keyedRows<T>(
  tbody: HTMLElement,
  items: T[],
  key: (item: T) => string,
  create: (item: T) => HTMLTableRowElement,
  update: (row: HTMLTableRowElement, item: T) => void,
  rows: Map<string, HTMLTableRowElement>,
): void {
  const seen = new Set<string>();
  for (const item of items) {
    const k = key(item);
    seen.add(k);
    let row = rows.get(k);
    if (!row) {
      row = create(item);
      rows.set(k, row);
    }
    update(row, item);
    tbody.appendChild(row); // appending an attached row moves it: order follows items
  }
  for (const [k, row] of rows) {
    if (!seen.has(k)) {
      row.remove();
      rows.delete(k);
    }
  }
}

/** Sets innerHTML only when it changed, so hover and focus inside are not reset every second. */
export function setHtml(el: Element, html: string): void {
  if (el.innerHTML !== html) el.innerHTML = html;
}

export const clock = (ms: number): string => new Date(ms).toLocaleTimeString('en-GB', { hour12: false });
