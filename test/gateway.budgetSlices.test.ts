/**
 * The gateway's budget slices (actors/gateway/BudgetSlices.ts): its own logic, against a ledger
 * kept in memory that grants like the real one (between minUsd and wantUsd, as the month has room)
 * and whose replies the test can hold back. The same class through a real ledger over NATS is in
 * test/gateway.budgetSlices.nats.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { BudgetSlices, type SliceGrant, type SliceLedger } from '../actors/gateway/index.ts';
import type { SliceLeaseRequest, SliceReturnRequest } from '../src/bus/index.ts';

/** A month of `limitUsd` in memory: what the ledger's rule grants, nothing else. */
class MemoryLedger implements SliceLedger {
  leases: SliceLeaseRequest[] = [];
  returns: SliceReturnRequest[] = [];
  held = new Map<string, number>();
  /** While set, lease replies wait for it. */
  gate: Promise<void> | null = null;
  fail: Error | null = null;
  /** While set, returns wait for it. */
  returnGate: Promise<void> | null = null;
  onRefuse: (() => void) | null = null;
  constructor(public limitUsd: number, public keyLimits: Record<string, number> = {}) {}
  budget() {
    return { yearMonth: '2026-12', limitUsd: this.limitUsd, spentUsd: 0, reservedUsd: [...this.held.values()].reduce((a, b) => a + b, 0), alertThresholdPercent: 80 };
  }
  async lease(req: SliceLeaseRequest) {
    this.leases.push(req);
    if (this.gate) await this.gate;
    if (this.fail) throw this.fail;
    const keyLimit = req.clientKey !== undefined ? this.keyLimits[req.clientKey] : undefined;
    if (keyLimit !== undefined && req.minUsd > keyLimit) return { granted: false as const, code: 'key_budget' as const, reason: `key ${req.clientKey} is out of budget`, budget: this.budget() };
    const room = this.limitUsd - this.budget().reservedUsd;
    if (req.minUsd > room + 1e-9) this.onRefuse?.();
    if (req.minUsd > room + 1e-9) return { granted: false as const, code: 'insufficient_budget' as const, reason: 'would exceed the monthly limit', budget: this.budget() };
    const amountUsd = Math.max(req.minUsd, Math.min(req.wantUsd, room));
    this.held.set(req.sliceId, amountUsd);
    return { granted: true as const, sliceId: req.sliceId, amountUsd, expiresAt: '2026-12-07T00:00:00Z', budget: this.budget() };
  }
  async return(req: SliceReturnRequest) {
    this.returns.push(req);
    if (this.returnGate) await this.returnGate;
    // The usages have landed (the test settles only what it charged): nothing stays held.
    this.held.delete(req.sliceId);
    return { returned: true, code: null, heldUsd: 0, budget: this.budget() };
  }
}

const settleFlush = () => new Promise((r) => setImmediate(r));
let clock = 0;
const make = (ledger: SliceLedger, over: Partial<ConstructorParameters<typeof BudgetSlices>[0]> = {}) => {
  let n = 0;
  clock = 0;
  return new BudgetSlices({ ledger, holder: 'gw-test', checkEveryMs: 0, ttlMs: 60_000, now: () => clock, newSliceId: () => `gw-test.s${++n}`, ...over });
};
const granted = (g: Awaited<ReturnType<BudgetSlices['reserve']>>): SliceGrant => {
  if (!g.granted) throw new Error(`refused: ${g.reason}`);
  return g;
};

describe('BudgetSlices', () => {
  it('grants calls from one slice with no further question, and asks for max($1, 50 × the largest reservation) capped at $10', async () => {
    const ledger = new MemoryLedger(100);
    const slices = make(ledger);
    const a = granted(await slices.reserve('laptop', 0.01));
    const b = granted(await slices.reserve('laptop', 0.02));
    expect(a.reservationId).toBe('gw-test.s1');
    expect(b).toEqual({ granted: true, reservationId: 'gw-test.s1', amountUsd: 0.02, clientKey: 'laptop' });
    expect(ledger.leases).toEqual([{ sliceId: 'gw-test.s1', holder: 'gw-test', clientKey: 'laptop', minUsd: 0.01, wantUsd: 1, ttlMs: 60_000 }]);
    // Another key has a slice of its own, sized by the largest reservation seen.
    granted(await slices.reserve('ci', 0.1));
    expect(ledger.leases[1]).toMatchObject({ clientKey: 'ci', minUsd: 0.1, wantUsd: 5 });
    granted(await slices.reserve(null, 0.5));
    expect(ledger.leases[2]).toMatchObject({ minUsd: 0.5, wantUsd: 10 });
    expect(ledger.leases[2]).not.toHaveProperty('clientKey');
    expect(slices.budget()?.reservedUsd).toBeCloseTo(16, 9);
  });

  it('has one lease in flight per key: callers that come meanwhile wait for it and share the slice', async () => {
    const ledger = new MemoryLedger(100);
    let open!: () => void;
    ledger.gate = new Promise((r) => { open = r; });
    const slices = make(ledger);
    const pending = Array.from({ length: 5 }, () => slices.reserve('laptop', 0.1));
    await settleFlush();
    expect(ledger.leases).toHaveLength(1);
    open();
    const grants = (await Promise.all(pending)).map(granted);
    expect(new Set(grants.map((g) => g.reservationId))).toEqual(new Set(['gw-test.s1']));
    expect(ledger.leases).toHaveLength(1);
  });

  it("passes on the ledger's refusal with its reason, and a ledger it cannot ask as ledger_unavailable", async () => {
    const ledger = new MemoryLedger(0.05, { tiny: 0.01 });
    const slices = make(ledger);
    expect(await slices.reserve('laptop', 0.06)).toEqual({ granted: false, code: 'insufficient_budget', reason: 'would exceed the monthly limit' });
    expect(await slices.reserve('tiny', 0.02)).toEqual({ granted: false, code: 'key_budget', reason: 'key tiny is out of budget' });
    // The month had less than a slice: the ledger granted what it had, at least what was needed.
    expect(granted(await slices.reserve('laptop', 0.03)).amountUsd).toBe(0.03);
    expect(ledger.held.get(ledger.leases.at(-1)!.sliceId)).toBeCloseTo(0.05, 9);
    ledger.fail = new Error('no responders');
    const refused = await slices.reserve('other', 0.01);
    expect(refused).toMatchObject({ granted: false, code: 'ledger_unavailable' });
    expect(refused.granted ? '' : refused.reason).toContain('no responders');
    // Asked twice under one id (a lost reply is granted once), then given back in case it was granted.
    expect(ledger.leases.slice(-2).map((l) => l.sliceId)).toEqual(['gw-test.s4', 'gw-test.s4']);
    expect(ledger.returns).toEqual([{ sliceId: 'gw-test.s4', holder: 'gw-test', chargedUsd: 0 }]);
  });

  it('renews a slice that runs below a quarter ahead of need, and returns the old one with what its grants charged once they settle', async () => {
    const ledger = new MemoryLedger(100);
    const slices = make(ledger, { sliceReservations: 1 });
    const big = granted(await slices.reserve('laptop', 0.8));
    await settleFlush();
    // $0.20 left of $1: the next slice is leased already.
    expect(ledger.leases.map((l) => l.sliceId)).toEqual(['gw-test.s1', 'gw-test.s2']);
    const next = granted(await slices.reserve('laptop', 0.1));
    expect(next.reservationId).toBe('gw-test.s2');
    expect(ledger.returns).toEqual([]);
    slices.settle(big, 0.55);
    slices.settle(big, 0.55);
    await settleFlush();
    expect(ledger.returns).toEqual([{ sliceId: 'gw-test.s1', holder: 'gw-test', chargedUsd: 0.55 }]);
  });

  it('asks for a renewal ahead of need once per slice: refused, the calls that still fit ask nothing', async () => {
    const ledger = new MemoryLedger(1.1);
    const slices = make(ledger, { sliceReservations: 1 });
    granted(await slices.reserve('laptop', 0.8));
    await settleFlush();
    expect(ledger.leases).toHaveLength(2);
    granted(await slices.reserve('laptop', 0.05));
    granted(await slices.reserve('laptop', 0.05));
    await settleFlush();
    expect(ledger.leases).toHaveLength(2);
  });

  it('retires a slice at half its lease: new grants go to the next slice, and an idle retired slice is returned by tick()', async () => {
    const ledger = new MemoryLedger(100);
    const slices = make(ledger);
    const first = granted(await slices.reserve('laptop', 0.01));
    clock = 30_000;
    const second = granted(await slices.reserve('laptop', 0.01));
    expect(second.reservationId).toBe('gw-test.s2');
    slices.settle(first, 0.004);
    await settleFlush();
    expect(ledger.returns).toEqual([{ sliceId: 'gw-test.s1', holder: 'gw-test', chargedUsd: 0.004 }]);
    slices.settle(second, 0.002);
    clock = 60_000;
    slices.tick();
    await settleFlush();
    expect(ledger.returns.at(-1)).toEqual({ sliceId: 'gw-test.s2', holder: 'gw-test', chargedUsd: 0.002 });
    expect(ledger.held.size).toBe(0);
  });

  it('stop() returns every slice, counting grants still open as charged, and refuses reservations after', async () => {
    const ledger = new MemoryLedger(100);
    const slices = make(ledger);
    const open = granted(await slices.reserve('laptop', 0.2));
    const done = granted(await slices.reserve('ci', 0.1));
    slices.settle(done, 0.05);
    await slices.stop();
    expect(ledger.returns.sort((a, b) => a.sliceId.localeCompare(b.sliceId))).toEqual([
      { sliceId: 'gw-test.s1', holder: 'gw-test', chargedUsd: 0.2 },
      { sliceId: 'gw-test.s2', holder: 'gw-test', chargedUsd: 0.05 },
    ]);
    await expect(slices.reserve('laptop', 0.01)).rejects.toMatchObject({ code: 'BUDGET_SLICES_STOPPED' });
    slices.settle(open, 0.2);
  });

  it('waits for its own slices on their way back when the month refused, and asks once more', async () => {
    const ledger = new MemoryLedger(1);
    const slices = make(ledger);
    const a = granted(await slices.reserve('laptop', 0.5));
    // The return lands only after the ledger has refused the next lease for want of its money.
    ledger.returnGate = new Promise((r) => { ledger.onRefuse = r; });
    clock = 30_000;
    slices.settle(a, 0.5);
    // The first slice ($1) is being returned while the month has nothing else: the lease waits for it.
    expect(granted(await slices.reserve('laptop', 0.5)).reservationId).toBe('gw-test.s3');
    expect(ledger.leases.map((l) => l.sliceId)).toEqual(['gw-test.s1', 'gw-test.s2', 'gw-test.s3']);
  });
});
