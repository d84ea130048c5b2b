/**
 * A 429 burst through the whole system: gpt5_high's backend (a sim over HTTP,
 * through the real `openai` SDK) allows 2 requests a minute; a burst of hard
 * tasks gets some 429s, which fall back to the next tier and complete, and the
 * 429s' headers reach the routers so later work skips the exhausted tier.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NatsConnection } from '@nats-io/transport-node';
import { SUBJECTS, type RateLimitSignal } from '../src/bus/index.ts';
import { startSimServer, type SimServer } from '../src/llm/sim/index.ts';
import { startSystem, uniqueId, type TestSystem } from './support/system.ts';

let sys: TestSystem;
let high: SimServer;
let medium: SimServer;
let local: SimServer;
let watcher: NatsConnection;
const signals: RateLimitSignal[] = [];

beforeAll(async () => {
  // A second of latency: every task of the burst reaches the sim before the first answer's headers
  // could tell the routers that the tier is nearly exhausted.
  high = await startSimServer({ rateLimit: { rpm: 2 }, latencyMs: 1000 });
  medium = await startSimServer();
  local = await startSimServer();
  sys = await startSystem({
    workers: [
      { tier: 'gpt5_high', sim: high, maxConcurrent: 6 },
      { tier: 'gpt5_medium', sim: medium },
      { tier: 'local', sim: local },
    ],
  });
  watcher = await sys.nats.connect('router');
  watcher.subscribe(SUBJECTS.rateLimit('gpt5_high'), { callback: (err, m) => { if (!err) signals.push(m.json<RateLimitSignal>()); } });
  await watcher.flush();
}, 30_000);
afterAll(async () => {
  await sys?.stop();
  await Promise.all([high, medium, local].map((s) => s?.close()));
});

async function until(pred: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('a burst against a rate-limited gpt5_high', () => {
  it('completes every task: some on gpt5_high, the rest after a rate-limit fallback', async () => {
    const ids = Array.from({ length: 5 }, () => uniqueId('burst'));
    await Promise.all(ids.map((taskId, i) => sys.submit({ taskId, prompt: `design a lock-free concurrent queue algorithm, variant ${i + 1}` })));
    const finals = await Promise.all(ids.map((id) => sys.finalEvent(id, 30_000)));

    expect(finals.map((f) => f.status)).toEqual(ids.map(() => 'completed'));
    const onHigh = finals.filter((f) => f.tier === 'gpt5_high');
    const fellBack = finals.filter((f) => f.tier !== 'gpt5_high');
    expect(onHigh.length).toBeGreaterThanOrEqual(1);
    expect(onHigh.length).toBeLessThanOrEqual(2);
    expect(fellBack.length).toBeGreaterThanOrEqual(3);
    for (const f of fellBack) {
      expect(['gpt5_medium', 'local']).toContain(f.tier);
      const hop = (await sys.events(f.taskId)).find((e) => e.fallback)?.fallback;
      expect(hop).toMatchObject({ from: 'gpt5_high', reason: expect.stringMatching(/RATE_LIMITED|rate limited/) });
    }
    // The sim really answered 429, and each 429's headers went out as a signal for the routers.
    expect(high.stats.rateLimited).toBeGreaterThanOrEqual(1);
    const limited = signals.filter((s) => s.status === 429);
    expect(limited.length).toBe(high.stats.rateLimited);
    expect(limited[0]!.headers).toMatchObject({ 'retry-after': expect.any(String), 'x-ratelimit-limit-requests': '2', 'x-ratelimit-remaining-requests': '0' });
    // Answers' headers too (status 200), from the tasks that got through: sent just after their reports.
    await until(() => signals.filter((s) => s.status === 200).length >= onHigh.length);
    expect(signals.filter((s) => s.status === 200).length).toBe(onHigh.length);
  }, 60_000);

  it('sends the next hard task elsewhere without calling the exhausted tier: the routers heard the 429s', async () => {
    const calls = high.stats.chatRequests;
    const taskId = uniqueId('after');
    await sys.submit({ taskId, prompt: 'design a distributed consensus algorithm for the scheduler' });
    const final = await sys.finalEvent(taskId, 30_000);
    expect(final).toMatchObject({ status: 'completed', tier: 'gpt5_medium' });
    const hop = (await sys.events(taskId)).find((e) => e.fallback)?.fallback;
    expect(hop).toMatchObject({ from: 'gpt5_high', to: 'gpt5_medium', phase: 'routing', reason: 'rate limited longer than the task may wait' });
    expect(high.stats.chatRequests).toBe(calls);
  }, 40_000);
});
