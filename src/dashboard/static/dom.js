// The page's small DOM and formatting helpers. Text is only ever set as textContent, never parsed as HTML.
export const $ = (sel) => document.querySelector(sel);
const SVG_NS = 'http://www.w3.org/2000/svg';

function build(el, attrs, children) {
  for (const [k, v] of Object.entries(attrs ?? {})) if (v !== undefined && v !== null && v !== false) el.setAttribute(k, String(v));
  for (const c of children.flat()) if (c !== null && c !== undefined) el.append(c instanceof Node ? c : String(c));
  return el;
}
export const h = (tag, attrs, ...children) => build(document.createElement(tag), attrs, children);
export const s = (tag, attrs, ...children) => build(document.createElementNS(SVG_NS, tag), attrs, children);
export const fill = (el, ...children) => { el.replaceChildren(...children.flat().filter((c) => c != null)); return el; };
// Same rule as the ledger's usd(): cents, with up to four decimals below a dollar.
export const usd = (n) => `$${Math.abs(n) >= 1 ? n.toFixed(2) : n.toFixed(4).replace(/(\.\d\d\d*?)0+$/, '$1')}`;
export const time = (iso) => {
  if (!iso) return '';
  const d = new Date(iso);
  return d.toDateString() === new Date().toDateString() ? d.toLocaleTimeString() : d.toLocaleString();
};
export const pct = (x) => (x == null ? '—' : `${(x * 100).toFixed(0)} %`);
export const table = (el, head, rows) => fill(el, h('thead', {}, h('tr', {}, head.map((c) => h('th', {}, c)))), h('tbody', {}, rows));
export async function api(path) {
  const r = await fetch(path);
  const body = await r.json();
  if (!r.ok) throw new Error(body.error ?? r.statusText);
  return body;
}
