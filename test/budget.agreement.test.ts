/**
 * One budget rule: src/policy/budget.ts decides grant / refuse and critical / not, and
 * every place that shows or enforces the budget answers as it does on the same month —
 * the ledger's reservation in SQLite, its status, the router's budget check, `koubou
 * status` and the dashboard's gauge — at the threshold, at the limit and within float noise.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createActor, waitFor } from 'xstate';
import { createTaskMachine } from '../machines/task.machine.ts';
import { metricsView } from '../actors/dashboard/views.ts';
import { budgetReply, type StatusReply } from '../actors/ledger/queries.ts';
import { loadConfig, tierPlanOf } from '../src/config/index.ts';
import { formatBudget } from '../src/cli/commands/status.ts';
import { ensureMonth, getBudgetStatus, openLedgerDb, reserveBudget, type LedgerDb } from '../src/db/index.ts';
import { canReserve, evaluateBudget, yearMonthOf, type BudgetState } from '../src/policy/budget.ts';
import { createRoutingSteps } from '../src/routing/createRoutingSteps.ts';
import type { RoutingServices } from '../src/routing/index.ts';

const NOW = new Date(Date.UTC(2026, 11, 3, 12));
const MONTH = yearMonthOf(NOW.getTime());

/** limit, threshold %, spent, reserved (as separate reservations), and a new reservation's amount. */
const CASES: [label: string, limit: number, threshold: number, spent: number, reserved: number[], amount: number][] = [
  ['well below the threshold', 100, 80, 10, [5], 1],
  ['spent alone below, spent + reserved at the threshold', 100, 80, 70, [6, 4], 1],
  ['a nanodollar under the threshold', 100, 80, 79.999999, [], 1],
  ['exactly at the limit with the new amount', 1, 80, 0.7, [0.2], 0.1],
  ['a cent over the limit with the new amount', 1, 80, 0.7, [0.2], 0.11],
  ['over the limit already', 10, 50, 10.5, [], 0],
  ['a zero limit', 0, 80, 0, [], 0.01],
];

let db: LedgerDb | undefined;
afterEach(() => { db?.close(); db = undefined; });

function month(limit: number, threshold: number, spent: number, reserved: number[]): LedgerDb {
  db = openLedgerDb(join(mkdtempSync(join(tmpdir(), 'koubou-budget-')), 'ledger.db'));
  ensureMonth(db, MONTH, limit, threshold, { now: NOW });
  db.prepare('UPDATE budget_management SET spent_usd = ? WHERE year_month = ?').run(spent, MONTH);
  reserved.forEach((usd, i) => {
    expect(reserveBudget(db!, { reservationId: `held-${i}`, taskId: null, tier: 'gpt5_high', amountUsd: usd, yearMonth: MONTH, limitUsd: limit }, { now: NOW }).granted).toBe(true);
  });
  return db;
}

/** What the router's task machine decides in its CheckBudget step for this ledger's month. */
async function routerCritical(ledger: LedgerDb, limit: number, threshold: number): Promise<boolean> {
  const config = loadConfig({ env: {} });
  const services: RoutingServices = {
    scanSensitivity: async () => ({ level: 'public', categories: [], findings: [] }),
    budgetState: () => budgetReply(ledger, { monthlyLimitUsd: limit, alertThresholdPercent: threshold }, NOW),
    reserveBudget: async () => ({ granted: false, reason: 'not this test' }),
    checkRateLimit: async () => ({ available: true, waitMs: 0, reason: 'free' }),
    dispatch: async () => {},
    abortWork: () => {},
    now: () => NOW.getTime(),
  };
  const machine = createTaskMachine(tierPlanOf(config)).provide(createRoutingSteps(config, services));
  const actor = createActor(machine, {
    input: { task: { taskId: 't', type: 'general', priority: 5, prompt: 'fix a typo', files: [] }, policy: { maxRateLimitWaitMs: 0, internalStaysLocal: false } },
  }).start();
  const s = await waitFor(actor, (snap) => snap.context.budget !== null);
  actor.stop();
  expect(s.context.trace.find((t) => t.state === 'CheckBudget')?.reason).toMatch(/% of the monthly budget committed/);
  return s.context.budget!.critical;
}

describe('one budget rule', () => {
  it.each(CASES)('%s: the ledger, the router, koubou status and the dashboard agree with the rule', async (_label, limit, threshold, spent, reserved, amount) => {
    const ledger = month(limit, threshold, spent, reserved);
    const state: BudgetState = {
      yearMonth: MONTH, limitUsd: limit, spentUsd: spent, reservedUsd: reserved.reduce((a, b) => a + b, 0), alertThresholdPercent: threshold,
    };
    const rule = evaluateBudget(state).critical;

    expect(getBudgetStatus(ledger, MONTH)!.alertReached).toBe(rule);
    expect(await routerCritical(ledger, limit, threshold)).toBe(rule);
    const reply = budgetReply(ledger, { monthlyLimitUsd: limit, alertThresholdPercent: threshold }, NOW);
    expect(formatBudget(reply).includes('ALERT')).toBe(rule);
    expect(metricsView({ budget: reply, cost24h: { totalUsd: 0, requests: 0, avgTokens: 0 }, at: NOW.toISOString() } as unknown as StatusReply).budget.alertReached).toBe(rule);

    // The ledger grants a reservation exactly when the rule says it fits.
    const granted = reserveBudget(ledger, { reservationId: 'new', taskId: null, tier: 'gpt5_high', amountUsd: amount, yearMonth: MONTH, limitUsd: limit }, { now: NOW }).granted;
    expect(granted).toBe(canReserve(state, amount));
  });

  it('the threshold counts what is reserved: spent alone below it, the dashboard and the router both say critical', async () => {
    const ledger = month(100, 80, 70, [6, 4]);
    const reply = budgetReply(ledger, { monthlyLimitUsd: 100, alertThresholdPercent: 80 }, NOW);
    expect(reply.spentUsd).toBeLessThan(80);
    expect(await routerCritical(ledger, 100, 80)).toBe(true);
    expect(metricsView({ budget: reply, cost24h: { totalUsd: 0, requests: 0, avgTokens: 0 }, at: '' } as unknown as StatusReply).budget.alertReached).toBe(true);
  });
});
