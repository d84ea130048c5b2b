import { describe, it, expect } from 'vitest';
import { canReserve, evaluateBudget, yearMonthOf, type BudgetState } from '../src/policy/budget.ts';

const state = (s: Partial<BudgetState> = {}): BudgetState => ({
  yearMonth: '2026-11',
  limitUsd: 100,
  spentUsd: 0,
  reservedUsd: 0,
  alertThresholdPercent: 80,
  ...s,
});

describe('evaluateBudget', () => {
  it('reports committed = spent + reserved, percent and remaining', () => {
    const r = evaluateBudget(state({ spentUsd: 30, reservedUsd: 12.5 }));
    expect(r).toEqual({ committedUsd: 42.5, percentUsed: 42.5, alert: false, critical: false, remainingUsd: 57.5 });
  });

  it('turns critical at the threshold, counting reservations', () => {
    expect(evaluateBudget(state({ spentUsd: 79.99 })).critical).toBe(false);
    expect(evaluateBudget(state({ spentUsd: 80 })).critical).toBe(true);
    expect(evaluateBudget(state({ spentUsd: 70, reservedUsd: 10 })).critical).toBe(true);
  });

  it('is critical at the threshold despite float drift in the sum', () => {
    // 0.7 + 0.1 = 0.7999999999999999, just under 80% of $1 in floats.
    const r = evaluateBudget(state({ limitUsd: 1, spentUsd: 0.7, reservedUsd: 0.1 }));
    expect(r.critical).toBe(true);
  });

  it('alerts on every check without a previous state, as the seed did', () => {
    expect(evaluateBudget(state({ spentUsd: 85 })).alert).toBe(true);
  });

  it('alerts only on the crossing when given the previous state', () => {
    const before = state({ spentUsd: 79 });
    const after = state({ spentUsd: 79, reservedUsd: 2 });
    expect(evaluateBudget(after, before).alert).toBe(true);
    expect(evaluateBudget(state({ spentUsd: 90 }), after).alert).toBe(false);
    expect(evaluateBudget(state({ spentUsd: 90 }), after).critical).toBe(true);
    expect(evaluateBudget(before, state()).alert).toBe(false);
  });

  it('alerts again in a new month', () => {
    const lastMonth = state({ yearMonth: '2026-10', spentUsd: 95 });
    expect(evaluateBudget(state({ spentUsd: 81 }), lastMonth).alert).toBe(true);
  });

  it('reports overspend as negative remaining', () => {
    const r = evaluateBudget(state({ spentUsd: 101, reservedUsd: 4 }));
    expect(r.remainingUsd).toBe(-5);
    expect(r.percentUsed).toBe(105);
    expect(r.critical).toBe(true);
  });

  it('treats a zero limit as fully used', () => {
    const r = evaluateBudget(state({ limitUsd: 0 }));
    expect(r.percentUsed).toBe(100);
    expect(r.critical).toBe(true);
    expect(r.remainingUsd).toBe(0);
  });

  it('rejects nonsense', () => {
    expect(() => evaluateBudget(state({ spentUsd: -1 }))).toThrow(RangeError);
    expect(() => evaluateBudget(state({ limitUsd: Number.NaN }))).toThrow(RangeError);
  });
});

describe('canReserve', () => {
  it('allows a reservation that exactly fills the limit, float drift and all', () => {
    // 0.7 + 0.2 + 0.1 = 1.0000000000000002 in floats.
    expect(canReserve(state({ limitUsd: 1, spentUsd: 0.7, reservedUsd: 0.2 }), 0.1)).toBe(true);
  });

  it('refuses anything past the limit', () => {
    expect(canReserve(state({ spentUsd: 60, reservedUsd: 30 }), 10.01)).toBe(false);
    expect(canReserve(state({ spentUsd: 60, reservedUsd: 30 }), 10)).toBe(true);
    expect(canReserve(state({ limitUsd: 0 }), 0.000001)).toBe(false);
  });

  it('with a zero amount, asks only whether the month is not already overcommitted', () => {
    expect(canReserve(state({ spentUsd: 150 }), 0)).toBe(false);
    expect(canReserve(state({ spentUsd: 100 }), 0)).toBe(true);
  });

  it('rejects a negative or non-finite amount', () => {
    expect(() => canReserve(state(), -1)).toThrow(RangeError);
    expect(() => canReserve(state(), Number.POSITIVE_INFINITY)).toThrow(RangeError);
  });
});

describe('yearMonthOf', () => {
  it('uses UTC months', () => {
    expect(yearMonthOf(Date.UTC(2026, 10, 30, 23, 59, 59, 999))).toBe('2026-11');
    expect(yearMonthOf(Date.UTC(2026, 11, 1, 0, 0, 0))).toBe('2026-12');
    expect(yearMonthOf(Date.UTC(2027, 0, 1))).toBe('2027-01');
    expect(yearMonthOf(0)).toBe('1970-01');
  });

  it('rejects a non-time', () => {
    expect(() => yearMonthOf(Number.NaN)).toThrow(RangeError);
    expect(() => yearMonthOf(9e15)).toThrow(RangeError);
  });
});
