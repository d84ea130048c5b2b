/**
 * Monthly budget arithmetic. The ledger stores spend and reservations; this module
 * only decides what they mean, so routers and tests can ask without a database.
 *
 * Everything is measured on *committed* money, spent + reserved: a reservation is
 * the worst-case cost of a call already under way, and counting it is what stops
 * ten concurrent tasks from each seeing the same last dollar as free.
 */

/** One month's budget as the ledger holds it. Amounts in USD. */
export interface BudgetState {
  /** UTC month, `YYYY-MM`. */
  yearMonth: string;
  limitUsd: number;
  /** Settled cost of finished calls. */
  spentUsd: number;
  /** Worst-case cost of calls still in flight. */
  reservedUsd: number;
  /** Percentage of the limit at which the budget turns critical, e.g. 80. */
  alertThresholdPercent: number;
}

export interface BudgetStatus {
  /** spent + reserved. */
  committedUsd: number;
  /** committed / limit × 100; may exceed 100. A zero limit reads as 100 when nothing is committed. */
  percentUsed: number;
  /**
   * True on the evaluation that crosses the threshold: this state is critical and
   * the `previous` one passed to {@link evaluateBudget} was not. Without a
   * `previous` it equals `critical`, as in the seed, which alerted on every check.
   */
  alert: boolean;
  /** committed ≥ threshold% of the limit: the router should keep non-high work local. */
  critical: boolean;
  /** limit − committed; negative once overspent (a call may cost more than reserved). */
  remainingUsd: number;
}

/**
 * Slack for comparisons of float dollar sums: a nanodollar, far below a single
 * token's price, far above the drift of adding a few thousand float costs.
 */
export const BUDGET_EPSILON_USD = 1e-9;

function check(state: BudgetState): void {
  for (const key of ['limitUsd', 'spentUsd', 'reservedUsd', 'alertThresholdPercent'] as const) {
    const v = state[key];
    if (!Number.isFinite(v) || v < 0) throw new RangeError(`budget ${key} must be a non-negative number, got ${v}`);
  }
}

function isCritical(state: BudgetState): boolean {
  const committed = state.spentUsd + state.reservedUsd;
  return committed >= (state.limitUsd * state.alertThresholdPercent) / 100 - BUDGET_EPSILON_USD;
}

/**
 * Where the month stands.
 *
 * @param previous the state at the last evaluation, to report `alert` only once, on crossing.
 * @example
 * const s = { yearMonth: '2026-11', limitUsd: 100, spentUsd: 70, reservedUsd: 12, alertThresholdPercent: 80 };
 * evaluateBudget(s);
 * // { committedUsd: 82, percentUsed: 82, alert: true, critical: true, remainingUsd: 18 }
 * evaluateBudget(s, { ...s, reservedUsd: 0 }).alert;  // true: 70% → 82% crosses 80%
 * evaluateBudget({ ...s, spentUsd: 75 }, s).alert;   // false: it was critical already
 */
export function evaluateBudget(state: BudgetState, previous?: BudgetState): BudgetStatus {
  check(state);
  const committedUsd = state.spentUsd + state.reservedUsd;
  const percentUsed =
    state.limitUsd > 0 ? (committedUsd / state.limitUsd) * 100 : committedUsd > 0 ? Infinity : 100;
  const critical = isCritical(state);
  let alert = critical;
  if (critical && previous !== undefined) {
    check(previous);
    // The previous month's state says nothing about this month's crossing.
    alert = previous.yearMonth !== state.yearMonth || !isCritical(previous);
  }
  return { committedUsd, percentUsed, alert, critical, remainingUsd: state.limitUsd - committedUsd };
}

/**
 * Whether `amountUsd` more can be reserved without committing beyond the limit.
 *
 * @throws RangeError for a negative or non-finite amount.
 * @example
 * canReserve({ yearMonth: '2026-11', limitUsd: 1, spentUsd: 0.7, reservedUsd: 0.2, alertThresholdPercent: 80 }, 0.1);
 * // true: 0.7 + 0.2 + 0.1 is 1.0000000000000002 in floats, within the epsilon
 */
export function canReserve(state: BudgetState, amountUsd: number): boolean {
  check(state);
  if (!Number.isFinite(amountUsd) || amountUsd < 0) {
    throw new RangeError(`reservation must be a non-negative number, got ${amountUsd}`);
  }
  return state.spentUsd + state.reservedUsd + amountUsd <= state.limitUsd + BUDGET_EPSILON_USD;
}

/**
 * The UTC month of an instant, as budgets are keyed: months turn over at UTC
 * midnight for every router, whatever its local time zone.
 *
 * @example
 * yearMonthOf(Date.UTC(2026, 10, 30, 23, 59)); // '2026-11'
 */
export function yearMonthOf(now: number): string {
  const d = new Date(now);
  if (Number.isNaN(d.getTime())) throw new RangeError(`yearMonthOf: not a time: ${now}`);
  return `${String(d.getUTCFullYear()).padStart(4, '0')}-${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
}
