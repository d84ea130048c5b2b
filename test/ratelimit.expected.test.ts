/**
 * The TPM window counts a request's expected tokens (prompt + the tier's
 * `expected_output_tokens`), not its worst case, and holds the provider's count once the
 * call ends. With the default limits, a minute's worth of hard work all runs on gpt5_high.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kvm } from '@nats-io/kv';
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { BUCKETS } from '../src/bus/index.ts';
import { expectedOutputTokens } from '../src/config/index.ts';
import type { RateLimitState } from '../src/policy/rateLimit.ts';
import { startSystem, uniqueId, type TestSystem } from './support/system.ts';

let sys: TestSystem;
let router: NatsConnection;

beforeAll(async () => {
  sys = await startSystem();
  router = await sys.nats.connect('router');
});
afterAll(async () => {
  await router?.close();
  await sys?.stop();
});

const HARD = 'design a distributed, lock-free architecture with a consensus algorithm for the scheduler; optimise its concurrency';

describe('the token limiter under the default limits', () => {
  it('sends 30 hard tasks submitted within a minute all to gpt5_high, and the window ends holding what the provider counted', async () => {
    const high = sys.config.tiers.gpt5_high;
    // The defaults this test is about: a worst case per call that would fill the TPM window
    // after three tasks, and an expected output that lets a minute's work through.
    expect(high.max_output_tokens * 4).toBeGreaterThan(high.tpm!);
    expect(30 * expectedOutputTokens(high)).toBeLessThan(high.tpm!);

    const ids = Array.from({ length: 30 }, (_, i) => uniqueId(`tpm${i}`));
    await Promise.all(ids.map((taskId, i) => sys.submit({ taskId, prompt: `${HARD} (${i})` })));
    const finals = await Promise.all(ids.map((taskId) => sys.finalEvent(taskId, 60_000)));
    expect(finals.map((f) => [f.status, f.tier, f.fallback ?? null])).toEqual(ids.map(() => ['completed', 'gpt5_high', null]));

    // Every call's entry in the shared window was settled to the provider's count.
    const counted = new Map(finals.map((f) => [f.taskId, (f.result?.usage?.promptTokens ?? -1) + (f.result?.usage?.completionTokens ?? 0)]));
    const kv = await new Kvm(jetstream(router)).open(BUCKETS.rateLimits);
    const deadline = Date.now() + 10_000;
    let window: Map<string, number> = new Map();
    while (Date.now() < deadline) {
      const entry = await kv.get('gpt5_high');
      const state = JSON.parse(new TextDecoder().decode(entry!.value)) as RateLimitState;
      window = new Map(state.tokens.filter((e) => e.id && counted.has(e.id)).map((e) => [e.id!, e.n]));
      if (ids.every((id) => window.get(id) === counted.get(id))) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(Object.fromEntries(window)).toEqual(Object.fromEntries(counted));
    // Far below the estimates they replaced: the simulator answers briefly.
    for (const n of counted.values()) expect(n).toBeLessThan(expectedOutputTokens(high));
  }, 90_000);
});
