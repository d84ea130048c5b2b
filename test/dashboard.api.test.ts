/**
 * The dashboard's JSON API and Prometheus text, checked against the ledger's own figures, with
 * the figures from the ledger over NATS and from its SQLite file read-only (`--db`).
 */
import { createInspector, type StatelyInspectionEvent } from '@statelyai/inspect';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Dashboard, InspectBridge } from '../actors/dashboard/index.ts';
import { costReport } from '../actors/ledger/index.ts';
import { countTasksByStatus, currentYearMonth, getBudgetStatus, getTask, listWorkers } from '../src/db/index.ts';
import { startSystem, type TestSystem } from './support/system.ts';
import { uniqueId } from './support/util.ts';

let sys: TestSystem;
const urls: Record<'nats' | 'sqlite', string> = { nats: '', sqlite: '' };
const dashboards: Dashboard[] = [];
const inspected: StatelyInspectionEvent[] = [];
const tasks: Record<string, string> = {};
const SECRET = ['hun', 'ter', '2-', 'Xy9'].join('');

const get = async (url: string) => {
  const r = await fetch(url);
  return { status: r.status, type: r.headers.get('content-type'), text: await r.text() };
};
const json = async <T = any>(url: string): Promise<T> => JSON.parse((await get(url)).text) as T;

async function until<T>(fn: () => T | null | undefined | false, what: string): Promise<T> {
  for (let i = 0; i < 400; i++) {
    const v = fn();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

beforeAll(async () => {
  sys = await startSystem();
  const inspector = createInspector({ send: (e: StatelyInspectionEvent) => inspected.push(e) });
  const nats = new Dashboard({ nc: await sys.nats.connect('dashboard'), port: 0, inspect: new InspectBridge(inspector) });
  const sqlite = new Dashboard({
    nc: await sys.nats.connect('dashboard'), port: 0, dbPath: sys.dbPath, budget: { monthlyLimitUsd: 100, alertThresholdPercent: 80 },
  });
  dashboards.push(nats, sqlite);
  urls.nats = (await nats.start()).url;
  urls.sqlite = (await sqlite.start()).url;
  for (const [name, prompt] of Object.entries({
    high: 'design a distributed architecture for our event pipeline',
    medium: 'refactor this module to use dependency injection',
    low: 'fix a typo in the README',
    secret: `design a distributed cache; the db password = "${SECRET}"`,
  })) {
    tasks[name] = uniqueId(name);
    await sys.submit({ taskId: tasks[name], prompt });
  }
  for (const id of Object.values(tasks)) await sys.finalEvent(id);
  // The ledger writes asynchronously: compare once it holds every final status and charge.
  await until(() => Object.values(tasks).every((id) => getTask(sys.db, id)?.status === 'completed' && getTask(sys.db, id)?.actualTokens), 'the ledger');
  // Heartbeats keep moving a worker between busy and idle: compare once all are idle again.
  await until(() => listWorkers(sys.db).length === 3 && listWorkers(sys.db).every((w) => w.status === 'idle'), 'idle workers');
});

afterAll(async () => {
  for (const d of dashboards) await d.stop();
  await sys?.stop();
});

describe.each(['nats', 'sqlite'] as const)('dashboard API with figures from %s', (source) => {
  it('GET /api/status: workers by type and status, tasks by status and difficulty, as the ledger counts them', async () => {
    const status = await json(`${urls[source]}api/status`);
    expect(status.source).toBe(source);
    const workers = new Map<string, number>();
    for (const w of listWorkers(sys.db)) workers.set(`${w.workerType}|${w.status}`, (workers.get(`${w.workerType}|${w.status}`) ?? 0) + 1);
    expect(new Map(status.workers.map((w: any) => [`${w.workerType}|${w.status}`, w.count]))).toEqual(workers);
    expect(status.tasksByStatus).toEqual(countTasksByStatus(sys.db, 24));
    const byDifficulty = sys.db.prepare(`SELECT status, difficulty_level AS difficulty, COUNT(*) AS count FROM task_master
      WHERE created_at > datetime('now', '-24 hours') GROUP BY 1, 2 ORDER BY 1, 2`).all();
    expect(status.tasks).toEqual(byDifficulty);
    expect(status.tasks.reduce((n: number, r: { count: number }) => n + r.count, 0)).toBe(4);
  });

  it('GET /api/metrics: 24 h cost, requests, average tokens and the month\'s budget', async () => {
    const metrics = await json(`${urls[source]}api/metrics`);
    const cost = costReport(sys.db, 24);
    expect(cost.requests).toBe(4);
    expect(metrics.costs24h.requests).toBe(cost.requests);
    expect(metrics.costs24h.avgTokens).toBe(cost.avgTokens);
    expect(metrics.costs24h.totalUsd).toBeCloseTo(cost.totalUsd, 12);
    const budget = getBudgetStatus(sys.db, currentYearMonth())!;
    expect(metrics.budget).toMatchObject({ yearMonth: budget.yearMonth, limitUsd: budget.limitUsd, alertReached: budget.alertReached });
    expect(metrics.budget.spentUsd).toBeCloseTo(budget.spentUsd, 12);
    expect(metrics.budget.remainingUsd).toBeCloseTo(budget.remainingUsd, 12);
  });

  it('GET /metrics: the same figures in the Prometheus text format', async () => {
    const r = await get(`${urls[source]}metrics`);
    expect(r.status).toBe(200);
    expect(r.type).toMatch(/^text\/plain; version=0\.0\.4/);
    const value = (series: string) => {
      const line = r.text.split('\n').find((l) => l.startsWith(`${series} `));
      if (!line) throw new Error(`no series ${series} in\n${r.text}`);
      return Number(line.slice(series.length + 1));
    };
    for (const name of ['koubou_tasks', 'koubou_cost_usd_24h', 'koubou_budget_limit_usd', 'koubou_budget_spent_usd', 'koubou_workers']) {
      expect(r.text).toContain(`# HELP ${name} `);
      expect(r.text).toContain(`# TYPE ${name} gauge`);
    }
    for (const [status, n] of Object.entries(countTasksByStatus(sys.db, 24))) expect(value(`koubou_tasks{status="${status}"}`)).toBe(n);
    for (const c of costReport(sys.db, 24).byTierModel) expect(value(`koubou_cost_usd_24h{tier="${c.tier}",model="${c.model}"}`)).toBeCloseTo(c.costUsd, 12);
    const budget = getBudgetStatus(sys.db, currentYearMonth())!;
    expect(value('koubou_budget_limit_usd')).toBe(budget.limitUsd);
    expect(value('koubou_budget_spent_usd')).toBeCloseTo(budget.spentUsd, 12);
    for (const w of listWorkers(sys.db)) expect(value(`koubou_workers{tier="${w.workerType}",status="${w.status}"}`)).toBe(1);
  });

  it('GET /api/tasks and /api/tasks/:id: the list, the ledger record and the event timeline', async () => {
    const list = await json<{ taskId: string; status: string; tokens: number; costUsd: number }[]>(`${urls[source]}api/tasks?limit=50`);
    expect(list.map((t) => t.taskId)).toEqual(expect.arrayContaining(Object.values(tasks)));
    // Its tokens and cost: from NATS, the calls its worker charged inside its execution message
    // (protocol 4), summed by the dashboard's follower; from SQLite, the ledger's own row.
    const medium = list.find((t) => t.taskId === tasks.medium)!;
    const charged = getTask(sys.db, tasks.medium!)!;
    expect(medium.costUsd).toBeGreaterThan(0);
    expect(medium.costUsd).toBeCloseTo(charged.actualCost ?? Number.NaN, 12);
    expect(medium.tokens).toBe(charged.actualTokens);
    const onlyLocal = await json<{ tier: string }[]>(`${urls[source]}api/tasks?tier=local`);
    expect(onlyLocal.length).toBeGreaterThan(0);
    expect(onlyLocal.every((t) => t.tier === 'local')).toBe(true);
    const detail = await json(`${urls[source]}api/tasks/${tasks.medium}`);
    expect(detail.ledger.task).toMatchObject({ taskId: tasks.medium, status: 'completed', tier: 'gpt5_medium' });
    expect(detail.events.map((e: { state: string }) => e.state)).toEqual((await sys.events(tasks.medium!)).map((e) => e.state));
    expect((await get(`${urls[source]}api/tasks/no-such-task`)).status).toBe(404);
    expect((await get(`${urls[source]}api/tasks/bad%20id`)).status).toBe(400);
  });

  it('never shows a confidential task\'s prompt or answer', async () => {
    const detail = await get(`${urls[source]}api/tasks/${tasks.secret}`);
    expect(detail.status).toBe(200);
    expect(detail.text).toContain('[confidential:');
    expect(detail.text).not.toContain(SECRET);
    expect((await get(`${urls[source]}api/tasks?limit=50`)).text).not.toContain(SECRET);
  });
});

describe('dashboard HTTP surface', () => {
  it('refuses to change anything', async () => {
    const r = await fetch(`${urls.nats}api/status`, { method: 'POST' });
    expect(r.status).toBe(405);
  });

  it('serves the statechart, the feed and the costs view', async () => {
    const chart = await json(`${urls.nats}api/statechart`);
    expect(chart).toMatchObject({ machineId: 'task', initial: 'ReceiveTask' });
    const costs = await json(`${urls.nats}api/costs`);
    expect(costs.last24h.totalUsd).toBeCloseTo(costReport(sys.db, 24).totalUsd, 12);
    expect(costs.monthToDate.totalUsd).toBeGreaterThanOrEqual(costs.last24h.totalUsd - 1e-12);
    expect(costs.hourly.hours).toHaveLength(24);
    expect(costs.hourly.total.reduce((a: number, b: number) => a + b, 0)).toBeCloseTo(costReport(sys.db, 24).totalUsd, 12);
    expect(Array.isArray(await json(`${urls.nats}api/feed`))).toBe(true);
  });

  it('reads a task older than its backfill from the event stream on demand', async () => {
    // Started now with a backfill of a few milliseconds: it has seen none of the tasks above.
    const late = new Dashboard({ nc: await sys.nats.connect('dashboard'), port: 0, backfillHours: 1e-6 });
    dashboards.push(late);
    const { url } = await late.start();
    expect(await json(`${url}api/tasks`)).toEqual([]);
    const detail = await json(`${url}api/tasks/${tasks.high}`);
    expect(detail.events.map((e: { seq: number }) => e.seq)).toEqual((await sys.events(tasks.high!)).map((e) => e.seq));
    expect(detail.summary).toMatchObject({ taskId: tasks.high, status: 'completed', complete: true });
  });

  it('--inspect replays live task events into inspected actors of the task machine', async () => {
    const actors = inspected.filter((e) => e.type === '@xstate.actor');
    const mine = actors.find((e) => e.sessionId === `koubou-task-${tasks.low}`);
    expect(mine?.definition).toContain('"id":"task"');
    const values = inspected.filter((e) => e.type === '@xstate.snapshot' && e.sessionId === mine?.sessionId)
      .map((e) => (e as { snapshot: { value: unknown } }).snapshot.value);
    expect(values[0]).toBe('ReceiveTask');
    expect(values).toContainEqual({ Assigned: 'Dispatching' });
    expect(values.at(-1)).toBe('Completed');
    expect(JSON.stringify(inspected)).not.toContain(SECRET);
  });
});
