/**
 * The budget's invariant with budget slices, as a property on the real SQLite ledger: whatever the
 * interleaving of per-call reservations, slice leases by two gateways, local grants within a slice,
 * usages (each costing up to its grant), returns, gateways that die and the sweep of their expired
 * slices, at every step the month's `spent + held` stays within its limit and a key's within the
 * key's budget; and every usage charged within its grant is counted covered by the budget watch.
 *
 * The grace period's assumption is the model's: a call granted from a slice ends (its usage lands,
 * or it made none) before its slice's expiry and grace have passed. What a usage that lands later
 * costs is in test/db-budget-slices.test.ts (charged in full, recorded as 'slice_expired').
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createGatewayKey, ensureMonth, gatewayKeyMonth, getBudgetStatus, leaseSlice, openLedgerDb, recordUsage, releaseReservation, reserveBudget,
  returnSlice, setTaskClientKey, sweepExpiredSlices, unreservedReport, upsertTask, type LedgerDb,
} from '../src/db/index.ts';
import { useTempLedger } from './support/util.ts';

const temp = useTempLedger();
const GRACE_MS = 30_000;
const HOLDERS = ['gw-a', 'gw-b'] as const;
const TOLERANCE = 1e-6;

// Tenths of a cent up to max (doubles would crowd at their bounds).
const usd = (max: number) => fc.integer({ min: 1, max: Math.round(max * 1000) }).map((n) => n / 1000);
const op = fc.oneof(
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('callReserve' as const), key: fc.nat(2), amount: usd(0.4) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('callEnd' as const), i: fc.nat(), fraction: fc.double({ min: 0, max: 1, noNaN: true }), release: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('lease' as const), holder: fc.nat(1), key: fc.nat(2), min: usd(0.3), want: usd(1), ttlMs: fc.integer({ min: 20_000, max: 600_000 }) }) },
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('grant' as const), i: fc.nat(), amount: usd(0.3) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('grantEnd' as const), i: fc.nat(), fraction: fc.double({ min: 0, max: 1, noNaN: true }), charged: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('return' as const), i: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('kill' as const), holder: fc.nat(1) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: 1000, max: 120_000 }) }) },
);

interface Grant { sliceId: string; amount: number; fraction: number; taskId: string }
interface Slice { id: string; holder: string; key: string | null; amount: number; leasedAt: number; ttlMs: number; expiresAt: number; held: number; charged: number; live: boolean }

describe('budget slices never overshoot the month or a key, and cover every usage within its grant', () => {
  it('for any interleaving of reservations, leases, grants, usages, returns, deaths and sweeps', () => {
    // One ledger file; each run has a month of its own, and keys and tasks of its own.
    const db = temp.track(openLedgerDb(temp.file));
    let run = 0;
    fc.assert(fc.property(
      fc.double({ min: 0.2, max: 3, noNaN: true }), fc.option(usd(1), { nil: null }), fc.array(op, { minLength: 10, maxLength: 80, size: 'max' }),
      (limitUsd, k1Budget, ops) => {
        run += 1;
        const MONTH = `${2001 + Math.floor(run / 12)}-${String((run % 12) + 1).padStart(2, '0')}`;
        const T0 = Date.parse(`${MONTH}-15T12:00:00Z`);
        const KEYS = [`k1-${run}`, `k2-${run}`, null] as const;
        createGatewayKey(db, { name: KEYS[0], monthlyBudgetUsd: k1Budget });
        createGatewayKey(db, { name: KEYS[1], monthlyBudgetUsd: null });
        const taskOf = (key: string | null) => `task-${run}-${key ?? 'none'}`;
        for (const key of KEYS) {
          upsertTask(db, { taskId: taskOf(key), taskType: 'general', difficulty: 'low', sensitivity: 'public', status: 'in_progress' });
          if (key) setTaskClientKey(db, taskOf(key), key);
        }
        let clock = T0;
        let n = 0;
        const calls: { id: string; amount: number; taskId: string }[] = [];
        const slices: Slice[] = [];
        const grants: Grant[] = [];
        const charge = (id: string, taskId: string, cost: number) => recordUsage(db, {
          usageId: `r${run}.u${++n}`, taskId, tier: 'gpt5_high', model: 'm', promptTokens: 1, cachedPromptTokens: 0, completionTokens: 1, reasoningTokens: 0, costUsd: cost, reservationId: id,
        }, { monthlyLimitUsd: limitUsd, now: new Date(clock) });
        const endGrant = (g: Grant, charged: boolean) => {
          grants.splice(grants.indexOf(g), 1);
          const s = slices.find((x) => x.id === g.sliceId)!;
          // Summed again, not subtracted: floats would drift below zero.
          s.held = grants.filter((x) => x.sliceId === s.id).reduce((a, x) => a + x.amount, 0);
          if (!charged) return;
          const cost = g.amount * g.fraction;
          s.charged += cost;
          charge(g.sliceId, g.taskId, cost);
        };
        /** Time passes; the calls of a slice whose grace would pass end first (the grace's assumption). */
        const advance = (ms: number, chargedIfForced: boolean) => {
          clock += ms;
          for (const g of [...grants]) {
            const s = slices.find((x) => x.id === g.sliceId)!;
            if (s.expiresAt + GRACE_MS < clock) endGrant(g, chargedIfForced);
          }
          for (const s of slices) if (s.expiresAt + GRACE_MS < clock) s.live = false;
        };
        const check = (what: string) => {
          const m = getBudgetStatus(db, MONTH)!;
          expect(m.spentUsd + m.reservedUsd, `month after ${what}`).toBeLessThanOrEqual(m.limitUsd + TOLERANCE);
          if (k1Budget !== null) {
            const k = gatewayKeyMonth(db, KEYS[0], MONTH);
            expect(k.spentUsd + k.reservedUsd, `key k1 after ${what}`).toBeLessThanOrEqual(k1Budget + TOLERANCE);
          }
        };
        ensureMonth(db, MONTH, limitUsd);
        const uncoveredBefore = unreservedReport(db).calls;
        for (const o of ops) {
          advance(1000, true);
          switch (o.kind) {
            case 'callReserve': {
              const key = KEYS[o.key]!;
              const id = `r${run}.c${++n}`;
              const r = reserveBudget(db, { reservationId: id, taskId: taskOf(key), tier: 'gpt5_high', amountUsd: o.amount, yearMonth: MONTH, limitUsd, ...(key ? { clientKey: key } : {}) }, { now: new Date(clock) });
              if (r.granted) calls.push({ id, amount: o.amount, taskId: taskOf(key) });
              break;
            }
            case 'callEnd': {
              const c = calls.splice(o.i % Math.max(calls.length, 1), 1)[0];
              if (c && o.release) releaseReservation(db, c.id);
              else if (c) charge(c.id, c.taskId, c.amount * o.fraction);
              break;
            }
            case 'lease': {
              const key = KEYS[o.key]!;
              const id = `r${run}.s${++n}`;
              const r = leaseSlice(db, { sliceId: id, holder: HOLDERS[o.holder]!, ...(key ? { clientKey: key } : {}), minUsd: o.min, wantUsd: o.want, ttlMs: o.ttlMs, yearMonth: MONTH, limitUsd }, { now: new Date(clock), graceMs: GRACE_MS });
              if (r.granted) {
                expect(r.slice!.amountUsd).toBeGreaterThanOrEqual(o.min - 1e-12);
                // The ledger's clock has seconds: its expiry is at most a second earlier than the model's.
                slices.push({ id, holder: HOLDERS[o.holder]!, key, amount: r.slice!.amountUsd, leasedAt: clock, ttlMs: o.ttlMs, expiresAt: Math.floor((clock + o.ttlMs) / 1000) * 1000, held: 0, charged: 0, live: true });
              }
              break;
            }
            case 'grant': {
              // A gateway grants only from a slice it holds, within half its lease, within its room.
              const open = slices.filter((s) => s.live && clock - s.leasedAt < s.ttlMs / 2);
              const s = open[o.i % Math.max(open.length, 1)];
              if (s && s.amount - s.held - s.charged >= o.amount) {
                s.held += o.amount;
                // A call that ends without its own grantEnd costs its worst case.
                grants.push({ sliceId: s.id, amount: o.amount, fraction: 1, taskId: taskOf(s.key) });
              }
              break;
            }
            case 'grantEnd': {
              const g = grants[o.i % Math.max(grants.length, 1)];
              if (g) {
                g.fraction = o.fraction;
                endGrant(g, o.charged);
              }
              break;
            }
            case 'return': {
              const live = slices.filter((s) => s.live);
              const s = live[o.i % Math.max(live.length, 1)];
              // Returned with its open grants counted as charged (BudgetSlices.stop does so).
              if (s) { returnSlice(db, s.id, s.holder, s.charged + s.held, { now: new Date(clock) }); s.live = false; }
              break;
            }
            case 'kill': {
              // The gateway dies: its slices are neither used nor returned; the ledger sweeps them.
              for (const s of slices) if (s.holder === HOLDERS[o.holder] && s.live) s.live = false;
              break;
            }
            case 'wait': {
              advance(o.ms, false);
              sweepExpiredSlices(db, { now: new Date(clock), graceMs: GRACE_MS });
              break;
            }
          }
          check(o.kind);
        }
        // Every call ends, every slice ends: still within the limit, and nothing uncovered.
        for (const g of [...grants]) endGrant(g, true);
        for (const c of calls.splice(0)) charge(c.id, c.taskId, c.amount);
        advance(1_000_000, true);
        sweepExpiredSlices(db, { now: new Date(clock), graceMs: GRACE_MS });
        check('the end');
        expect(getBudgetStatus(db, MONTH)!.reservedUsd).toBeCloseTo(0, 9);
        const unreserved = unreservedReport(db, 3);
        expect(unreserved.calls - uncoveredBefore, JSON.stringify(unreserved.recent)).toBe(0);
      },
    ), { numRuns: 500 });
  }, 120_000);
});
