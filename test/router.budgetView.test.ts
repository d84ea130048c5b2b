/**
 * The router's view of the month's budget: tasks that come together share one question to the
 * ledger, each is routed by an answer asked after it came, and a ledger that stops answering
 * makes the budget unknown (paid tiers unused) rather than silently old.
 */
import { expect, it } from 'vitest';
import { BudgetView } from '../src/routing/index.ts';
import type { BudgetState } from '../src/policy/index.ts';

const month = (spentUsd: number): BudgetState => ({ yearMonth: '2026-12', limitUsd: 100, spentUsd, reservedUsd: 0, alertThresholdPercent: 80 });

/** A ledger whose answers the test releases one at a time. */
function ledger() {
  const waiting: { resolve: (s: BudgetState) => void; reject: (e: Error) => void }[] = [];
  return {
    asked: () => waiting.length,
    fetch: () => new Promise<BudgetState>((resolve, reject) => waiting.push({ resolve, reject })),
    answer: (s: BudgetState) => waiting.shift()!.resolve(s),
    fail: (e: Error) => waiting.shift()!.reject(e),
  };
}
const tick = () => new Promise((r) => setImmediate(r));

it('tasks that come while a question is out share the next one, and each sees an answer asked after it came', async () => {
  let now = 1000;
  const l = ledger();
  const view = new BudgetView({ fetch: l.fetch, now: () => now, refreshMs: 60_000 });
  const first = view.answeredSince(now);
  expect(l.asked()).toBe(1);
  now += 5;
  // Three tasks come while the first question is out: it was asked before them, so they wait for a new one.
  const later = [view.answeredSince(now), view.answeredSince(now), view.answeredSince(now)];
  l.answer(month(10));
  await first;
  expect(view.current().spentUsd).toBe(10);
  await tick();
  expect(l.asked()).toBe(1);
  l.answer(month(85));
  await Promise.all(later);
  expect(view.current().spentUsd).toBe(85);
  // An answer asked after a task came serves it without a question of its own.
  await view.answeredSince(now);
  expect(l.asked()).toBe(0);
});

it('counts its own grants until the next answer, and a failed question makes the budget unknown', async () => {
  let now = 0;
  const l = ledger();
  const view = new BudgetView({ fetch: l.fetch, now: () => now, refreshMs: 3000, maxAgeMs: 5000 });
  expect(() => view.current()).toThrow(/no answer yet/);
  const asking = view.refresh();
  l.answer(month(10));
  await asking;
  view.noteReserved(2.5);
  expect(view.current()).toMatchObject({ spentUsd: 10, reservedUsd: 2.5 });
  now = 1000;
  const failing = view.answeredSince(now);
  l.fail(new Error('no ledger answered on koubou.ledger.query.budget: 503'));
  await failing;
  expect(() => view.current()).toThrow(/last answered 1\.0 s ago; since then: no ledger answered/);
  const back = view.answeredSince(now);
  l.answer(month(11));
  await back;
  expect(view.current().spentUsd).toBe(11);
  // Too old to route by: unknown, and a question goes out in the background.
  now += 6000;
  expect(() => view.current()).toThrow(/last answered 6\.0 s ago; since then: no answer since/);
  expect(l.asked()).toBe(1);
});
