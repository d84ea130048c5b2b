/**
 * The simulator's parts on their own (rate limiter, prompt cache, fault plan,
 * text), and its fault injection and lifecycle over HTTP.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { parseDuration } from '../src/policy/rateLimit.ts';
import { countTokens } from '../src/policy/tokens.ts';
import { FaultPlan } from '../src/llm/sim/faults.ts';
import { PromptCache } from '../src/llm/sim/promptCache.ts';
import { formatGoDuration, SimRateLimiter } from '../src/llm/sim/rateLimiter.ts';
import { answerTokenIds, digest, tokenPieces } from '../src/llm/sim/text.ts';
import { startSimServer, type SimServer } from '../src/llm/sim/index.ts';

describe('formatGoDuration', () => {
  // [ms, Go's text, what parseDuration reads back]: sub-millisecond waits round up to 1ms.
  it.each([
    [0, '0s', 0], [0.4, '1ms', 1], [12, '12ms', 12], [999, '999ms', 999], [1_000, '1s', 1_000], [1_500, '1.5s', 1_500],
    [17_280, '17.28s', 17_280], [60_000, '1m0s', 60_000], [360_000, '6m0s', 360_000], [3_723_500, '1h2m3.5s', 3_723_500],
  ])('%d ms → %s, which parseDuration reads back', (ms, text, back) => {
    expect(formatGoDuration(ms)).toBe(text);
    expect(parseDuration(text)).toBe(back);
  });
});

describe('SimRateLimiter', () => {
  const T = 1_000_000;

  it('refills a token bucket over a minute and says how long to wait', () => {
    const rl = new SimRateLimiter({ rpm: 2, tpm: null }, T);
    expect(rl.take(10, T).ok).toBe(true);
    expect(rl.take(10, T).ok).toBe(true);
    const denied = rl.take(10, T);
    expect(denied).toMatchObject({ ok: false, kind: 'requests', limit: 2, retryAfterMs: 30_000 });
    expect(denied.headers['x-ratelimit-remaining-requests']).toBe('0');
    expect(denied.headers['x-ratelimit-reset-requests']).toBe('1m0s');
    expect(rl.take(10, T + 29_000).ok).toBe(false);
    expect(rl.take(10, T + 30_000).ok).toBe(true);
  });

  it('charges tokens and refuses a request bigger than what is left', () => {
    const rl = new SimRateLimiter({ rpm: null, tpm: 1_000 }, T);
    expect(rl.take(900, T).ok).toBe(true);
    expect(rl.headers(T)).toEqual({ 'x-ratelimit-limit-tokens': '1000', 'x-ratelimit-remaining-tokens': '100', 'x-ratelimit-reset-tokens': '54s' });
    expect(rl.take(200, T)).toMatchObject({ ok: false, kind: 'tokens', requested: 200, retryAfterMs: 6_000 });
  });

  it('sends no headers when unlimited', () => {
    const rl = new SimRateLimiter({ rpm: null, tpm: null }, T);
    expect(rl.enabled).toBe(false);
    expect(rl.take(1e9, T)).toEqual({ ok: true, headers: {} });
  });
});

describe('PromptCache', () => {
  const tokens = (n: number, salt = 0) => Array.from({ length: n }, (_, i) => (i * 7 + salt) % 50_000);

  it('serves the longest shared prefix in whole 1024-token blocks, per scope', () => {
    const cache = new PromptCache();
    const a = tokens(3_000);
    expect(cache.lookupAndStore('m', a)).toBe(0);
    expect(cache.lookupAndStore('m', a)).toBe(2_048);
    const b = [...a.slice(0, 1_500), ...tokens(2_000, 3)];
    expect(cache.lookupAndStore('m', b)).toBe(1_024);
    expect(cache.lookupAndStore('other-model', a)).toBe(0);
    expect(cache.lookupAndStore('m', a.slice(0, 1_000))).toBe(0); // under one block: never cached
  });

  it('does not count a later block whose predecessor differs', () => {
    const cache = new PromptCache();
    const a = tokens(2_048);
    cache.lookupAndStore('m', a);
    const b = [...tokens(1_024, 9), ...a.slice(1_024)];
    expect(cache.lookupAndStore('m', b)).toBe(0);
  });
});

describe('FaultPlan', () => {
  it('serves the queue in order, then a seeded share of the rest', () => {
    const plan = new FaultPlan({ queue: [{ status: 500 }, { hang: true }], ratio: 0.5, fault: { cutStream: true }, seed: 7 });
    expect(plan.next()).toEqual({ status: 500 });
    expect(plan.next()).toEqual({ hang: true });
    const draws = Array.from({ length: 200 }, () => plan.next() !== undefined);
    const again = new FaultPlan({ ratio: 0.5, fault: { cutStream: true }, seed: 7 });
    expect(Array.from({ length: 200 }, () => again.next() !== undefined)).toEqual(draws);
    const share = draws.filter(Boolean).length / draws.length;
    expect(share).toBeGreaterThan(0.35);
    expect(share).toBeLessThan(0.65);
  });

  it('takes a plain array as a queue and nothing as no faults', () => {
    expect(new FaultPlan([{ malformedJson: true }]).next()).toEqual({ malformedJson: true });
    expect(new FaultPlan().next()).toBeUndefined();
  });
});

describe('simulated text', () => {
  it('has exactly the requested number of tokens and echoes the task', () => {
    const ids = answerTokenIds('gpt-5', 'Explain the retry policy in worker.ts', 50);
    expect(ids).toHaveLength(50);
    const text = tokenPieces(ids).join('');
    expect(text.startsWith('[simulated gpt-5] re: "Explain the retry policy in worker.ts"')).toBe(true);
    expect(countTokens(text)).toBe(50);
  });

  it('digests long tasks to their first words', () => {
    expect(digest('one two three four five six seven eight nine ten')).toBe('one two three four five six seven eight');
    expect(digest('x'.repeat(200))).toHaveLength(80);
  });
});

describe('fault injection and lifecycle over HTTP', () => {
  let sim: SimServer | undefined;
  afterEach(async () => {
    await sim?.close();
    sim = undefined;
  });
  const body = JSON.stringify({ model: 'gpt-5', messages: [{ role: 'user', content: 'hi' }], stream: true });
  const chat = () => fetch(`${sim!.url}/v1/chat/completions`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });

  it('cuts a stream after the headers and a few events', async () => {
    sim = await startSimServer({ outputTokens: 40, inject: [{ cutStream: true, afterTokens: 3 }] });
    const res = await chat();
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    let text = '';
    const err = await (async () => {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return undefined;
        text += Buffer.from(value).toString();
      }
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TypeError); // undici: "terminated"
    expect(text).not.toContain('[DONE]');
    expect(text.split('\n\n').filter((e) => e.includes('"content"')).length).toBeGreaterThan(0);
  });

  it('changes options while running and ends hung requests on close()', async () => {
    sim = await startSimServer({ outputTokens: 5 });
    expect((await chat()).status).toBe(200);
    sim.setOptions({ inject: [{ status: 503 }], apiKey: undefined });
    expect((await chat()).status).toBe(503);
    sim.setOptions({ inject: [{ hang: true }] });
    const hung = chat().then((r) => r.status, (e: unknown) => e);
    await expect.poll(() => sim!.stats.inFlight).toBe(1);
    await sim.close();
    expect(await hung).toBeInstanceOf(TypeError);
    expect(sim.stats).toMatchObject({ chatRequests: 3, completed: 1, faultsInjected: 2 });
    expect(sim.stats.log.map((r) => r.fault)).toEqual([undefined, 'status 503', 'hang']);
    sim = undefined;
  });
});
