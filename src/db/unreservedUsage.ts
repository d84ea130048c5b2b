/**
 * The ledger's watch of the budget rule: every paid call is covered by a reservation granted to
 * its own task, of at least what its calls cost. A usage that is not is still charged in full
 * (money spent is never lost to bookkeeping), and recorded here with what was not covered and why.
 */
import { BUDGET_EPSILON_USD } from '../policy/index.ts';
import { statementCache, type LedgerDb } from './sql.ts';

/** Why a paid call was not covered. */
export type UnreservedReason =
  /** The call named no reservation. */
  | 'no_reservation'
  /** It named one the ledger never granted. */
  | 'not_granted'
  /** It named a reservation of another task. */
  | 'other_task'
  /** Its reservation had been released before the call was charged: the money was free for others meanwhile. */
  | 'released'
  /** Its reservation's calls together cost more than it held. */
  | 'exceeded'
  /** It was charged to a budget slice the ledger had already closed, past its expiry and grace (budgetSlices.ts). */
  | 'slice_expired'
  /** It was charged to a budget slice leased for another gateway key (or for none) than its task's. */
  | 'other_key';

/** One paid call no granted reservation covered (in full, or the part past its reservation). */
export interface UnreservedUsage {
  usageId: string;
  taskId: string | null;
  tier: string;
  reservationId: string | null;
  costUsd: number;
  /** What no reservation covered: the whole cost, or the part past the reservation. */
  uncoveredUsd: number;
  reason: UnreservedReason;
  at: string;
}

/** The watch's totals, as `koubou status`, the dashboard and `/metrics` show them. */
export interface UnreservedReport {
  /** Every uncovered dollar ever recorded (a counter: `koubou_unreserved_usd_total`). */
  totalUsd: number;
  calls: number;
  /** The newest few, newest first. */
  recent: UnreservedUsage[];
}

interface ReservationState {
  task_id: string | null; amount_usd: number; actual_usd: number | null; status: string;
  kind: string; client_key: string | null; expired_at: string | null;
}

const stmts = statementCache((db) => ({
  reservation: db.prepare<[string], ReservationState>('SELECT task_id, amount_usd, actual_usd, status, kind, client_key, expired_at FROM budget_reservations WHERE reservation_id = ?'),
  taskKey: db.prepare<[string], { client_key: string | null }>('SELECT client_key FROM task_master WHERE task_id = ?'),
  insert: db.prepare(`INSERT INTO unreserved_usage (usage_id, task_id, tier, reservation_id, cost_usd, uncovered_usd, reason, timestamp)
    VALUES (@usageId, @taskId, @tier, @reservationId, @costUsd, @uncoveredUsd, @reason, @at) ON CONFLICT(usage_id) DO NOTHING`),
  totals: db.prepare<[], { usd: number; calls: number }>('SELECT COALESCE(SUM(uncovered_usd), 0) AS usd, COUNT(*) AS calls FROM unreserved_usage'),
  recent: db.prepare<[number], UnreservedUsage>(`SELECT usage_id AS usageId, task_id AS taskId, tier, reservation_id AS reservationId,
      cost_usd AS costUsd, uncovered_usd AS uncoveredUsd, reason, timestamp AS at FROM unreserved_usage ORDER BY timestamp DESC, rowid DESC LIMIT ?`),
}));

/** A usage as the watch needs it. */
export interface WatchedUsage { usageId: string; taskId: string | null; tier: string; costUsd: number; reservationId?: string | null }

/**
 * Whether a paid call is covered by its reservation, read BEFORE the call is charged to it; if not,
 * records it. Internal: `recordUsage` calls it inside its transaction, once per usage id.
 *
 * @returns the reason it was not covered, or null.
 */
export function watchUsage(db: LedgerDb, u: WatchedUsage, at: string): UnreservedReason | null {
  if (u.costUsd <= 0) return null;
  const found = u.reservationId ? stmts(db).reservation.get(u.reservationId) : undefined;
  let uncoveredUsd = u.costUsd;
  let reason = !u.reservationId ? 'no_reservation' : !found ? 'not_granted' : mismatch(db, found, u);
  if (reason === null && found) {
    const after = (found.actual_usd ?? 0) + u.costUsd;
    if (after > found.amount_usd + BUDGET_EPSILON_USD) {
      reason = 'exceeded';
      uncoveredUsd = Math.min(u.costUsd, after - found.amount_usd);
    }
  }
  if (reason) stmts(db).insert.run({ ...u, reservationId: u.reservationId ?? null, uncoveredUsd, reason, at });
  return reason;
}

/**
 * Why a granted reservation does not cover this usage at all, or null. A call's reservation covers
 * its own task's usages; a budget slice, the usages of any task of its gateway key, until the sweep
 * closed it past its expiry and grace (its money was free for others from then on).
 */
function mismatch(db: LedgerDb, found: ReservationState, u: WatchedUsage): UnreservedReason | null {
  if (found.kind === 'slice') {
    const taskKey = u.taskId === null ? null : stmts(db).taskKey.get(u.taskId)?.client_key ?? null;
    if (taskKey !== found.client_key) return 'other_key';
    if (found.expired_at !== null) return 'slice_expired';
  } else if (found.task_id !== u.taskId) return 'other_task';
  return found.status === 'released' ? 'released' : null;
}

/**
 * @example unreservedReport(db) // => { totalUsd: 0, calls: 0, recent: [] } while the rule holds
 */
export function unreservedReport(db: LedgerDb, recent = 5): UnreservedReport {
  const { usd, calls } = stmts(db).totals.get()!;
  return { totalUsd: usd, calls, recent: calls > 0 ? stmts(db).recent.all(recent) : [] };
}
