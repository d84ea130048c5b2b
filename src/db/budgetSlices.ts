/**
 * Budget slices: a reservation a gateway leases for many paid calls, so that it reserves each call
 * from memory instead of asking the ledger. A slice is a row of budget_reservations
 * (`kind = 'slice'`, no task, no parent, its gateway as `holder`): it is granted by the same rule,
 * `spent + held + amount ≤ limit` for the month and for its gateway key's month, under the same
 * write lock as every reservation, so slices and reservations together never overshoot.
 *
 * Life of a slice (what it holds is `HELD_USD_SQL`, src/db/heldSql.ts):
 * - leased: holds `max(amount − actual, 0)`; usages naming it (reservationId = its id) add to its
 *   actual cost without settling it.
 * - returned by its holder with `chargedUsd`, what its calls cost by the holder's count (their
 *   usages are durable in JetStream, perhaps not yet applied here): holds `max(charged − actual, 0)`
 *   until they land, then it is settled (released if nothing was charged).
 * - not returned by `expires_at` (its gateway died or lost the bus): after a grace period in which
 *   records in flight land, the sweep closes it: what it still holds is released (status settled if
 *   anything was charged, else released; `expired_at` set). A usage that arrives later is still
 *   charged in full, and the budget watch records it as 'slice_expired'.
 */
import { BUDGET_EPSILON_USD, canReserve } from '../policy/index.ts';
import { ensureMonthRow, mustStatus, type MonthBudget } from './budget.ts';
import { gatewayKeyMonth, getGatewayKey } from './gatewayKeys.ts';
import { HELD_USD_SQL } from './heldSql.ts';
import type { ReservationStatus } from './reservations.ts';
import { assertNonNegative, statementCache, type LedgerDb } from './sql.ts';
import { sqlTimestamp } from './time.ts';

/** How long after its expiry a slice still holds its money, so its holder's records in flight land first. */
export const DEFAULT_SLICE_GRACE_MS = 30_000;
/** The tier column of a slice's row: a slice serves calls to any paid tier (each usage names its own). */
export const SLICE_TIER = 'slice';

export interface SliceRecord {
  sliceId: string;
  holder: string;
  clientKey: string | null;
  yearMonth: string;
  amountUsd: number;
  /** Charged so far by the usages that named it. */
  actualUsd: number;
  /** What its holder said its calls cost when it returned it; null while leased. */
  returnedUsd: number | null;
  status: ReservationStatus;
  expiresAt: string;
  /** When the sweep closed it past its expiry and grace; null otherwise. */
  expiredAt: string | null;
  /** What it holds against the month now. */
  heldUsd: number;
}

export interface LeaseInput {
  sliceId: string;
  /** The gateway that leases it (a process's id). */
  holder: string;
  /** The gateway key it serves: its own monthly budget bounds the slice too. */
  clientKey?: string;
  /** Grant at least this much or refuse (the reservation that made the holder ask). */
  minUsd: number;
  /** Grant this much if the month and the key have the room; else as much as they have, if ≥ `minUsd`. */
  wantUsd: number;
  ttlMs: number;
  yearMonth: string;
  /** Used only if the month has no row yet; an existing row's limit wins. */
  limitUsd: number;
  alertThresholdPercent?: number;
}

export interface LeaseResult {
  granted: boolean;
  /** Why not: the month or the key lacks `minUsd` of room, the slice has already ended, or the id is a call's reservation. */
  reason: 'insufficient_budget' | 'key_budget' | 'ended' | 'id_in_use' | null;
  slice: SliceRecord | null;
  /** The month after this call. */
  status: MonthBudget;
  /** When the key's budget refused: the key's month as the rule saw it. */
  key?: { name: string; limitUsd: number; spentUsd: number; reservedUsd: number };
}

interface Row {
  reservation_id: string; holder: string | null; client_key: string | null; year_month: string; amount_usd: number;
  actual_usd: number | null; returned_usd: number | null; status: ReservationStatus; expires_at: string | null;
  expired_at: string | null; kind: string; held_usd: number;
}

const toSlice = (r: Row): SliceRecord => ({
  sliceId: r.reservation_id, holder: r.holder ?? '', clientKey: r.client_key, yearMonth: r.year_month, amountUsd: r.amount_usd,
  actualUsd: r.actual_usd ?? 0, returnedUsd: r.returned_usd, status: r.status, expiresAt: r.expires_at ?? '', expiredAt: r.expired_at,
  heldUsd: r.held_usd,
});

const stmts = statementCache((db) => ({
  get: db.prepare<[string], Row>(`SELECT reservation_id, holder, client_key, year_month, amount_usd, actual_usd, returned_usd,
      status, expires_at, expired_at, kind, ${HELD_USD_SQL} AS held_usd FROM budget_reservations WHERE reservation_id = ?`),
  insert: db.prepare(`INSERT INTO budget_reservations
      (reservation_id, task_id, tier, year_month, amount_usd, status, created_at, client_key, kind, holder, expires_at)
    VALUES (@sliceId, NULL, '${SLICE_TIER}', @yearMonth, @amountUsd, 'active', @now, @clientKey, 'slice', @holder, @expiresAt)`),
  // Returned: settled at once when its usages have all landed already (released when it charged nothing).
  return: db.prepare<{ id: string; charged: number; now: string; eps: number }>(`UPDATE budget_reservations
    SET returned_usd = @charged,
        status = CASE WHEN COALESCE(actual_usd, 0) < @charged - @eps THEN 'active' WHEN COALESCE(actual_usd, 0) > 0 THEN 'settled' ELSE 'released' END,
        settled_at = CASE WHEN COALESCE(actual_usd, 0) >= @charged - @eps AND COALESCE(actual_usd, 0) > 0 THEN @now ELSE settled_at END,
        released_at = CASE WHEN COALESCE(actual_usd, 0) >= @charged - @eps AND COALESCE(actual_usd, 0) <= 0 THEN @now ELSE released_at END
    WHERE reservation_id = @id AND kind = 'slice' AND status = 'active' AND returned_usd IS NULL`),
  sweep: db.prepare<{ cutoff: string; now: string }>(`UPDATE budget_reservations
    SET status = CASE WHEN COALESCE(actual_usd, 0) > 0 THEN 'settled' ELSE 'released' END,
        settled_at = CASE WHEN COALESCE(actual_usd, 0) > 0 THEN COALESCE(settled_at, @now) ELSE settled_at END,
        released_at = CASE WHEN COALESCE(actual_usd, 0) > 0 THEN released_at ELSE @now END,
        expired_at = @now
    WHERE kind = 'slice' AND status = 'active' AND expires_at < @cutoff`),
}));

/** The slice with this id, or null (unknown, or a call's reservation). */
export function getSlice(db: LedgerDb, sliceId: string): SliceRecord | null {
  const row = stmts(db).get.get(sliceId);
  return row && row.kind === 'slice' ? toSlice(row) : null;
}

const sweep = (db: LedgerDb, now: Date, graceMs: number): number =>
  stmts(db).sweep.run({ cutoff: sqlTimestamp(new Date(now.getTime() - graceMs)), now: sqlTimestamp(now) }).changes;

const leaseTx = statementCache((db) =>
  db.transaction((req: LeaseInput, now: Date, graceMs: number): LeaseResult => {
    const s = stmts(db);
    const at = sqlTimestamp(now);
    ensureMonthRow(db, req.yearMonth, req.limitUsd, req.alertThresholdPercent ?? 80, at);
    // Expired slices give their money back before this one is decided.
    sweep(db, now, graceMs);
    const existing = s.get.get(req.sliceId);
    if (existing) {
      // Idempotent: a repeated lease of a leased slice is the same grant; an ended one is not revived.
      const status = mustStatus(db, req.yearMonth);
      if (existing.kind !== 'slice') return { granted: false, reason: 'id_in_use', slice: null, status };
      const live = existing.status === 'active' && existing.returned_usd === null;
      return { granted: live, reason: live ? null : 'ended', slice: toSlice(existing), status };
    }
    const before = mustStatus(db, req.yearMonth);
    if (!canReserve(before, req.minUsd)) return { granted: false, reason: 'insufficient_budget', slice: null, status: before };
    let room = before.availableUsd;
    const key = req.clientKey ? getGatewayKey(db, req.clientKey) : null;
    if (key?.monthlyBudgetUsd !== null && key?.monthlyBudgetUsd !== undefined) {
      const month = gatewayKeyMonth(db, key.name, req.yearMonth);
      if (!canReserve({ ...before, limitUsd: key.monthlyBudgetUsd, ...month }, req.minUsd)) {
        return { granted: false, reason: 'key_budget', slice: null, status: before, key: { name: key.name, limitUsd: key.monthlyBudgetUsd, ...month } };
      }
      room = Math.min(room, key.monthlyBudgetUsd - month.spentUsd - month.reservedUsd);
    }
    // As much as was wanted, or the room there is; never less than the minimum the rule allowed
    // (room may be a hair under it, within the rule's epsilon).
    const amountUsd = Math.max(req.minUsd, Math.min(req.wantUsd, room));
    s.insert.run({
      sliceId: req.sliceId, yearMonth: req.yearMonth, amountUsd, now: at, clientKey: req.clientKey ?? null, holder: req.holder,
      expiresAt: sqlTimestamp(new Date(now.getTime() + req.ttlMs)),
    });
    return { granted: true, reason: null, slice: getSlice(db, req.sliceId), status: mustStatus(db, req.yearMonth) };
  }),
);

/**
 * Leases a slice of the month to a gateway: between `minUsd` and `wantUsd`, as much as the month
 * (and the key's month) has room for, or refuses. Idempotent by `sliceId`. Sweeps expired slices
 * first, in the same transaction.
 *
 * @example
 * const r = leaseSlice(db, { sliceId: 'gw-1/s-1', holder: 'gw-1', clientKey: 'laptop', minUsd: 0.02, wantUsd: 1,
 *   ttlMs: 60_000, yearMonth: currentYearMonth(), limitUsd: 100 });
 * if (r.granted) r.slice!.amountUsd; // 1, or less when the month has less room (never under 0.02)
 */
export function leaseSlice(db: LedgerDb, req: LeaseInput, opts: { now?: Date; graceMs?: number } = {}): LeaseResult {
  assertNonNegative('minUsd', req.minUsd);
  assertNonNegative('wantUsd', req.wantUsd);
  if (!(Number.isFinite(req.ttlMs) && req.ttlMs > 0)) throw new RangeError(`ttlMs must be a positive number of milliseconds, got ${req.ttlMs}`);
  if (req.holder === '') throw new RangeError('holder must not be empty');
  return leaseTx(db).immediate({ ...req, wantUsd: Math.max(req.wantUsd, req.minUsd) }, opts.now ?? new Date(), opts.graceMs ?? DEFAULT_SLICE_GRACE_MS);
}

export interface ReturnResult {
  /** True when the slice is (now, or before) returned by this holder; false for an unknown slice, another holder's, or one the sweep closed. */
  returned: boolean;
  reason: 'unknown' | 'other_holder' | 'expired' | null;
  slice: SliceRecord | null;
}

const returnTx = statementCache((db) =>
  db.transaction((sliceId: string, holder: string, chargedUsd: number, now: Date): ReturnResult => {
    const found = getSlice(db, sliceId);
    if (!found) return { returned: false, reason: 'unknown', slice: null };
    if (found.holder !== holder) return { returned: false, reason: 'other_holder', slice: found };
    // Idempotent: a second return keeps the first one's count.
    if (found.returnedUsd === null && found.status === 'active') {
      stmts(db).return.run({ id: sliceId, charged: chargedUsd, now: sqlTimestamp(now), eps: BUDGET_EPSILON_USD });
    }
    const slice = getSlice(db, sliceId)!;
    if (slice.returnedUsd === null) return { returned: false, reason: 'expired', slice };
    return { returned: true, reason: null, slice };
  }),
);

/**
 * Its holder is done with a slice: `chargedUsd` is what the calls it granted cost, by the holder's
 * count. The slice then holds `max(chargedUsd − actual, 0)` until their usages land, and is settled
 * (released when nothing was charged). Idempotent: a repeat changes nothing.
 *
 * @example
 * returnSlice(db, 'gw-1/s-1', 'gw-1', 0.37); // { returned: true, slice: { heldUsd: 0.37 - what has landed, ... } }
 */
export function returnSlice(db: LedgerDb, sliceId: string, holder: string, chargedUsd: number, opts: { now?: Date } = {}): ReturnResult {
  assertNonNegative('chargedUsd', chargedUsd);
  return returnTx(db).immediate(sliceId, holder, chargedUsd, opts.now ?? new Date());
}

/**
 * Closes every slice whose `expires_at` is more than `graceMs` past: what it still holds goes back
 * to the month (settled if anything was charged to it, else released). The ledger runs it on a
 * timer and before each lease.
 *
 * @returns how many slices this call closed.
 * @example
 * sweepExpiredSlices(db); // 1: a gateway that died 31 s after its slice's expiry
 */
export function sweepExpiredSlices(db: LedgerDb, opts: { now?: Date; graceMs?: number } = {}): number {
  return sweep(db, opts.now ?? new Date(), opts.graceMs ?? DEFAULT_SLICE_GRACE_MS);
}
