/**
 * The ledger's answers to a gateway's budget slices (`koubou.ledger.slice.lease` and `.return`),
 * kept apart from LedgerService so its switch only routes to them. Each answer carries the month
 * after the request, as the router's BudgetView reads it.
 */
import type { SliceLeaseReply, SliceLeaseRequest, SliceReturnReply, SliceReturnRequest } from '../../src/bus/index.ts';
import { usd } from '../../src/core/format.ts';
import { currentYearMonth, leaseSlice, returnSlice, type BudgetConfig, type LedgerDb, type MonthBudget } from '../../src/db/index.ts';
import { budgetReply } from './queries.ts';

export interface SliceOptions {
  /** How long past its expiry a slice still holds its money (its gateway's records in flight land). Default 30 s (`DEFAULT_SLICE_GRACE_MS`). */
  graceMs?: number;
}

const stateOf = (m: MonthBudget) => ({ yearMonth: m.yearMonth, limitUsd: m.limitUsd, spentUsd: m.spentUsd, reservedUsd: m.reservedUsd, alertThresholdPercent: m.alertThresholdPercent });
/** `YYYY-MM-DD HH:MM:SS` (UTC, the ledger's timestamps) as ISO-8601. */
const iso = (sql: string): string => `${sql.replace(' ', 'T')}Z`;

/**
 * @example leaseReply(db, { monthlyLimitUsd: 100, alertThresholdPercent: 80 }, { sliceId: 'gw-1.s-1', holder: 'gw-1', minUsd: 0.02, wantUsd: 1, ttlMs: 60_000 })
 * // => { granted: true, sliceId: 'gw-1.s-1', amountUsd: 1, expiresAt: '…', budget: { … } }
 */
export function leaseReply(db: LedgerDb, config: BudgetConfig, req: SliceLeaseRequest, opts: SliceOptions = {}): SliceLeaseReply {
  const now = new Date();
  const r = leaseSlice(db, {
    ...req, yearMonth: currentYearMonth(now), limitUsd: config.monthlyLimitUsd, alertThresholdPercent: config.alertThresholdPercent,
  }, { now, ...(opts.graceMs !== undefined ? { graceMs: opts.graceMs } : {}) });
  const budget = stateOf(r.status);
  if (r.granted && r.slice) return { granted: true, sliceId: r.slice.sliceId, amountUsd: r.slice.amountUsd, expiresAt: iso(r.slice.expiresAt), budget };
  const code = r.reason ?? 'insufficient_budget';
  const reason = code === 'key_budget' && r.key
    ? `would exceed gateway key "${r.key.name}"'s monthly budget (${usd(r.key.spentUsd)} spent + ${usd(r.key.reservedUsd)} reserved + ${usd(req.minUsd)} > ${usd(r.key.limitUsd)})`
    : code === 'insufficient_budget' ? `would exceed the monthly limit (${usd(budget.spentUsd + budget.reservedUsd)} of ${usd(budget.limitUsd)} committed, ${usd(req.minUsd)} needed)`
      : code === 'ended' ? `slice ${req.sliceId} has ended (returned, or closed at its expiry): lease another id`
        : `${req.sliceId} is a call's reservation, not a slice`;
  return { granted: false, code, reason, budget };
}

/** @example returnReply(db, config, { sliceId: 'gw-1.s-1', holder: 'gw-1', chargedUsd: 0.37 }) // => { returned: true, code: null, heldUsd: …, budget } */
export function returnReply(db: LedgerDb, config: BudgetConfig, req: SliceReturnRequest): SliceReturnReply {
  const r = returnSlice(db, req.sliceId, req.holder, req.chargedUsd);
  return { returned: r.returned, code: r.reason, heldUsd: r.slice?.heldUsd ?? 0, budget: budgetReply(db, config) };
}
