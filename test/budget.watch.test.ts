/**
 * The ledger watches the budget rule live: a paid call that no granted reservation of its task
 * covers is still charged in full, and recorded with what was not covered and why; `koubou
 * status` (and --json), the dashboard's page and API, and `/metrics`
 * (`koubou_unreserved_usd_total`) show it. In SQLite, then on the whole system over NATS and HTTP.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream } from '@nats-io/jetstream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Dashboard } from '../actors/dashboard/index.ts';
import { EventWriter } from '../actors/ledger/EventWriter.ts';
import { encode, SUBJECTS } from '../src/bus/index.ts';
import { fetchStatus, formatStatus } from '../src/cli/commands/status.ts';
import {
  currentYearMonth, getBudgetStatus, getReservation, openLedgerDb, recordUsage, releaseReservation, reserveBudget, unreservedReport, upsertTask, type LedgerDb,
} from '../src/db/index.ts';
import { startSystem, uniqueId, type TestSystem } from './support/system.ts';

const usage = { tier: 'gpt5_high', model: 'gpt-5', promptTokens: 100, cachedPromptTokens: 0, completionTokens: 10, reasoningTokens: 0 };

describe('the watch, in SQLite', () => {
  let db: LedgerDb;
  afterEach(() => db?.close());

  const open = () => {
    db = openLedgerDb(join(mkdtempSync(join(tmpdir(), 'koubou-watch-')), 'ledger.db'));
    for (const id of ['t1', 't2']) upsertTask(db, { taskId: id, taskType: 'general', difficulty: 'high', sensitivity: 'public', status: 'in_progress', tier: 'gpt5_high', reason: 'test' });
    const month = currentYearMonth();
    reserveBudget(db, { reservationId: 'r1', taskId: 't1', tier: 'gpt5_high', amountUsd: 0.5, yearMonth: month, limitUsd: 10 });
    reserveBudget(db, { reservationId: 'r2', taskId: 't2', tier: 'gpt5_high', amountUsd: 0.5, yearMonth: month, limitUsd: 10 });
    reserveBudget(db, { reservationId: 'r3', taskId: 't2', tier: 'gpt5_high', amountUsd: 0.5, yearMonth: month, limitUsd: 10 });
    return db;
  };
  const charge = (usageId: string, taskId: string, costUsd: number, reservationId: string | null) =>
    recordUsage(db, { ...usage, usageId, taskId, costUsd, reservationId }, { monthlyLimitUsd: 10 });

  it('records nothing while every paid call is covered by its task\'s reservation, nor for a free call', () => {
    open();
    charge('u1', 't1', 0.2, 'r1');
    charge('u2', 't1', 0.3, 'r1');
    charge('u3', 't2', 0, null);
    expect(unreservedReport(db)).toEqual({ totalUsd: 0, calls: 0, recent: [] });
  });

  it('records each way a paid call goes uncovered, charged in full all the same, once per usage id', () => {
    open();
    charge('none', 't1', 0.01, null);
    charge('forged', 't1', 0.02, 'never-granted');
    charge('borrowed', 't1', 0.03, 'r2');
    charge('within', 't1', 0.4, 'r1');
    charge('past', 't1', 0.3, 'r1');
    expect(releaseReservation(db, 'r3')).toBe(true);
    charge('late', 't2', 0.05, 'r3');
    // A redelivered usage is charged once and recorded once.
    expect(charge('none', 't1', 0.01, null)).toBe(false);
    const report = unreservedReport(db, 10);
    expect(report.calls).toBe(5);
    const byId = Object.fromEntries(report.recent.map((r) => [r.usageId, r]));
    expect(byId.none).toMatchObject({ reason: 'no_reservation', uncoveredUsd: 0.01, costUsd: 0.01, taskId: 't1', tier: 'gpt5_high' });
    expect(byId.forged).toMatchObject({ reason: 'not_granted', uncoveredUsd: 0.02, reservationId: 'never-granted' });
    expect(byId.borrowed).toMatchObject({ reason: 'other_task', uncoveredUsd: 0.03 });
    // r1 held $0.50: $0.40 + $0.30 is $0.20 past it.
    expect(byId.past!.reason).toBe('exceeded');
    expect(byId.past!.uncoveredUsd).toBeCloseTo(0.2, 12);
    expect(byId.within).toBeUndefined();
    expect(byId.late).toMatchObject({ reason: 'released', uncoveredUsd: 0.05 });
    expect(report.totalUsd).toBeCloseTo(0.01 + 0.02 + 0.03 + 0.2 + 0.05, 12);
    // Charged in full: the month's spend is every call's cost.
    expect(getBudgetStatus(db, currentYearMonth())!.spentUsd).toBeCloseTo(0.01 + 0.02 + 0.03 + 0.4 + 0.3 + 0.05, 12);
  });
});

describe('the watch, live', () => {
  let sys: TestSystem;
  let dashboard: Dashboard;
  let url = '';
  const taskId = uniqueId('unreserved');

  beforeAll(async () => {
    sys = await startSystem({ workers: [] });
    dashboard = new Dashboard({ nc: await sys.nats.connect('dashboard'), port: 0 });
    url = (await dashboard.start()).url;
  });
  afterAll(async () => {
    await dashboard?.stop();
    await sys?.stop();
  });

  it('shows a paid call with no reservation in koubou status, on the dashboard and in /metrics; nothing before it', async () => {
    const before = await fetchStatus(sys.submitter, sys.nats.url);
    expect(before.unreserved).toEqual({ totalUsd: 0, calls: 0, recent: [] });
    expect(formatStatus(before)).toMatch(/Paid calls without a reservation\n {2}every paid call covered by a granted reservation\n/);
    expect(await (await fetch(`${url}metrics`)).text()).toMatch(/^# TYPE koubou_unreserved_usd_total counter\nkoubou_unreserved_usd_total 0$/m);

    // A cloud worker's usage naming no reservation, as a worker that skipped the check would send it.
    const worker = await sys.nats.connect('cloud_worker');
    await jetstream(worker).publish(SUBJECTS.usage, encode({
      usageId: `${taskId}:1:1`, taskId, attempt: 1, workerId: 'rogue-1', ...usage, costUsd: 0.0375, reservationId: null, at: new Date().toISOString(),
    }), { msgID: `usage:${taskId}:1:1` });
    let status = before;
    for (let i = 0; i < 200 && !status.unreserved?.calls; i++) {
      await new Promise((r) => setTimeout(r, 25));
      status = await fetchStatus(sys.submitter, sys.nats.url);
    }

    // koubou status --json is this report; the human view raises an ALERT naming the call.
    expect(status.unreserved).toMatchObject({ totalUsd: 0.0375, calls: 1, recent: [{ usageId: `${taskId}:1:1`, taskId, tier: 'gpt5_high', reason: 'no_reservation', uncoveredUsd: 0.0375 }] });
    expect(JSON.parse(JSON.stringify(status)).unreserved.calls).toBe(1);
    expect(formatStatus(status)).toMatch(new RegExp(`ALERT: \\$0\\.0375 of paid usage in 1 call not covered by a granted reservation \\(newest first\\):\\n.*${taskId}:1:1  gpt5_high  \\$0\\.0375 of \\$0\\.0375  no_reservation`));

    // The dashboard: its metrics API carries it for the page's alert banner, and /metrics counts it.
    const metrics = await (await fetch(`${url}api/metrics`)).json() as { unreserved: { totalUsd: number; calls: number } };
    expect(metrics.unreserved).toMatchObject({ totalUsd: 0.0375, calls: 1 });
    expect(await (await fetch(url)).text()).toContain('<div id="unreserved-alert" class="banner alert" role="alert" hidden></div>');
    const prom = await (await fetch(`${url}metrics`)).text();
    expect(prom).toMatch(/^koubou_unreserved_usd_total 0\.0375$/m);
    expect(prom).toMatch(/^koubou_unreserved_calls_total 1$/m);
  });
});

describe('releases, in the order of the event stream', () => {
  it('an execution fallback releases the reservation of the tier it leaves, after the attempt\'s charge', () => {
    const db = openLedgerDb(join(mkdtempSync(join(tmpdir(), 'koubou-release-')), 'ledger.db'));
    try {
      const writer = new EventWriter(db, { monthlyLimitUsd: 10 });
      const month = currentYearMonth();
      const at = new Date().toISOString();
      reserveBudget(db, { reservationId: 't1:gpt5_high:1', taskId: 't1', tier: 'gpt5_high', amountUsd: 0.5, yearMonth: month, limitUsd: 10 });
      reserveBudget(db, { reservationId: 't1:gpt5_medium:2', taskId: 't1', tier: 'gpt5_medium', amountUsd: 0.25, yearMonth: month, limitUsd: 10 });
      // The worker charges its call, then reports the attempt failed; the router's step follows on the stream.
      writer.usage({ usageId: 't1:1:1', taskId: 't1', attempt: 1, workerId: 'w', ...usage, costUsd: 0.1, reservationId: 't1:gpt5_high:1', at });
      const fallbackEvent = (taskId: string, seq: number, next: string) => ({
        taskId, seq, at, status: 'in_progress' as const, state: 'ExecutionFallback', reason: 'execution failed', tier: 'gpt5_medium', attempt: 1,
        type: 'general' as const, priority: 5, sensitivity: { level: 'public' as const, categories: [] }, difficulty: { level: 'high' as const, score: 4, tokens: 100 },
        promptSummary: 'p', workerId: 'w', reservationId: next, error: null,
        fallback: { from: 'gpt5_high', to: 'gpt5_medium', reason: 'execution failed', phase: 'execution' as const },
      });
      // An attempt that failed before any charge: its money goes back to the month with the fallback.
      reserveBudget(db, { reservationId: 't2:gpt5_high:1', taskId: 't2', tier: 'gpt5_high', amountUsd: 0.5, yearMonth: month, limitUsd: 10 });
      writer.taskEvents([fallbackEvent('t2', 1, 't2:gpt5_medium:2')]);
      expect(getReservation(db, 't2:gpt5_high:1')?.status).toBe('released');
      writer.taskEvents([{
        taskId: 't1', seq: 1, at, status: 'in_progress', state: 'ExecutionFallback', reason: 'execution failed', tier: 'gpt5_medium', attempt: 1,
        type: 'general', priority: 5, sensitivity: { level: 'public', categories: [] }, difficulty: { level: 'high', score: 4, tokens: 100 },
        promptSummary: 'p', workerId: 'w', reservationId: 't1:gpt5_medium:2', error: null,
        fallback: { from: 'gpt5_high', to: 'gpt5_medium', reason: 'execution failed', phase: 'execution' },
      }]);
      // The charged one stays settled; the next tier's is still held for its attempt.
      expect(getReservation(db, 't1:gpt5_high:1')).toMatchObject({ status: 'settled', actualUsd: 0.1 });
      expect(getReservation(db, 't1:gpt5_medium:2')?.status).toBe('active');
      expect(unreservedReport(db).calls).toBe(0);
    } finally {
      db.close();
    }
  });
});
