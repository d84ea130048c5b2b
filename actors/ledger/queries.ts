/**
 * The ledger's answers to `koubou.ledger.query.*`, built from SQLite. Shared by the ledger actor
 * (which serves them) and the CLI (which prints them), so both agree on the shapes.
 */
import {
  costSince, countTasksByStatus, currentYearMonth, ensureMonth, getTask, listFallbacks, listRecentTasks, listRoutingDecisions,
  listWorkers, passRates, sinceTimestamp, spendByKey, unreservedReport, type LedgerDb,
} from '../../src/db/index.ts';

export type { BudgetConfig, BudgetReply, CostReport, CostsReply, RecentTask, StatusReply, TaskReply, ErrorReply } from '../../src/db/replies.ts';
import type { BudgetConfig, BudgetReply, CostReport, ErrorReply, RecentTask, StatusReply, TaskReply } from '../../src/db/replies.ts';

/** How many tasks `koubou status` lists. */
export const RECENT_TASKS = 10;

/**
 * The current UTC month, its row created from the config if missing.
 * @example budgetReply(db, { monthlyLimitUsd: 100, alertThresholdPercent: 80 }).limitUsd // => 100
 */
export function budgetReply(db: LedgerDb, config: BudgetConfig, now = new Date()): BudgetReply {
  const s = ensureMonth(db, currentYearMonth(now), config.monthlyLimitUsd, config.alertThresholdPercent, { now });
  return { yearMonth: s.yearMonth, limitUsd: s.limitUsd, spentUsd: s.spentUsd, reservedUsd: s.reservedUsd, alertThresholdPercent: s.alertThresholdPercent };
}

/** @example costReport(db, 24).totalUsd */
export function costReport(db: LedgerDb, sinceHours: number, now = new Date()): CostReport {
  const byTierModel = costSince(db, sinceHours, { now });
  const requests = byTierModel.reduce((n, r) => n + r.requests, 0);
  const tokens = byTierModel.reduce((n, r) => n + r.totalTokens, 0);
  return {
    totalUsd: byTierModel.reduce((n, r) => n + r.costUsd, 0),
    requests,
    avgTokens: requests ? Math.round(tokens / requests) : 0,
    byTierModel,
    byKey: spendByKey(db, sinceTimestamp(sinceHours, now)),
  };
}

/** @example statusReply(db, config).tasksByStatus.completed */
export function statusReply(db: LedgerDb, config: BudgetConfig, now = new Date()): StatusReply {
  return {
    workers: listWorkers(db),
    tasksByStatus: countTasksByStatus(db, 24, { now }),
    cost24h: costReport(db, 24, now),
    budget: budgetReply(db, config, now),
    unreserved: unreservedReport(db),
    passRates: passRates(db),
    recentTasks: listRecentTasks(db, { limit: RECENT_TASKS, sinceHours: 24, now }).map((t): RecentTask => ({
      taskId: t.taskId, status: t.status, tier: t.tier, actualCost: t.actualCost, askSummary: t.askSummary, createdAt: t.createdAt,
    })),
    at: now.toISOString(),
  };
}

/** @example taskReply(db, 't1') // => { task, routing: [...], fallbacks: [...] } or { error } */
export function taskReply(db: LedgerDb, taskId: string): TaskReply | ErrorReply {
  const task = getTask(db, taskId);
  if (!task) return { error: `unknown task ${taskId}: the ledger has no record of it` };
  return {
    task,
    routing: listRoutingDecisions(db, { taskId, limit: 10_000 }),
    fallbacks: listFallbacks(db, { taskId, limit: 10_000 }),
  };
}
