import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { useTempLedger } from './support/util.ts';
import {
  ensureMonth, getBudgetStatus, getReservation, monthToDateSpend, openLedgerDb, recordUsage,
  releaseReservation, ReservationBook, reserveBudget, setMonthLimit, settleReservation, upsertTask,
  type LedgerDb, type ReserveInput,
} from '../src/db/index.ts';

const temp = useTempLedger();
const track = temp.track;

const MONTH = '2025-01';
const req = (id: string, amountUsd: number, over: Partial<ReserveInput> = {}): ReserveInput => ({
  reservationId: id, taskId: null, tier: 'gpt5_high', amountUsd, yearMonth: MONTH, limitUsd: 10, ...over,
});
const activeSum = (db: LedgerDb): number =>
  (db.prepare("SELECT COALESCE(SUM(amount_usd), 0) AS s FROM budget_reservations WHERE status = 'active'").get() as { s: number }).s;

describe('months', () => {
  it('creates a month once, keeps an existing limit, and can change it explicitly', () => {
    const db = track(openLedgerDb(temp.file));
    expect(getBudgetStatus(db, MONTH)).toBeNull();
    expect(ensureMonth(db, MONTH, 100, 80)).toEqual({ yearMonth: MONTH, limitUsd: 100, spentUsd: 0,
      reservedUsd: 0, remainingUsd: 100, availableUsd: 100, alertThresholdPercent: 80, alertReached: false });
    expect(ensureMonth(db, MONTH, 5, 50)).toMatchObject({ limitUsd: 100, alertThresholdPercent: 80 });
    expect(setMonthLimit(db, MONTH, 150, 90)).toMatchObject({ limitUsd: 150, remainingUsd: 150, alertThresholdPercent: 90 });
    expect(setMonthLimit(db, '2099-01', 1)).toBeNull();
    expect(() => ensureMonth(db, '2025-13', 1)).toThrow(RangeError);
    expect(() => ensureMonth(db, MONTH, -1)).toThrow(RangeError);
  });

  it('rolls over: usage in a new UTC month creates and charges that month', () => {
    const db = track(openLedgerDb(temp.file));
    const opts = { monthlyLimitUsd: 20, alertThresholdPercent: 75 };
    const rec = (usageId: string, costUsd: number, iso: string) => recordUsage(db, {
      usageId, taskId: null, tier: 'gpt5_medium', model: 'gpt-5', promptTokens: 1, cachedPromptTokens: 0,
      completionTokens: 1, reasoningTokens: 0, costUsd }, { ...opts, now: new Date(iso) });
    rec('jan', 16, '2025-01-31T23:59:59Z');
    rec('feb', 1, '2025-02-01T00:00:00Z');
    expect(getBudgetStatus(db, '2025-01')).toMatchObject({ limitUsd: 20, spentUsd: 16, alertReached: true, alertThresholdPercent: 75 });
    expect(getBudgetStatus(db, '2025-02')).toMatchObject({ limitUsd: 20, spentUsd: 1, remainingUsd: 19, alertReached: false });
    expect([monthToDateSpend(db, '2025-01'), monthToDateSpend(db, '2025-02')]).toEqual([16, 1]);
    // A reservation for the next month creates that row with the configured limit.
    expect(reserveBudget(db, req('mar', 3, { yearMonth: '2025-03', limitUsd: 20 })).status)
      .toMatchObject({ yearMonth: '2025-03', limitUsd: 20, reservedUsd: 3, availableUsd: 17 });
  });
});

describe('reservations', () => {
  it('grants exactly what fits and never more than the limit', () => {
    const db = track(openLedgerDb(temp.file));
    // Ten 0.1s sum to 0.9999999999999999 in floating point: the epsilon must still let the 10th in.
    const granted = Array.from({ length: 15 }, (_, i) => reserveBudget(db, req(`r${i}`, 0.1, { limitUsd: 1 })))
      .filter((r) => r.granted).length;
    expect(granted).toBe(10);
    const denied = reserveBudget(db, req('r-extra', 0.01, { limitUsd: 1 }));
    expect(denied).toMatchObject({ granted: false, reason: 'insufficient_budget' });
    expect(denied.status.reservedUsd).toBeCloseTo(1, 9);
    expect(getReservation(db, 'r-extra')).toBeNull();
    expect(reserveBudget(db, req('zero', 0, { tier: 'local', limitUsd: 1 })).granted).toBe(true);
    expect(() => reserveBudget(db, req('neg', -0.01))).toThrow(RangeError);
  });

  it('counts spend and active reservations together', () => {
    const db = track(openLedgerDb(temp.file));
    upsertTask(db, { taskId: 't1', taskType: 'general', difficulty: 'high', sensitivity: 'public', status: 'routing' });
    recordUsage(db, { usageId: 'u0', taskId: 't1', tier: 'gpt5_high', model: 'gpt-5', promptTokens: 1,
      cachedPromptTokens: 0, completionTokens: 1, reasoningTokens: 0, costUsd: 6 },
    { monthlyLimitUsd: 10, now: new Date('2025-01-10T00:00:00Z') });
    expect(reserveBudget(db, req('a', 3)).granted).toBe(true);
    expect(reserveBudget(db, req('b', 1.5)).granted).toBe(false);
    expect(reserveBudget(db, req('c', 1)).status).toMatchObject({ spentUsd: 6, reservedUsd: 4, remainingUsd: 4, availableUsd: 0 });
  });

  it('is idempotent by reservationId, and release/settle are idempotent', () => {
    const db = track(openLedgerDb(temp.file));
    expect(reserveBudget(db, req('r1', 4)).granted).toBe(true);
    expect(reserveBudget(db, req('r1', 4))).toMatchObject({ granted: true, reason: null });
    expect(getBudgetStatus(db, MONTH)?.reservedUsd).toBe(4);

    expect(releaseReservation(db, 'r1', { now: new Date('2025-01-02T00:00:00Z') })).toBe(true);
    expect(releaseReservation(db, 'r1')).toBe(false);
    expect(releaseReservation(db, 'unknown')).toBe(false);
    expect(getReservation(db, 'r1')).toMatchObject({ status: 'released', releasedAt: '2025-01-02 00:00:00' });
    expect(reserveBudget(db, req('r1', 4))).toMatchObject({ granted: false, reason: 'released' });
    expect(settleReservation(db, 'r1', 1)).toBe(false);
    expect(getBudgetStatus(db, MONTH)?.reservedUsd).toBe(0);

    reserveBudget(db, req('r2', 5));
    expect(settleReservation(db, 'r2', 4.5)).toBe(true);
    expect(settleReservation(db, 'r2', 9)).toBe(false);
    expect(releaseReservation(db, 'r2')).toBe(false);
    expect(reserveBudget(db, req('r2', 5))).toMatchObject({ granted: true }); // settled: still a grant
    expect(getReservation(db, 'r2')).toMatchObject({ status: 'settled', actualUsd: 4.5 });
    // Settling frees the hold but charges nothing: spend comes only from usage rows.
    expect(getBudgetStatus(db, MONTH)).toMatchObject({ reservedUsd: 0, spentUsd: 0 });
  });

  it('is settled by usage: several usages add up, and a late usage still settles a released hold', () => {
    const db = track(openLedgerDb(temp.file));
    const now = new Date('2025-01-05T00:00:00Z');
    const use = (usageId: string, reservationId: string, costUsd: number) => recordUsage(db, {
      usageId, taskId: null, tier: 'gpt5_high', model: 'gpt-5', promptTokens: 10, cachedPromptTokens: 0,
      completionTokens: 10, reasoningTokens: 0, costUsd, reservationId }, { monthlyLimitUsd: 10, now });
    reserveBudget(db, req('multi', 2), { now });
    use('u1', 'multi', 0.75);
    use('u2', 'multi', 0.5);
    expect(getReservation(db, 'multi')).toMatchObject({ status: 'settled', actualUsd: 1.25 });
    reserveBudget(db, req('late', 2), { now });
    releaseReservation(db, 'late', { now });
    use('u3', 'late', 0.25);
    expect(getReservation(db, 'late')).toMatchObject({ status: 'settled', actualUsd: 0.25 });
    use('u4', 'no-such-reservation', 1); // still charged: cost is never dropped
    expect(getBudgetStatus(db, MONTH)).toMatchObject({ spentUsd: 2.5, reservedUsd: 0, availableUsd: 7.5 });
  });

  it('holds across two connections to the same file, interleaved', () => {
    const a = track(openLedgerDb(temp.file));
    const b = track(openLedgerDb(temp.file));
    let grantedUsd = 0;
    for (let i = 0; i < 40; i++) {
      const db = i % 2 === 0 ? a : b;
      const r = reserveBudget(db, req(`x${i}`, 3, { limitUsd: 50 }));
      if (r.granted) grantedUsd += 3;
      // Retries from the other connection must not double-count.
      reserveBudget(db === a ? b : a, req(`x${i}`, 3, { limitUsd: 50 }));
    }
    expect(grantedUsd).toBe(48); // 16 × $3 fit under $50; the 17th would make $51
    const check = track(openLedgerDb(temp.file, { readonly: true }));
    expect(activeSum(check)).toBe(48);
    expect(getBudgetStatus(check, MONTH)).toMatchObject({ reservedUsd: 48, availableUsd: 2 });
  });

  it('a ReservationBook decides as the database does, through the other connection\'s grants and this one\'s usage and releases', () => {
    const a = track(openLedgerDb(temp.file));
    const b = track(openLedgerDb(temp.file));
    const book = new ReservationBook();
    const now = new Date('2025-01-05T00:00:00Z');
    const viaBook = (id: string, usd: number) => reserveBudget(a, req(id, usd), { book, now });
    // Every answer the book gives must be the database's own at that moment.
    const agrees = (r: ReturnType<typeof reserveBudget>) => expect(r.status).toEqual(getBudgetStatus(b, MONTH));
    agrees(viaBook('k1', 2));
    agrees(viaBook('k2', 2)); // from memory: nothing else wrote
    expect(reserveBudget(b, req('other', 3), { now }).granted).toBe(true); // another connection's commit
    agrees(viaBook('k3', 1));
    recordUsage(a, { usageId: 'k-u', taskId: null, tier: 'gpt5_high', model: 'gpt-5', promptTokens: 1, cachedPromptTokens: 0,
      completionTokens: 1, reasoningTokens: 0, costUsd: 1.5, reservationId: 'k1' }, { monthlyLimitUsd: 10, now }); // this connection's write
    agrees(viaBook('k4', 0.5));
    releaseReservation(a, 'k2', { now });
    const last = viaBook('k5', 3.5);
    agrees(last);
    // $1.50 spent + $8.00 held (k3, other, k4, k5; k1 settled by its usage, k2 released) = $9.50 of $10.
    expect(last).toMatchObject({ granted: true, status: { spentUsd: 1.5 } });
    expect(last.status.reservedUsd).toBeCloseTo(8, 9);
    expect(viaBook('k6', 0.51)).toMatchObject({ granted: false, reason: 'insufficient_budget' });
    expect(viaBook('k7', 0.5).granted).toBe(true);
  });

  it.each(['without', 'with'])('holds across concurrent processes racing on one file (%s a ReservationBook)', async (withBook) => {
    const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
    const setup = track(openLedgerDb(temp.file)); // create and migrate once, as a deployment would
    // Test-only invariant check, evaluated inside every insert: an overspend aborts the child.
    setup.exec(`CREATE TRIGGER test_overspend AFTER INSERT ON budget_reservations
      WHEN (SELECT SUM(amount_usd) FROM budget_reservations
              WHERE year_month = NEW.year_month AND status = 'active')
         > (SELECT budget_limit_usd - spent_usd FROM budget_management
              WHERE year_month = NEW.year_month) + 1e-9
      BEGIN SELECT RAISE(ABORT, 'overspent'); END`);
    setup.close();
    const dbIndex = pathToFileURL(path.join(root, 'src/db/index.ts')).href;
    const script = path.join(temp.dir, 'reserver.mjs');
    // Phase 1 churns reserve/release against a $2 limit so processes keep contending for the last
    // dollar; phase 2 fills a $50 month with 4 × 30 requests of $1.
    fs.writeFileSync(script, `
      const { openLedgerDb, reserveBudget, releaseReservation, ReservationBook } = await import(${JSON.stringify(dbIndex)});
      const [file, prefix, startAt, withBook] = process.argv.slice(2);
      const db = openLedgerDb(file);
      const book = withBook === 'with' ? new ReservationBook() : undefined;
      const ask = (id, yearMonth, limitUsd) => reserveBudget(db, { reservationId: prefix + id,
        taskId: null, tier: 'gpt5_high', amountUsd: 1, yearMonth, limitUsd }, { book }).granted;
      while (Date.now() < Number(startAt)) {} // line up with the other processes
      let churned = 0;
      for (let i = 0; i < 400; i++) if (ask('-c' + i, '2025-02', 2)) { churned++; releaseReservation(db, prefix + '-c' + i); }
      let granted = 0;
      for (let i = 0; i < 30; i++) if (ask('-f' + i, '2025-01', 50)) granted++;
      db.close();
      process.stdout.write(JSON.stringify({ churned, granted }));
    `);
    const startAt = Date.now() + 2500;
    const run = (prefix: string) => new Promise<{ churned: number; granted: number }>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', script, temp.file, prefix, String(startAt), withBook],
        { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
      child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
      child.on('error', reject);
      child.on('close', (code) => (code === 0
        ? resolve(JSON.parse(out) as { churned: number; granted: number })
        : reject(new Error(`child ${prefix} exited ${code}: ${err}`))));
    });
    const results = await Promise.all(['p1', 'p2', 'p3', 'p4'].map(run));
    expect(results.reduce((s, r) => s + r.granted, 0)).toBe(50); // 120 asked, exactly $50 fits
    // The churn phase ran (reservations were granted and released while the others raced);
    // how the grants split between processes depends on scheduling, so only the total is checked.
    expect(results.reduce((s, r) => s + r.churned, 0)).toBeGreaterThan(0);
    const db = track(openLedgerDb(temp.file, { readonly: true }));
    expect(getBudgetStatus(db, '2025-01')).toMatchObject({ limitUsd: 50, reservedUsd: 50, availableUsd: 0 });
    expect(getBudgetStatus(db, '2025-02')).toMatchObject({ reservedUsd: 0 });
  });
});
