// The task list's group rows (a session's turns, a master's children), a parent's tree, and the
// ledger's pass rates: what the dashboard's API decided, drawn.
import { h, usd } from './dom.js';

/**
 * The list's rows, newest first: a group's tasks together under its row (the server's figures),
 * where the newest of them stands, unless folded; a task in no group as it is.
 */
export function groupedRows(rows, groups, collapsed, taskRow) {
  const out = [], shown = new Set();
  for (const t of rows) {
    const g = t.group && groups.get(t.group);
    if (!g) { out.push(taskRow(t, false)); continue; }
    if (shown.has(g.group)) continue;
    shown.add(g.group);
    const open = !collapsed.has(g.group);
    out.push(groupRow(g, open));
    if (open) out.push(...rows.filter((x) => x.group === g.group).map((x) => taskRow(x, true)));
  }
  return out;
}

function groupRow(g, open) {
  const name = g.kind === 'session' ? `session ${g.id}` : h('a', { href: `#/tasks/${encodeURIComponent(g.id)}`, class: 'mono' }, `children of ${g.id}`);
  return h('tr', { class: 'group', 'data-group': g.group, 'data-kind': g.kind },
    h('td', { colspan: 7 },
      h('button', { type: 'button', class: 'toggle', 'aria-expanded': String(open), title: open ? 'fold' : 'unfold' }, open ? '▾' : '▸'), ' ',
      h('span', { class: 'group-name mono' }, name), ' · ',
      h('span', { class: 'group-count' }, `${g.taskCount} task${g.taskCount === 1 ? '' : 's'}`), ' · ',
      h('span', { class: 'group-tier' }, g.tier ?? '—'), ' · ',
      h('span', { class: 'group-cost' }, usd(g.costUsd)), ' ',
      h('span', { class: 'group-ask summary' }, g.ask ?? '')));
}
// A parent's tree from the ledger: each task's tier, status, escalations, test outcome, and cost with its children's.
function treeItem(n) {
  return h('li', { 'data-tree-task': n.taskId, 'data-status': n.status },
    h('a', { href: `#/tasks/${encodeURIComponent(n.taskId)}`, class: 'mono' }, n.taskId), ' ',
    h('span', { class: `pill ${n.status}` }, n.status), ' ', h('span', { class: 'tree-tier' }, n.tier ?? '—'),
    n.escalations.length ? [' ', h('span', { class: 'tree-escalations' }, `escalated ${n.escalations.map((e) => `${e.from} → ${e.to}`).join(', ')}`)] : null,
    n.tests ? [' ', h('span', { class: `tree-tests ${n.tests.passed ? 'passed' : 'failed'}` }, `tests ${n.tests.passed ? 'passed' : 'failed'}`)] : null,
    ' ', h('span', { class: 'tree-cost' }, n.children.length ? `${usd(n.totalUsd)} in all` : usd(n.costUsd)),
    n.promptSummary ? h('div', { class: 'summary muted' }, n.promptSummary) : null,
    n.children.length ? h('ul', {}, n.children.map(treeItem)) : null);
}
export const treeSection = (tree) => (tree ? [h('h3', {}, 'Tree'), h('ul', { id: 'task-tree', class: 'tree' }, treeItem(tree))] : null);

// The ledger's pass rates (as `koubou status` prints them): verified attempts per tier and task type; null from a ledger before migration 10.
export function passRateRows(rates) {
  if (!rates?.length) return [h('tr', {}, h('td', { colspan: 5, class: 'muted' }, rates ? 'no verified attempt yet' : 'this ledger keeps no test outcomes'))];
  return rates.map((p) => h('tr', { 'data-tier': p.tier, 'data-type': p.taskType }, h('th', {}, p.tier), h('td', {}, p.taskType), h('td', {}, p.runs), h('td', {}, p.passed),
    h('td', { class: 'rate' }, `${Math.round((100 * p.passed) / p.runs)} %`)));
}
