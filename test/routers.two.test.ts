/**
 * Two routers at once on one bus: submissions are shared out between them,
 * yet every task runs once, is recorded once and charged once, and the
 * budget's limit holds.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NatsConnection } from '@nats-io/transport-node';
import { Router } from '../actors/router/index.ts';
import { startSystem, uniqueId, type TestSystem } from './support/system.ts';

let sys: TestSystem;
const routers: { router: Router; nc: NatsConnection }[] = [];

beforeAll(async () => {
  // A small budget: each gpt5_high call reserves $1.28 worst case, so only a few fit at once.
  sys = await startSystem({ config: { budget: { monthly_usd: 5 } } });
  await sys.router.stop();
  for (const id of ['router-a', 'router-b']) {
    const nc = await sys.nats.connect('router');
    const router = new Router({ nc, config: sys.config, routerId: id, ledgerTimeoutMs: 1000, concurrency: 8 });
    await router.start();
    routers.push({ router, nc });
  }
});
afterAll(async () => {
  for (const { router } of routers) await router.stop();
  await sys?.stop();
});

describe('two routers at once', () => {
  it('share the submissions; every task runs once, is recorded once, charged once, within the budget', async () => {
    const before = routers.map(({ nc }) => nc.stats().outMsgs);
    const prompts = ['design a distributed architecture for the event bus', 'refactor this module to use dependency injection', 'fix a typo in the README'];
    const ids = Array.from({ length: 36 }, (_, i) => ({ taskId: uniqueId('two'), prompt: `${prompts[i % 3]} (${i})` }));
    await Promise.all(ids.map((t) => sys.submit(t)));
    const finals = await Promise.all(ids.map((t) => sys.finalEvent(t.taskId, 60_000).catch(async (e) => {
      if (process.env.DEBUG_TWO) console.log(t.taskId, JSON.stringify((await sys.events(t.taskId)).map((x) => [x.state, x.reason, x.status])));
      throw e;
    })));
    expect(finals.map((f) => f.status)).toEqual(ids.map(() => 'completed'));
    // Both routers did a share of the work.
    routers.forEach(({ nc }, i) => expect(nc.stats().outMsgs - before[i]!).toBeGreaterThan(20));
    for (const { taskId } of ids) {
      const events = await sys.events(taskId);
      expect(events.filter((e) => e.status === 'completed')).toHaveLength(1);
      expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    }
    const rows = sys.db.prepare(`SELECT task_id, COUNT(*) n FROM cost_tracking WHERE task_id IN (${ids.map(() => '?').join(',')}) GROUP BY task_id`).all(...ids.map((t) => t.taskId)) as { n: number }[];
    expect(rows.map((r) => r.n)).toEqual(ids.map(() => 1));
    // The ledger granted reservations one at a time: what was granted never exceeded the limit.
    const granted = sys.db.prepare("SELECT COUNT(*) n FROM budget_reservations WHERE tier = 'gpt5_high'").get() as { n: number };
    expect(granted.n).toBeGreaterThan(0);
    const spent = sys.db.prepare('SELECT COALESCE(SUM(cost_usd), 0) usd FROM cost_tracking').get() as { usd: number };
    expect(spent.usd).toBeLessThanOrEqual(5);
    // Some high tasks did not get a reservation while others held theirs, and went elsewhere.
    expect(finals.some((f) => f.fallback?.reason === 'budget reservation refused' || f.tier !== 'gpt5_high')).toBe(true);
  }, 90_000);
});
