/**
 * budget_reservations: money set aside before a paid call, so concurrent routers cannot overspend.
 *
 * A grant needs `spent + active reservations + amount ≤ limit`. The call's usage then settles the
 * reservation (`recordUsage`), or the caller releases it.
 *
 * Concurrency: the check-then-insert runs in a `BEGIN IMMEDIATE` transaction, which takes the
 * database's write lock before reading, so routers in other processes queue (busy_timeout) instead
 * of both seeing the same headroom.
 */
import type { Tier } from '../core/types.ts';
import { ensureMonthRow, mustStatus, type MonthBudget } from './budget.ts';
import type { RESERVATION_STATUSES } from './schema-v3.ts';
import { BUDGET_EPSILON_USD, canReserve } from '../policy/index.ts';
import { assertNonNegative, statementCache, type LedgerDb } from './sql.ts';
import { sqlTimestamp } from './time.ts';
import { gatewayKeyMonth, getGatewayKey } from './gatewayKeys.ts';
import { FINAL_TASK_STATUSES, getTask } from './tasks.ts';
import type { ReservationBook } from './ReservationBook.ts';
import { cappedParentOf, parentCanReserve, type ParentCapState } from './parentCaps.ts';

export type ReservationStatus = (typeof RESERVATION_STATUSES)[number];

export interface ReservationRecord {
  reservationId: string;
  taskId: string | null;
  tier: Tier;
  yearMonth: string;
  amountUsd: number;
  status: ReservationStatus;
  actualUsd: number | null;
  createdAt: string;
  settledAt: string | null;
  releasedAt: string | null;
}

export interface ReserveInput {
  reservationId: string;
  taskId: string | null;
  tier: Tier;
  amountUsd: number;
  yearMonth: string;
  /** Used only if the month has no row yet; an existing row's limit wins. */
  limitUsd: number;
  /** The gateway key the task came through: its own monthly budget, if it has one, must fit the amount too. */
  clientKey?: string;
  /** The task's parent: the nearest capped ancestor's cap (parentCaps.ts) must fit the amount too. */
  parentTaskId?: string;
  alertThresholdPercent?: number;
}

export interface ReserveResult {
  granted: boolean;
  /**
   * Why not granted: the budget lacks headroom, the key's budget does, this id was already
   * released, or its task has already ended (a request that arrived late, after its sender gave up).
   */
  reason: 'insufficient_budget' | 'key_budget' | 'parent_cap' | 'released' | 'task_ended' | null;
  /** The month after this call. */
  status: MonthBudget;
  /** When the key's budget refused: the key's month as the rule saw it. */
  key?: { name: string; limitUsd: number; spentUsd: number; reservedUsd: number };
  /** When a parent's cap refused: the capped parent as the rule saw it. */
  parent?: ParentCapState;
}

interface ReservationRow {
  reservation_id: string;
  task_id: string | null;
  tier: Tier;
  year_month: string;
  amount_usd: number;
  status: ReservationStatus;
  actual_usd: number | null;
  created_at: string;
  settled_at: string | null;
  released_at: string | null;
}

const toReservation = (r: ReservationRow): ReservationRecord => ({
  reservationId: r.reservation_id, taskId: r.task_id, tier: r.tier, yearMonth: r.year_month,
  amountUsd: r.amount_usd, status: r.status, actualUsd: r.actual_usd, createdAt: r.created_at,
  settledAt: r.settled_at, releasedAt: r.released_at,
});

/** A slice charged @cost stays active: leased, or returned with its usages not all applied yet. */
const SLICE_STAYS_ACTIVE = `kind = 'slice' AND status = 'active'
  AND (returned_usd IS NULL OR COALESCE(actual_usd, 0) + @cost < returned_usd - @eps)`;

const stmts = statementCache((db) => ({
  get: db.prepare<[string], ReservationRow>(
    'SELECT * FROM budget_reservations WHERE reservation_id = ?',
  ),
  insert: db.prepare(`INSERT INTO budget_reservations
      (reservation_id, task_id, tier, year_month, amount_usd, status, created_at, client_key, capped_parent)
    VALUES (@reservationId, @taskId, @tier, @yearMonth, @amountUsd, 'active', @now, @clientKey, @cappedParent)`),
  settle: db.prepare<[number, string, string]>(`UPDATE budget_reservations
    SET status = 'settled', actual_usd = ?, settled_at = ? WHERE reservation_id = ? AND status = 'active'`),
  release: db.prepare<[string, string]>(`UPDATE budget_reservations
    SET status = 'released', released_at = ? WHERE reservation_id = ? AND status = 'active'`),
  releaseTask: db.prepare<[string, string]>(`UPDATE budget_reservations
    SET status = 'released', released_at = ? WHERE task_id = ? AND status = 'active'`),
  releaseTaskTier: db.prepare<[string, string, string]>(`UPDATE budget_reservations
    SET status = 'released', released_at = ? WHERE task_id = ? AND tier = ? AND status = 'active'`),
  // A usage row always settles a call's reservation — even one released early, since money was
  // spent — and several usages of one reservation add up in actual_usd. A slice stays active while
  // leased, and once returned until its usages reach what its holder returned (budgetSlices.ts).
  charge: db.prepare<{ cost: number; now: string; id: string; eps: number }>(`UPDATE budget_reservations
    SET status = CASE WHEN ${SLICE_STAYS_ACTIVE} THEN 'active' ELSE 'settled' END,
        actual_usd = COALESCE(actual_usd, 0) + @cost,
        settled_at = CASE WHEN ${SLICE_STAYS_ACTIVE} THEN settled_at ELSE COALESCE(settled_at, @now) END
    WHERE reservation_id = @id`),
}));

/**
 * Charges one usage's cost to its reservation. Internal: `recordUsage` calls it inside its own
 * transaction.
 */
export function chargeReservation(db: LedgerDb, reservationId: string, costUsd: number, now: string): void {
  stmts(db).charge.run({ cost: costUsd, now, id: reservationId, eps: BUDGET_EPSILON_USD });
}

const reserveTx = statementCache((db) =>
  db.transaction((req: ReserveInput, now: string, book: ReservationBook | undefined): ReserveResult => {
    const s = stmts(db);
    ensureMonthRow(db, req.yearMonth, req.limitUsd, req.alertThresholdPercent ?? 80, now);
    const existing = s.get.get(req.reservationId);
    if (existing) {
      // Idempotent: a retried reserve must neither double-count nor revive a released hold.
      const released = existing.status === 'released';
      return { granted: !released, reason: released ? 'released' : null, status: book?.month(db, req.yearMonth) ?? mustStatus(db, req.yearMonth) };
    }
    const before = book?.month(db, req.yearMonth) ?? mustStatus(db, req.yearMonth);
    // A reserve that reaches the ledger after its task ended (its router timed out, routed the task
    // elsewhere, and the request was sent on after a reconnect) would hold money nothing releases.
    const task = req.taskId ? getTask(db, req.taskId) : null;
    if (task && FINAL_TASK_STATUSES.includes(task.status)) return { granted: false, reason: 'task_ended', status: before };
    // The budget rule (src/policy/budget.ts), decided inside the write lock.
    if (!canReserve(before, req.amountUsd)) {
      return { granted: false, reason: 'insufficient_budget', status: before };
    }
    // The same rule for the key's own month, under the same lock.
    const key = req.clientKey ? getGatewayKey(db, req.clientKey) : null;
    if (key?.monthlyBudgetUsd !== null && key?.monthlyBudgetUsd !== undefined) {
      const month = gatewayKeyMonth(db, key.name, req.yearMonth);
      const state = { ...before, limitUsd: key.monthlyBudgetUsd, ...month };
      if (!canReserve(state, req.amountUsd)) {
        return { granted: false, reason: 'key_budget', status: before, key: { name: key.name, limitUsd: key.monthlyBudgetUsd, ...month } };
      }
    }
    // The same rule for a capped parent's tree (a master's session), under the same lock.
    const cappedParent = cappedParentOf(db, req.parentTaskId);
    if (cappedParent !== null) {
      const parent = parentCanReserve(db, before, cappedParent, req.amountUsd);
      if (!parent.ok) return { granted: false, reason: 'parent_cap', status: before, parent: parent.state };
    }
    const { parentTaskId: _parent, ...row } = req;
    s.insert.run({ ...row, taskId: req.taskId ?? null, clientKey: req.clientKey ?? null, cappedParent, now });
    if (!book) return { granted: true, reason: null, status: mustStatus(db, req.yearMonth) };
    return { granted: true, reason: null, status: book.granted(db, req.yearMonth, req.amountUsd) };
  }),
);

/**
 * Atomically sets `amountUsd` aside for a paid call if the month can afford it. Idempotent by
 * `reservationId`: repeating an active or settled reservation returns `granted: true` without
 * reserving again; a released one returns `granted: false, reason: 'released'`.
 *
 * @example
 * const r = reserveBudget(db, { reservationId: 'task-1/try-1', taskId: 'task-1', tier: 'gpt5_high',
 *   amountUsd: 0.42, yearMonth: currentYearMonth(), limitUsd: 100 });
 * if (!r.granted) routeLocally();
 * // A ledger serving many: the months kept in memory between reservations (see ReservationBook).
 * reserveBudget(db, next, { book });
 */
export function reserveBudget(db: LedgerDb, req: ReserveInput, opts: { now?: Date; book?: ReservationBook } = {}): ReserveResult {
  assertNonNegative('amountUsd', req.amountUsd);
  return reserveTx(db).immediate(req, sqlTimestamp(opts.now), opts.book);
}

/**
 * Returns an unused reservation's money to the month. Idempotent.
 *
 * @returns true if this call released it; false if unknown, already settled or already released.
 * @example
 * releaseReservation(db, 'task-1/try-1'); // the call failed before the provider billed anything
 */
export function releaseReservation(db: LedgerDb, reservationId: string, opts: { now?: Date } = {}): boolean {
  return stmts(db).release.run(sqlTimestamp(opts.now), reservationId).changes > 0;
}

/**
 * Returns every active reservation of a task to the month: its final event's own reservation, and
 * any the task's router asked for but never heard back about (a reply lost in a reconnect).
 * Idempotent; settled reservations stay settled.
 *
 * @returns how many this call released.
 * @example
 * releaseTaskReservations(db, 'task-1'); // the task completed
 */
export function releaseTaskReservations(db: LedgerDb, taskId: string, opts: { now?: Date } = {}): number {
  return stmts(db).releaseTask.run(sqlTimestamp(opts.now), taskId).changes;
}

/**
 * Returns the active reservations a task holds on one tier: the attempt there has ended (the task
 * fell back from it), and the worker charged whatever it spent before it reported so. Idempotent.
 *
 * @returns how many this call released.
 * @example
 * releaseTierReservations(db, 'task-1', 'gpt5_high'); // the gpt5_high attempt failed; the task goes on to gpt5_medium
 */
export function releaseTierReservations(db: LedgerDb, taskId: string, tier: Tier, opts: { now?: Date } = {}): number {
  return stmts(db).releaseTaskTier.run(sqlTimestamp(opts.now), taskId, tier).changes;
}

/**
 * Closes an active reservation with its actual cost, for when the spend is not recorded against it
 * through `recordUsage` (which settles by itself). It does NOT add to `spent_usd`: only usage rows
 * charge the month, so `spent_usd` always equals the sum of `cost_tracking`. Idempotent.
 *
 * @returns true if this call settled it; false if unknown, already settled or released.
 * @example
 * settleReservation(db, 'task-1/try-1', 0.37);
 */
export function settleReservation(
  db: LedgerDb, reservationId: string, actualUsd: number, opts: { now?: Date } = {},
): boolean {
  assertNonNegative('actualUsd', actualUsd);
  return stmts(db).settle.run(actualUsd, sqlTimestamp(opts.now), reservationId).changes > 0;
}

/** @example getReservation(db, 'task-1/try-1')?.status // => 'settled' */
export function getReservation(db: LedgerDb, reservationId: string): ReservationRecord | null {
  const row = stmts(db).get.get(reservationId);
  return row ? toReservation(row) : null;
}
