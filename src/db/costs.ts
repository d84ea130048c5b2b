/**
 * cost_tracking: one row per provider call, and the month/task/reservation totals it moves.
 */
import type { Tier, Usage } from '../core/types.ts';
import { budgetStatements, ensureMonthRow } from './budget.ts';
import { chargeReservation } from './reservations.ts';
import { watchUsage } from './unreservedUsage.ts';
import { assertCount, assertNonNegative, atomicWrite, statementCache, type LedgerDb } from './sql.ts';
import { currentYearMonth, monthRange, sinceTimestamp, sqlTimestamp } from './time.ts';

/** One provider call's usage. `usageId` must be stable across retries of the same record. */
export interface UsageRecord extends Usage {
  usageId: string;
  /** The task it was spent on (must exist in task_master), or null for overhead calls. */
  taskId: string | null;
  /** Stored in the seed's `worker_type` column. */
  tier: Tier;
  model: string;
  costUsd: number;
  /** The reservation this call consumes; it is settled in the same transaction. */
  reservationId?: string | null;
}

/** Where a usage's month row comes from when the month has none yet (configured budget). */
export interface RecordUsageOptions {
  monthlyLimitUsd: number;
  alertThresholdPercent?: number;
  /** Clock override (tests); decides the budget month and the row's timestamp. */
  now?: Date;
}

/** Spend of one tier/model over a window. */
export interface CostSummary {
  tier: string;
  model: string;
  requests: number;
  promptTokens: number;
  cachedPromptTokens: number;
  completionTokens: number;
  reasoningTokens: number;
  totalTokens: number;
  costUsd: number;
}

const stmts = statementCache((db) => ({
  insert: db.prepare(`INSERT INTO cost_tracking (usage_id, task_id, worker_type, model_name,
      prompt_tokens, cached_prompt_tokens, completion_tokens, reasoning_tokens, total_tokens,
      cost_usd, reservation_id, timestamp)
    VALUES (@usageId, @taskId, @tier, @model, @promptTokens, @cachedPromptTokens, @completionTokens,
      @reasoningTokens, @totalTokens, @costUsd, @reservationId, @now)
    ON CONFLICT(usage_id) DO NOTHING`),
  addToTask: db.prepare<[number, number, string, string]>(`UPDATE task_master
    SET actual_cost = COALESCE(actual_cost, 0) + ?, actual_tokens = COALESCE(actual_tokens, 0) + ?,
        updated_at = ? WHERE task_id = ?`),
  since: db.prepare<[string], CostSummary>(`SELECT worker_type AS tier, model_name AS model,
      COUNT(*) AS requests, SUM(prompt_tokens) AS promptTokens,
      SUM(cached_prompt_tokens) AS cachedPromptTokens, SUM(completion_tokens) AS completionTokens,
      SUM(reasoning_tokens) AS reasoningTokens, SUM(total_tokens) AS totalTokens,
      SUM(cost_usd) AS costUsd
    FROM cost_tracking WHERE timestamp > ? GROUP BY worker_type, model_name
    ORDER BY costUsd DESC, tier, model`),
  between: db.prepare<[string, string], { total: number }>(
    'SELECT COALESCE(SUM(cost_usd), 0) AS total FROM cost_tracking WHERE timestamp >= ? AND timestamp < ?',
  ),
}));

const recordOne = atomicWrite((db: LedgerDb, u: UsageRecord, opts: RecordUsageOptions): boolean => {
  const nowDate = opts.now ?? new Date();
  const now = sqlTimestamp(nowDate);
  // Reasoning tokens are already inside completionTokens (see core Usage), so not added again.
  const totalTokens = u.promptTokens + u.completionTokens;
  const inserted = stmts(db).insert.run({
    ...u, taskId: u.taskId, reservationId: u.reservationId ?? null, totalTokens, now,
  });
  if (inserted.changes === 0) return false; // this usageId was recorded before: charge nothing
  const yearMonth = currentYearMonth(nowDate);
  ensureMonthRow(db, yearMonth, opts.monthlyLimitUsd, opts.alertThresholdPercent ?? 80, now);
  budgetStatements(db).addSpent.run(u.costUsd, yearMonth);
  // Read before the charge settles it: was this paid call covered by a granted reservation of its task?
  watchUsage(db, u, now);
  if (u.reservationId) chargeReservation(db, u.reservationId, u.costUsd, now);
  if (u.taskId !== null) stmts(db).addToTask.run(u.costUsd, totalTokens, now, u.taskId);
  return true;
});

/**
 * Records one provider call. In ONE transaction: inserts the cost row, adds the cost to the
 * current UTC month's `spent_usd` (creating the month with `monthlyLimitUsd` if needed), records a
 * paid call that no granted reservation of its task covers (`watchUsage`), settles
 * `reservationId` if given, and adds cost and tokens to the task's actual totals.
 *
 * Idempotent by `usageId`: a repeat (e.g. a redelivered message) changes nothing and returns false.
 * An unknown `reservationId` is kept on the row but settles nothing — cost must never be lost to a
 * bookkeeping mismatch. An unknown `taskId` is a caller bug and fails the seed's FOREIGN KEY.
 *
 * @returns true if recorded now, false if this usageId was already recorded.
 * @example
 * recordUsage(db, { usageId: 'resp_abc', taskId: 't1', tier: 'gpt5_high', model: 'gpt-5',
 *   promptTokens: 1200, cachedPromptTokens: 0, completionTokens: 800, reasoningTokens: 500,
 *   costUsd: 0.0095, reservationId: 't1/try-1' }, { monthlyLimitUsd: 100 }); // => true
 */
export function recordUsage(db: LedgerDb, usage: UsageRecord, opts: RecordUsageOptions): boolean {
  assertNonNegative('costUsd', usage.costUsd);
  assertCount('promptTokens', usage.promptTokens);
  assertCount('cachedPromptTokens', usage.cachedPromptTokens);
  assertCount('completionTokens', usage.completionTokens);
  assertCount('reasoningTokens', usage.reasoningTokens);
  if (usage.usageId === '') throw new RangeError('usageId must not be empty');
  return recordOne(db, usage, opts);
}

/**
 * Spend per tier and model over the last `hours`, most expensive first.
 *
 * @example
 * costSince(db, 24) // => [{ tier: 'gpt5_high', model: 'gpt-5', requests: 3, costUsd: 0.41, ... }]
 */
export function costSince(db: LedgerDb, hours: number, opts: { now?: Date } = {}): CostSummary[] {
  return stmts(db).since.all(sinceTimestamp(hours, opts.now));
}

/**
 * Total recorded cost in a UTC month (default: the current one), summed from cost_tracking.
 * Equals that month's `budget_management.spent_usd` because both are written together.
 *
 * @example
 * monthToDateSpend(db) // => 12.34
 */
export function monthToDateSpend(db: LedgerDb, yearMonth?: string, opts: { now?: Date } = {}): number {
  const { start, end } = monthRange(yearMonth ?? currentYearMonth(opts.now));
  return stmts(db).between.get(start, end)?.total ?? 0;
}
