// koubou dashboard page. Plain ES module, no framework, no build: it fetches the JSON API once,
// then follows GET /events (server-sent events) and never reloads. Text from the server is only
// ever set as textContent, never parsed as HTML.
import { $, api, fill, h, pct, s, table, time, usd } from './dom.js';
import { groupedRows, passRateRows, treeSection } from './groups.js';

const STATUSES = ['pending', 'routing', 'assigned', 'in_progress', 'completed', 'failed', 'cancelled'];
// The default config's tiers; a tier a config adds appears as soon as its costs do (tiers are data).
const TIERS = ['gpt5_high', 'gpt5_medium', 'local'];
function knowTiers(names) {
  for (const t of names) if (!TIERS.includes(t)) { TIERS.splice(TIERS.length - 1, 0, t); $('#filters [name=tier]').append(h('option', { value: t }, t)); }
}
const DIFFICULTIES = ['high', 'medium', 'low'];


const state = { tasks: new Map(), groups: new Map(), collapsed: new Set(), tree: null, selected: null, events: [], ledgerTask: null, chart: null, workers: new Map(), feed: [], status: null, progress: null, activity: [] };

// ---- routing between views ----------------------------------------------------------------
function route() {
  const [, view = 'tasks', id] = location.hash.split('/');
  for (const v of document.querySelectorAll('.view')) v.hidden = v.id !== `view-${view}`;
  for (const a of document.querySelectorAll('nav a')) a.classList.toggle('active', a.dataset.view === view);
  if (id && id !== state.selected) select(decodeURIComponent(id));
}
async function select(id) {
  state.selected = id;
  state.events = [];
  state.ledgerTask = null;
  state.progress = null;
  state.activity = [];
  state.tree = null;
  renderSelected();
  await loadSelected(id);
}
async function loadSelected(id) {
  try {
    const d = await api(`/api/tasks/${encodeURIComponent(id)}`);
    if (state.selected !== id) return;
    if (d.summary) state.tasks.set(id, d.summary);
    for (const e of d.events) addEvent(e);
    state.ledgerTask = d.ledger?.task ?? null;
    state.tree = d.tree ?? null;
  } catch { /* not known yet: its events will arrive live */ }
  renderSelected();
}
// A child of the selected tree moved: read the ledger's tree again (a burst of events, once).
let treeQueued = null;
const inTree = (n, id) => n.taskId === id || n.children.some((c) => inTree(c, id));
function refreshTreeSoon(event) {
  const id = state.selected;
  if (!id || treeQueued || !(event.parentTaskId === id || (state.tree && inTree(state.tree, event.taskId)))) return;
  treeQueued = setTimeout(() => { treeQueued = null; if (state.selected === id) loadSelected(id); }, 500);
}
function addEvent(e) {
  if (state.events.some((x) => x.seq === e.seq)) return;
  state.events.push(e);
  state.events.sort((a, b) => a.seq - b.seq);
}

// ---- tasks ---------------------------------------------------------------------------------
function renderCounts() {
  const st = state.status;
  if (!st) return;
  const cell = (status, d) => st.tasks.filter((r) => r.status === status && (!d || r.difficulty === d)).reduce((n, r) => n + r.count, 0);
  table($('#task-counts'), ['status', ...DIFFICULTIES, 'total'],
    STATUSES.map((x) => h('tr', { 'data-status': x }, h('th', {}, x), DIFFICULTIES.map((d) => h('td', {}, cell(x, d))), h('td', {}, st.tasksByStatus[x] ?? 0))));
  table($('#pass-rates'), ['tier', 'type', 'verified', 'passed', 'rate'], passRateRows(st.passRates));
}
function renderList() {
  const f = Object.fromEntries(new FormData($('#filters')));
  const q = f.q.toLowerCase();
  const rows = [...state.tasks.values()]
    .filter((t) => (!f.status || t.status === f.status) && (!f.tier || t.tier === f.tier))
    .filter((t) => !q || [t.taskId, t.promptSummary, t.state, t.reason].some((x) => x.toLowerCase().includes(q)))
    .sort((a, b) => b.createdAt.localeCompare(a.createdAt)).slice(0, 200);
  const taskRow = (t, member) => h('tr', { 'data-task': t.taskId, class: [member ? 'member' : '', t.taskId === state.selected ? 'selected' : ''].join(' ').trim() || null },
    h('td', {}, time(t.createdAt)), h('td', { class: 'mono' }, t.taskId), h('td', {}, h('span', { class: `pill ${t.status}` }, t.status)),
    h('td', {}, t.state), h('td', {}, t.tier ?? '—'), h('td', {}, t.difficulty), h('td', { class: 'summary' }, t.promptSummary));
  fill($('#task-list tbody'), groupedRows(rows, state.groups, state.collapsed, taskRow));
  const pick = $('#inspect-task');
  const keep = state.selected;
  fill(pick, h('option', { value: '' }, '— pick a task —'), [...state.tasks.values()].sort((a, b) => b.createdAt.localeCompare(a.createdAt)).slice(0, 100)
    .map((t) => h('option', { value: t.taskId }, `${t.taskId} · ${t.status} · ${t.promptSummary.slice(0, 40)}`)));
  pick.value = keep && state.tasks.has(keep) ? keep : '';
}
function renderDetail() {
  const t = state.tasks.get(state.selected);
  const panel = $('#task-detail');
  if (!state.selected) return;
  if (!t) { fill(panel, h('h2', {}, state.selected), h('p', { class: 'muted' }, state.tree ? 'A parent task (a master\'s session): its children below.' : 'No event for this task yet.'), treeSection(state.tree)); return; }
  const last = state.events.at(-1);
  const L = state.ledgerTask;
  const field = (k, v) => [h('dt', {}, k), h('dd', {}, v ?? '—')];
  fill(panel,
    h('h2', { class: 'mono' }, t.taskId),
    h('p', { class: 'summary', id: 'detail-summary' }, t.promptSummary),
    h('dl', { class: 'figures' }, field('status', t.status), field('state', t.state), field('tier', t.tier), field('type', t.type),
      field('difficulty', t.difficulty), field('sensitivity', t.sensitivity), field('worker', t.workerId), field('model', t.model),
      field('tokens', L?.actualTokens ?? t.tokens), field('cost', usd(L?.actualCost ?? t.costUsd)),
      field('progress', state.progress && !state.progress.activity ? `${state.progress.tokens} tokens, ${state.progress.tokensPerSecond.toFixed(1)}/s` : null)),
    // An agent at work: the commands it ran and the files it changed, newest last.
    state.activity.length ? [h('h3', {}, 'Agent'), h('ol', { id: 'agent-activity', class: 'mono' }, state.activity.map((a) => h('li', {}, `${time(a.at)} ${a.activity}`)))] : null,
    last?.result?.agent ? h('pre', { class: 'result', id: 'agent-diffstat' }, last.result.agent.diffstat || '(no change)') : null,
    treeSection(state.tree),
    h('p', {}, h('a', { href: `#/inspector/${encodeURIComponent(t.taskId)}` }, 'Show in the state inspector →')),
    h('h3', {}, 'Routing trace'),
    h('table', { class: 'list' }, h('thead', {}, h('tr', {}, ['time', 'state', 'tier', 'reason'].map((c) => h('th', {}, c)))),
      h('tbody', {}, state.events.map((e) => h('tr', {}, h('td', {}, time(e.at)), h('td', {}, e.state), h('td', {}, e.tier ?? '—'), h('td', {}, e.reason))))),
    last?.error ? h('p', { class: 'error' }, `${last.error.code}: ${last.error.message}`) : null,
    t.resultExcerpt || last?.result ? [h('h3', {}, 'Result'), h('pre', { class: 'result' }, last?.result?.text ?? t.resultExcerpt)] : null);
}

// ---- state inspector: the statechart from GET /api/statechart, drawn once, highlighted live ---
function drawChart(chart) {
  const arrow = s('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerUnits: 'userSpaceOnUse', markerWidth: 8, markerHeight: 8, orient: 'auto-start-reverse' }, s('path', { d: 'M0 0L10 5L0 10z' }));
  const node = (n) => s('g', { class: `node ${n.type}`, 'data-state': n.id },
    s('rect', { x: n.x, y: n.y, width: n.width, height: n.height, rx: 8 }),
    n.type === 'final' ? s('rect', { class: 'inner', x: n.x + 3, y: n.y + 3, width: n.width - 6, height: n.height - 6, rx: 6 }) : null,
    n.type === 'compound'
      ? s('text', { x: n.x + 10, y: n.y + 17 }, n.label)
      : s('text', { x: n.x + n.width / 2, y: n.y + n.height / 2 + 4, 'text-anchor': 'middle' }, n.label),
    s('title', {}, n.id));
  const edge = (e) => s('g', { class: `edge ${e.kind}`, 'data-source': e.source ?? '', 'data-target': e.target },
    s('path', { d: e.path, 'marker-end': 'url(#arrow)' }), s('title', {}, e.label || 'initial state'),
    e.kind === 'initial' ? s('circle', { cx: e.fromX, cy: e.fromY, r: 4 }) : null,
    e.kind === 'global' ? s('text', { x: e.fromX - 4, y: e.fromY - 6, 'text-anchor': 'end', class: 'edge-label' }, e.label) : null);
  fill($('#chart'), s('svg', { viewBox: `0 0 ${chart.width} ${chart.height}`, class: 'statechart', role: 'img', 'aria-label': `statechart of the ${chart.machineId} machine` },
    s('defs', {}, arrow),
    chart.nodes.filter((n) => n.type === 'compound').map(node), chart.edges.map(edge), chart.nodes.filter((n) => n.type !== 'compound').map(node)));
}
// Events name a state as the machine does ('Assigned', 'QueueOrFallback1.Waiting'); map to the drawn node.
function nodeOf(name) {
  const ids = new Set(state.chart?.nodes.map((n) => n.id));
  return ids.has(name) ? name : ids.has(name.split('.')[0]) ? name.split('.')[0] : '';
}
function highlight() {
  const svg = $('#chart svg');
  if (!svg) return;
  const path = state.events.map((e) => nodeOf(e.state));
  const current = path.at(-1) ?? '';
  for (const g of svg.querySelectorAll('.node')) {
    g.classList.toggle('visited', path.includes(g.dataset.state));
    g.classList.toggle('current', g.dataset.state === current);
  }
  const taken = new Set(path.slice(1).map((to, i) => `${path[i]}>${to}`));
  for (const g of svg.querySelectorAll('.edge')) g.classList.toggle('taken', taken.has(`${g.dataset.source}>${g.dataset.target}`));
  svg.dataset.current = current;
  const last = state.events.at(-1);
  $('#inspect-state').textContent = last ? `${last.taskId}: ${last.state} (${last.status}) — ${last.reason}` : state.selected ? `${state.selected}: waiting for its first event` : '';
  fill($('#timeline'), state.events.map((e) => h('li', { 'data-state': e.state }, h('time', {}, time(e.at)), ' ', h('strong', {}, e.state), ' ', h('span', { class: 'muted' }, e.reason))));
}
function renderSelected() { renderDetail(); highlight(); renderList(); }

// ---- workers, costs, budget, feed ------------------------------------------------------------
function renderWorkers() {
  const rows = [...state.workers.values()].sort((a, b) => a.tier.localeCompare(b.tier) || a.workerId.localeCompare(b.workerId));
  table($('#workers'), ['worker', 'tier', 'location', 'status', 'performance', 'success (24 h)', 'avg duration', 'net latency', 'load', 'current tasks', 'last seen'],
    rows.map((w) => h('tr', { 'data-worker': w.workerId }, h('td', { class: 'mono' }, w.workerId), h('td', {}, w.tier), h('td', {}, w.location),
      h('td', {}, h('span', { class: `pill ${w.status}` }, w.status)), h('td', {}, w.performanceFactor == null ? '—' : `×${w.performanceFactor.toFixed(2)}`),
      h('td', {}, `${pct(w.successRate)} of ${w.finished}`), h('td', {}, w.avgDurationMs == null ? '—' : `${(w.avgDurationMs / 1000).toFixed(1)} s`),
      h('td', {}, w.networkLatencyMs == null ? '—' : `${w.networkLatencyMs} ms`), h('td', {}, pct(w.load)),
      h('td', { class: 'mono' }, w.currentTasks.join(', ') || '—'), h('td', {}, time(w.lastSeen)))));
}
function costTable(el, report) {
  table(el, ['tier', 'model', 'requests', 'tokens', 'cost'], [
    ...report.byTierModel.map((r) => h('tr', {}, h('td', {}, r.tier), h('td', {}, r.model), h('td', {}, r.requests), h('td', {}, r.totalTokens), h('td', {}, usd(r.costUsd)))),
    h('tr', { class: 'total' }, h('th', {}, 'total'), h('td', {}, ''), h('td', {}, report.requests), h('td', {}, `${report.avgTokens} avg`), h('td', { class: 'total-usd' }, usd(report.totalUsd)))]);
}
function renderCosts(c) {
  costTable($('#costs-24h'), c.last24h);
  costTable($('#costs-mtd'), c.monthToDate);
  // Spend by the gateway key each task came through; tasks from the CLI or the bus have none.
  table($('#costs-by-key'), ['key', 'requests', 'cost'], (c.monthToDate.byKey ?? []).map((k) =>
    h('tr', { 'data-key': k.key ?? '' }, h('td', { class: k.key ? 'mono' : 'muted' }, k.key ?? 'not through the gateway'), h('td', {}, k.requests), h('td', {}, usd(k.usd)))));
  const W = 760, H = 200, pad = 36, n = c.hourly.hours.length, bw = (W - pad * 2) / n;
  const max = Math.max(0.01, ...c.hourly.total);
  knowTiers(Object.keys(c.hourly.byTier));
  const bars = c.hourly.hours.flatMap((hour, i) => {
    let y = H - pad;
    return TIERS.map((tier) => {
      const v = c.hourly.byTier[tier]?.[i] ?? 0, bh = (v / max) * (H - pad * 2);
      y -= bh;
      return v > 0 ? s('rect', { class: `bar ${tier}`, x: pad + i * bw + 2, y, width: bw - 4, height: bh }, s('title', {}, `${time(hour)}: ${tier} ${usd(v)}`)) : null;
    });
  });
  const ticks = c.hourly.hours.map((hour, i) => (i % 3 === 0 ? s('text', { x: pad + i * bw + bw / 2, y: H - pad + 14, 'text-anchor': 'middle' }, new Date(hour).getHours().toString().padStart(2, '0')) : null));
  fill($('#cost-chart'), s('svg', { viewBox: `0 0 ${W} ${H}`, class: 'costs', role: 'img', 'aria-label': 'cost per hour by tier' },
    s('line', { x1: pad, y1: H - pad, x2: W - pad, y2: H - pad, class: 'axis' }), s('text', { x: pad, y: pad - 10 }, `max ${usd(max)}/h`), bars, ticks,
    TIERS.map((t, i) => s('g', { class: 'legend' }, s('rect', { class: `bar ${t}`, x: W - pad - 100 * TIERS.length + i * 100, y: 8, width: 10, height: 10 }), s('text', { x: W - pad - 100 * TIERS.length + 14 + i * 100, y: 17 }, t)))));
}
function renderBudget(m) {
  const b = m.budget, f = b.limitUsd > 0 ? Math.min(1, b.spentUsd / b.limitUsd) : 1, fr = b.limitUsd > 0 ? Math.min(1, (b.spentUsd + b.reservedUsd) / b.limitUsd) : 1;
  const R = 90, C = [110, 110], at = (x) => [C[0] - R * Math.cos(Math.PI * x), C[1] - R * Math.sin(Math.PI * x)];
  const arc = (a, z) => { const [x1, y1] = at(a), [x2, y2] = at(z); return `M ${x1} ${y1} A ${R} ${R} 0 0 1 ${x2} ${y2}`; };
  const [tx1, ty1] = at(b.alertThresholdPercent / 100), tick = [C[0] + (tx1 - C[0]) * 1.18, C[1] + (ty1 - C[1]) * 1.18];
  fill($('#gauge'), s('svg', { viewBox: '0 0 220 140', class: `gauge-svg ${b.alertReached ? 'alert' : ''}`, role: 'img', 'aria-label': 'budget gauge' },
    s('path', { class: 'track', d: arc(0, 1) }), fr > f ? s('path', { class: 'reserved', d: arc(f, fr) }) : null, f > 0 ? s('path', { class: 'spent', d: arc(0, f) }) : null,
    s('line', { class: 'threshold', x1: tx1, y1: ty1, x2: tick[0], y2: tick[1] }, s('title', {}, `alert at ${b.alertThresholdPercent} %`)),
    s('text', { id: 'gauge-text', x: 110, y: 100, 'text-anchor': 'middle' }, `${usd(b.spentUsd)} of ${usd(b.limitUsd)}`),
    s('text', { class: 'muted', x: 110, y: 122, 'text-anchor': 'middle' }, `${b.limitUsd > 0 ? ((b.spentUsd / b.limitUsd) * 100).toFixed(1) : '—'} % · ${b.yearMonth}`)));
  const field = (k, v) => [h('dt', {}, k), h('dd', {}, v)];
  fill($('#budget-figures'), field('limit', usd(b.limitUsd)), field('spent', usd(b.spentUsd)), field('reserved', usd(b.reservedUsd)),
    field('remaining', usd(b.remainingUsd)), field('alert at', `${b.alertThresholdPercent} %`), field('cost, last 24 h', `${usd(m.costs24h.totalUsd)} over ${m.costs24h.requests} requests`),
    field('not reserved', m.unreserved ? `${usd(m.unreserved.totalUsd)} in ${m.unreserved.calls} calls` : 'unknown'));
  // The budget watch: a paid call no granted reservation covered is never silent.
  const watch = $('#unreserved-alert'), u = m.unreserved, newest = u?.recent?.[0];
  watch.hidden = !(u && u.calls > 0);
  watch.textContent = u && u.calls > 0 ? `Budget watch: ${usd(u.totalUsd)} of paid usage in ${u.calls} call${u.calls === 1 ? '' : 's'} not covered by a granted reservation${newest ? ` (newest: ${newest.usageId}, ${newest.reason})` : ''}.` : '';
  const banner = $('#alert');
  banner.hidden = !b.alertReached;
  banner.textContent = b.alertReached ? `Budget alert: ${usd(b.spentUsd)} spent + ${usd(b.reservedUsd)} reserved of ${usd(b.limitUsd)} in ${b.yearMonth}, past the ${b.alertThresholdPercent} % threshold: work that is not hard stays local.` : '';
}
function renderFeed() {
  table($('#feed'), ['time', 'kind', 'task', 'tier', 'change', 'reason'], state.feed.slice(0, 300).map((f) => h('tr', { class: f.kind },
    h('td', {}, time(f.at)), h('td', {}, f.kind.replaceAll('_', ' ')),
    h('td', { class: 'mono' }, f.taskId ? h('a', { href: `#/tasks/${encodeURIComponent(f.taskId)}` }, f.taskId) : '—'), h('td', {}, f.tier ?? '—'),
    h('td', {}, f.from ? `${f.from} → ${f.to} (${f.phase})` : ''), h('td', {}, f.reason))));
}
function onStatus({ status, metrics, workers }) {
  state.status = status;
  renderCounts();
  renderBudget(metrics);
  state.workers = new Map(workers.map((w) => [w.workerId, w]));
  renderWorkers();
  $('#ledger-error').hidden = true;
}

// ---- start: open the stream first, then load, so nothing happening meanwhile is missed ---------
let listQueued = false;
const renderListSoon = () => { if (!listQueued) { listQueued = true; requestAnimationFrame(() => { listQueued = false; renderList(); }); } };
function listen() {
  const es = new EventSource('/events');
  const on = (type, fn) => es.addEventListener(type, (m) => fn(JSON.parse(m.data)));
  es.onopen = () => { $('#conn').textContent = 'live'; $('#conn').className = 'conn live'; };
  es.onerror = () => { $('#conn').textContent = 'reconnecting…'; $('#conn').className = 'conn down'; };
  on('task', ({ event, summary }) => {
    const known = state.tasks.get(summary.taskId);
    if (!known || known.seq <= summary.seq) state.tasks.set(summary.taskId, summary);
    if (event.taskId === state.selected) { addEvent(event); renderDetail(); highlight(); }
    refreshTreeSoon(event);
    renderListSoon();
  });
  on('group', (g) => { state.groups.set(g.group, g); renderListSoon(); });
  on('status', onStatus);
  on('costs', renderCosts);
  on('worker', (w) => { if (w) { state.workers.set(w.workerId, w); renderWorkers(); } });
  on('feed', (f) => { state.feed.unshift(f); renderFeed(); });
  on('progress', (p) => {
    if (p.taskId !== state.selected) return;
    state.progress = p;
    if (p.activity) state.activity = [...state.activity, p].slice(-50);
    renderDetail();
  });
  on('ledger-error', (e) => { $('#ledger-error').hidden = false; $('#ledger-error').textContent = `Ledger unavailable: ${e.error}`; });
}
async function load() {
  for (const [name, values] of [['status', STATUSES], ['tier', TIERS]]) $(`#filters [name=${name}]`).append(...values.map((v) => h('option', { value: v }, v)));
  $('#filters').addEventListener('input', renderList);
  $('#filters').addEventListener('submit', (e) => e.preventDefault());
  $('#task-list tbody').addEventListener('click', (e) => {
    const group = e.target.closest('tr[data-group]');
    if (group && !e.target.closest('a')) {
      if (!state.collapsed.delete(group.dataset.group)) state.collapsed.add(group.dataset.group);
      renderList();
      return;
    }
    const tr = e.target.closest('tr[data-task]');
    if (tr) location.hash = `#/tasks/${encodeURIComponent(tr.dataset.task)}`;
  });
  $('#inspect-task').addEventListener('change', (e) => { if (e.target.value) location.hash = `#/inspector/${encodeURIComponent(e.target.value)}`; });
  window.addEventListener('hashchange', route);
  listen();
  state.chart = await api('/api/statechart');
  drawChart(state.chart);
  route();
  for (const t of await api('/api/tasks?limit=1000')) if (!state.tasks.has(t.taskId) || state.tasks.get(t.taskId).seq < t.seq) state.tasks.set(t.taskId, t);
  for (const g of await api('/api/sessions?limit=1000')) if (!state.groups.has(g.group)) state.groups.set(g.group, g);
  for (const f of (await api('/api/feed?limit=300')).reverse()) if (!state.feed.some((x) => x.at === f.at && x.reason === f.reason)) state.feed.unshift(f);
  renderFeed();
  renderSelected();
  try {
    const [status, metrics, workers, costs] = await Promise.all([api('/api/status'), api('/api/metrics'), api('/api/workers'), api('/api/costs')]);
    onStatus({ status, metrics, workers });
    renderCosts(costs);
  } catch (e) {
    $('#ledger-error').hidden = false;
    $('#ledger-error').textContent = `Ledger unavailable: ${e.message}`;
  }
  document.body.dataset.ready = 'true';
}
load();
