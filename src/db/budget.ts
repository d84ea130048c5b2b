/**
 * budget_management: one row per UTC month with its limit and what was spent.
 *
 * Money model: `spent_usd` is what providers actually charged, written only by `recordUsage` in
 * the same transaction as the cost row. Before a paid call a router *reserves* its estimate (see
 * `reservations.ts`). Amounts are REAL dollars compared with a 1e-9 tolerance — exact to the cent
 * and far beyond for any plausible number of rows.
 */
import { evaluateBudget } from '../policy/index.ts';
import { heldUsdSql } from './heldSql.ts';
import { assertNonNegative, statementCache, type LedgerDb } from './sql.ts';
import { monthRange, sqlTimestamp } from './time.ts';

/** A month's budget as seen now. */
export interface MonthBudget {
  yearMonth: string;
  limitUsd: number;
  /** Charged by providers so far this month. */
  spentUsd: number;
  /** What this month's active reservations and slices hold (`HELD_USD_SQL`). */
  reservedUsd: number;
  /** `limit - spent`: the seed's generated column; does not subtract reservations. */
  remainingUsd: number;
  /** `limit - spent - reserved`: what a new reservation may still take (negative if overrun). */
  availableUsd: number;
  alertThresholdPercent: number;
  /**
   * True once `spent + reserved ≥ limit × threshold%`: the budget rule of src/policy/budget.ts,
   * the same the router routes by (`critical`).
   */
  alertReached: boolean;
}

interface StatusRow {
  year_month: string;
  budget_limit_usd: number;
  spent_usd: number;
  remaining_usd: number;
  alert_threshold_percent: number;
  reserved_usd: number;
}

const toStatus = (r: StatusRow): MonthBudget => ({
  yearMonth: r.year_month,
  limitUsd: r.budget_limit_usd,
  spentUsd: r.spent_usd,
  reservedUsd: r.reserved_usd,
  remainingUsd: r.remaining_usd,
  availableUsd: r.budget_limit_usd - r.spent_usd - r.reserved_usd,
  alertThresholdPercent: r.alert_threshold_percent,
  alertReached: evaluateBudget({
    yearMonth: r.year_month, limitUsd: r.budget_limit_usd, spentUsd: r.spent_usd, reservedUsd: r.reserved_usd,
    alertThresholdPercent: r.alert_threshold_percent,
  }).critical,
});

/**
 * The same month with `reservedUsd` changed, its derived fields worked out again.
 * @example withReserved(month, month.reservedUsd + 0.5).availableUsd // => month.availableUsd - 0.5
 */
export const withReserved = (m: MonthBudget, reservedUsd: number): MonthBudget => toStatus({
  year_month: m.yearMonth, budget_limit_usd: m.limitUsd, spent_usd: m.spentUsd, remaining_usd: m.remainingUsd,
  alert_threshold_percent: m.alertThresholdPercent, reserved_usd: reservedUsd,
});

/** Statements shared with `costs.ts` and `reservations.ts`, which write inside their own transactions. */
export const budgetStatements = statementCache((db) => ({
  ensure: db.prepare(`INSERT INTO budget_management
      (year_month, budget_limit_usd, spent_usd, alert_threshold_percent, created_at)
    VALUES (?, ?, 0, ?, ?) ON CONFLICT(year_month) DO NOTHING`),
  setLimit: db.prepare(`UPDATE budget_management SET budget_limit_usd = ?,
      alert_threshold_percent = COALESCE(?, alert_threshold_percent) WHERE year_month = ?`),
  addSpent: db.prepare<[number, string]>(
    'UPDATE budget_management SET spent_usd = COALESCE(spent_usd, 0) + ? WHERE year_month = ?',
  ),
  status: db.prepare<[string], StatusRow>(`SELECT b.year_month, b.budget_limit_usd,
      COALESCE(b.spent_usd, 0) AS spent_usd, b.remaining_usd,
      COALESCE(b.alert_threshold_percent, 80) AS alert_threshold_percent,
      (SELECT COALESCE(SUM(${heldUsdSql('r')}), 0) FROM budget_reservations r
        WHERE r.year_month = b.year_month AND r.status = 'active') AS reserved_usd
    FROM budget_management b WHERE b.year_month = ?`),
}));

function assertThreshold(percent: number): void {
  if (!Number.isFinite(percent) || percent < 0 || percent > 100) {
    throw new RangeError(`alertThresholdPercent must be within 0..100, got ${String(percent)}`);
  }
}

/** Creates the month's row if missing (no-op otherwise). Internal: caller owns the transaction. */
export function ensureMonthRow(
  db: LedgerDb, yearMonth: string, limitUsd: number, alertThresholdPercent: number, now: string,
): void {
  monthRange(yearMonth); // validates the format
  assertNonNegative('limitUsd', limitUsd);
  assertThreshold(alertThresholdPercent);
  budgetStatements(db).ensure.run(yearMonth, limitUsd, alertThresholdPercent, now);
}

/** The month's status; for callers that just ensured the row inside their transaction. */
export const mustStatus = (db: LedgerDb, yearMonth: string): MonthBudget => {
  const row = budgetStatements(db).status.get(yearMonth);
  if (!row) throw new Error(`budget month ${yearMonth} vanished inside its transaction`);
  return toStatus(row);
};

const ensureTx = statementCache((db) =>
  db.transaction((yearMonth: string, limitUsd: number, threshold: number, now: string) => {
    ensureMonthRow(db, yearMonth, limitUsd, threshold, now);
    return mustStatus(db, yearMonth);
  }),
);

/**
 * Creates `yearMonth`'s budget row with this limit if it does not exist yet; an existing row is
 * left as is (use `setMonthLimit` to change it).
 *
 * @example
 * ensureMonth(db, '2025-03', 100, 80).remainingUsd // => 100 on a fresh month
 */
export function ensureMonth(
  db: LedgerDb, yearMonth: string, limitUsd: number, alertThresholdPercent = 80, opts: { now?: Date } = {},
): MonthBudget {
  return ensureTx(db).immediate(yearMonth, limitUsd, alertThresholdPercent, sqlTimestamp(opts.now));
}

/**
 * Changes an existing month's limit (and threshold, if given). Returns null if the month has no row.
 *
 * @example
 * setMonthLimit(db, '2025-03', 150);
 */
export function setMonthLimit(
  db: LedgerDb, yearMonth: string, limitUsd: number, alertThresholdPercent?: number,
): MonthBudget | null {
  assertNonNegative('limitUsd', limitUsd);
  if (alertThresholdPercent !== undefined) assertThreshold(alertThresholdPercent);
  budgetStatements(db).setLimit.run(limitUsd, alertThresholdPercent ?? null, yearMonth);
  return getBudgetStatus(db, yearMonth);
}

/**
 * @returns the month's status, or null if no row exists for it yet.
 * @example
 * getBudgetStatus(db, '2025-03') // => { yearMonth: '2025-03', limitUsd: 100, spentUsd: 12.5, ... }
 */
export function getBudgetStatus(db: LedgerDb, yearMonth: string): MonthBudget | null {
  const row = budgetStatements(db).status.get(yearMonth);
  return row ? toStatus(row) : null;
}

