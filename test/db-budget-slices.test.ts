/**
 * Budget slices in the ledger (src/db/budgetSlices.ts), on a real SQLite file: a lease is a
 * reservation of the month and its key's month under the same rule; its usages charge it without
 * settling it while leased; a return leaves it holding what has not landed yet; the sweep closes it
 * past its expiry and grace; and the budget watch covers its key's usages until then.
 */
import { describe, expect, it } from 'vitest';
import {
  createGatewayKey, gatewayKeyMonth, getBudgetStatus, getSlice, leaseSlice, openLedgerDb, recordUsage, reserveBudget,
  returnSlice, setTaskClientKey, sweepExpiredSlices, unreservedReport, upsertTask, type LeaseInput, type LedgerDb,
} from '../src/db/index.ts';
import { useTempLedger } from './support/util.ts';

const temp = useTempLedger();
const MONTH = '2025-01';
const T0 = new Date('2025-01-15T12:00:00Z');
const at = (ms: number): Date => new Date(T0.getTime() + ms);
const lease = (db: LedgerDb, sliceId: string, over: Partial<LeaseInput> = {}, now = T0) => leaseSlice(db, {
  sliceId, holder: 'gw-1', minUsd: 0.1, wantUsd: 1, ttlMs: 60_000, yearMonth: MONTH, limitUsd: 10, ...over,
}, { now, graceMs: 30_000 });

function openWithTask(taskId = 't1', clientKey?: string): LedgerDb {
  const db = temp.track(openLedgerDb(temp.file));
  upsertTask(db, { taskId, taskType: 'general', difficulty: 'low', sensitivity: 'public', status: 'in_progress' });
  if (clientKey) setTaskClientKey(db, taskId, clientKey);
  return db;
}
const charge = (db: LedgerDb, usageId: string, costUsd: number, reservationId: string, now = T0, taskId = 't1') => recordUsage(db, {
  usageId, taskId, tier: 'gpt5_high', model: 'gpt-5', promptTokens: 10, cachedPromptTokens: 0, completionTokens: 10, reasoningTokens: 0,
  costUsd, reservationId,
}, { monthlyLimitUsd: 10, now });
const reserved = (db: LedgerDb): number => getBudgetStatus(db, MONTH)!.reservedUsd;

describe('leasing a slice', () => {
  it('grants what was wanted when the month has room, holds it as a reservation, and repeats the same grant', () => {
    const db = openWithTask();
    const r = lease(db, 's1');
    expect(r).toMatchObject({ granted: true, reason: null, slice: { sliceId: 's1', holder: 'gw-1', amountUsd: 1, heldUsd: 1, status: 'active', returnedUsd: null } });
    expect(r.status.reservedUsd).toBeCloseTo(1, 9);
    expect(lease(db, 's1', { wantUsd: 5 })).toMatchObject({ granted: true, slice: { amountUsd: 1 } });
    expect(reserved(db)).toBeCloseTo(1, 9);
  });

  it('grants less than wanted when the month has less room, never less than the minimum, and refuses below it', () => {
    const db = openWithTask();
    reserveBudget(db, { reservationId: 'call-1', taskId: 't1', tier: 'gpt5_high', amountUsd: 9.5, yearMonth: MONTH, limitUsd: 10 });
    expect(lease(db, 's1', { minUsd: 0.2, wantUsd: 1 })).toMatchObject({ granted: true, slice: { amountUsd: 0.5 } });
    expect(lease(db, 's2', { minUsd: 0.01 })).toMatchObject({ granted: false, reason: 'insufficient_budget', slice: null });
    // The slices count for per-call reservations too: the month is full.
    expect(reserveBudget(db, { reservationId: 'call-2', taskId: 't1', tier: 'gpt5_high', amountUsd: 0.01, yearMonth: MONTH, limitUsd: 10 }))
      .toMatchObject({ granted: false, reason: 'insufficient_budget' });
  });

  it("is bounded by its gateway key's own monthly budget, slices and the key's calls together", () => {
    const db = openWithTask('t1', 'laptop');
    createGatewayKey(db, { name: 'laptop', monthlyBudgetUsd: 1.5 });
    expect(lease(db, 's1', { clientKey: 'laptop' })).toMatchObject({ granted: true, slice: { amountUsd: 1, clientKey: 'laptop' } });
    expect(lease(db, 's2', { clientKey: 'laptop' })).toMatchObject({ granted: true, slice: { amountUsd: 0.5 } });
    expect(lease(db, 's3', { clientKey: 'laptop' })).toMatchObject({ granted: false, reason: 'key_budget', key: { name: 'laptop', limitUsd: 1.5 } });
    expect(reserveBudget(db, { reservationId: 'c', taskId: 't1', tier: 'gpt5_high', amountUsd: 0.1, yearMonth: MONTH, limitUsd: 10, clientKey: 'laptop' }))
      .toMatchObject({ granted: false, reason: 'key_budget' });
    expect(gatewayKeyMonth(db, 'laptop', MONTH).reservedUsd).toBeCloseTo(1.5, 9);
    // Another key, or none, still has the month's room.
    expect(lease(db, 's4')).toMatchObject({ granted: true });
  });

  it('refuses an id that a call reservation holds', () => {
    const db = openWithTask();
    reserveBudget(db, { reservationId: 'x', taskId: 't1', tier: 'gpt5_high', amountUsd: 0.1, yearMonth: MONTH, limitUsd: 10 });
    expect(lease(db, 'x')).toMatchObject({ granted: false, reason: 'id_in_use' });
  });
});

describe('charging and returning a slice', () => {
  it('charges usages to a leased slice without settling it: it holds what is not charged yet, and the watch counts them covered', () => {
    const db = openWithTask();
    lease(db, 's1');
    charge(db, 'u1', 0.3, 's1');
    charge(db, 'u2', 0.2, 's1');
    expect(getSlice(db, 's1')).toMatchObject({ status: 'active', actualUsd: 0.5 });
    expect(getSlice(db, 's1')!.heldUsd).toBeCloseTo(0.5, 9);
    const month = getBudgetStatus(db, MONTH)!;
    expect(month.spentUsd + month.reservedUsd).toBeCloseTo(1, 9);
    expect(unreservedReport(db).calls).toBe(0);
  });

  it('after a return holds what its holder charged and has not landed, then settles when the usages land; a repeat changes nothing', () => {
    const db = openWithTask();
    lease(db, 's1');
    charge(db, 'u1', 0.25, 's1');
    expect(returnSlice(db, 's1', 'gw-1', 0.75, { now: at(1000) })).toMatchObject({ returned: true, slice: { returnedUsd: 0.75, status: 'active' } });
    expect(reserved(db)).toBeCloseTo(0.5, 9);
    expect(returnSlice(db, 's1', 'gw-1', 0.1)).toMatchObject({ returned: true, slice: { returnedUsd: 0.75 } });
    expect(lease(db, 's1')).toMatchObject({ granted: false, reason: 'ended' });
    charge(db, 'u2', 0.5, 's1');
    expect(getSlice(db, 's1')).toMatchObject({ status: 'settled', actualUsd: 0.75, heldUsd: 0 });
    expect(reserved(db)).toBeCloseTo(0, 9);
    expect(unreservedReport(db).calls).toBe(0);
  });

  it('is released at once when returned with nothing charged, and settled at once when its usages have all landed', () => {
    const db = openWithTask();
    lease(db, 's1');
    expect(returnSlice(db, 's1', 'gw-1', 0)).toMatchObject({ slice: { status: 'released', heldUsd: 0 } });
    lease(db, 's2');
    charge(db, 'u1', 0.4, 's2');
    expect(returnSlice(db, 's2', 'gw-1', 0.4)).toMatchObject({ slice: { status: 'settled', heldUsd: 0 } });
    expect(reserved(db)).toBe(0);
  });

  it('takes a return only from its holder', () => {
    const db = openWithTask();
    lease(db, 's1');
    expect(returnSlice(db, 's1', 'gw-2', 0)).toMatchObject({ returned: false, reason: 'other_holder' });
    expect(returnSlice(db, 'nope', 'gw-1', 0)).toMatchObject({ returned: false, reason: 'unknown' });
    expect(getSlice(db, 's1')).toMatchObject({ status: 'active', returnedUsd: null });
  });
});

describe('a slice its gateway never returns', () => {
  it('holds its money through expiry and grace, then the sweep releases what is left; a later usage is charged in full and recorded', () => {
    const db = openWithTask();
    lease(db, 's1');
    charge(db, 'u1', 0.2, 's1');
    // Expired (60 s) but within the grace (30 s): records in flight may still land.
    expect(sweepExpiredSlices(db, { now: at(80_000), graceMs: 30_000 })).toBe(0);
    charge(db, 'u2', 0.1, 's1', at(85_000));
    expect(reserved(db)).toBeCloseTo(0.7, 9);
    expect(sweepExpiredSlices(db, { now: at(92_000), graceMs: 30_000 })).toBe(1);
    expect(getSlice(db, 's1')).toMatchObject({ status: 'settled', heldUsd: 0, expiredAt: '2025-01-15 12:01:32' });
    expect(reserved(db)).toBe(0);
    expect(unreservedReport(db).calls).toBe(0);
    charge(db, 'u3', 0.05, 's1', at(100_000));
    expect(getBudgetStatus(db, MONTH)!.spentUsd).toBeCloseTo(0.35, 9);
    expect(unreservedReport(db)).toMatchObject({ calls: 1, recent: [{ usageId: 'u3', reason: 'slice_expired', uncoveredUsd: 0.05 }] });
    expect(sweepExpiredSlices(db, { now: at(200_000) })).toBe(0);
  });

  it('is released whole when nothing was charged, and a lease sweeps before it decides', () => {
    const db = openWithTask();
    lease(db, 's1', { wantUsd: 10 });
    expect(lease(db, 's2', {}, at(60_000))).toMatchObject({ granted: false, reason: 'insufficient_budget' });
    expect(lease(db, 's3', {}, at(91_000))).toMatchObject({ granted: true, slice: { amountUsd: 1 } });
    expect(getSlice(db, 's1')).toMatchObject({ status: 'released', heldUsd: 0 });
    expect(lease(db, 's1', {}, at(91_000))).toMatchObject({ granted: false, reason: 'ended' });
    expect(returnSlice(db, 's1', 'gw-1', 0)).toMatchObject({ returned: false, reason: 'expired' });
  });
});

describe('the budget watch of slices', () => {
  it("counts a usage past the slice's amount as exceeded, and one of another key's task as other_key", () => {
    const db = openWithTask('t1', 'laptop');
    upsertTask(db, { taskId: 't2', taskType: 'general', difficulty: 'low', sensitivity: 'public', status: 'in_progress' });
    lease(db, 's1', { clientKey: 'laptop', wantUsd: 0.5 });
    charge(db, 'u1', 0.4, 's1');
    charge(db, 'u2', 0.3, 's1');
    charge(db, 'u3', 0.1, 's1', T0, 't2');
    const report = unreservedReport(db, 10);
    expect(report.recent.map((r) => [r.usageId, r.reason])).toEqual([['u3', 'other_key'], ['u2', 'exceeded']]);
    expect(report.recent[1]!.uncoveredUsd).toBeCloseTo(0.2, 9);
  });
});
