/**
 * The providers' shared parts: createProvider's choices, the error helpers and
 * progress throttling. (The providers themselves: llm.providers.test.ts.)
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../src/config/index.ts';
import { KoubouError } from '../src/core/errors.ts';
import {
  createProvider,
  DEFAULT_SIM_URL,
  LMStudioProvider,
  OllamaProvider,
  OpenAIProvider,
  PROVIDER_ERROR_RETRYABLE,
  ProviderFailure,
} from '../src/llm/index.ts';
import { rateLimitHeadersOf, redact, retryAfterMsOf, systemErrorCode } from '../src/llm/errors.ts';
import { StreamProgress } from '../src/llm/progress.ts';

const config = loadConfig({ env: {} });

describe('createProvider', () => {
  it('builds the provider each configured tier names', () => {
    const high = createProvider(config.tiers.gpt5_high, { apiKey: 'sk-x' });
    expect(high).toBeInstanceOf(OpenAIProvider);
    expect(high.name).toBe('openai');
    const local = createProvider(config.tiers.local);
    expect(local).toBeInstanceOf(OllamaProvider);
    expect((local as OllamaProvider).host).toBe('http://localhost:11434');
    const lms = createProvider({ provider: 'lmstudio', model: 'openai/gpt-oss-20b', base_url: null });
    expect(lms).toBeInstanceOf(LMStudioProvider);
    expect(lms.name).toBe('lmstudio');
  });

  it('refuses the openai provider without a key, pointing at where keys come from', () => {
    let e: unknown;
    try {
      createProvider(config.tiers.gpt5_medium, {});
    } catch (err) {
      e = err;
    }
    expect(e).toBeInstanceOf(ProviderFailure);
    expect(e).toMatchObject({ code: 'AUTH_FAILED', retryable: false });
    expect((e as Error).message).toMatch(/OPENAI_API_KEY/);
  });

  it('picks the sim protocol from the URL, then from the model name', () => {
    const pick = (base_url: string | null, model: string, protocol?: 'openai' | 'ollama') =>
      createProvider({ provider: 'sim', model, base_url }, protocol ? { sim: { protocol } } : {});
    expect(pick('http://127.0.0.1:9/v1', 'gpt-oss:20b')).toBeInstanceOf(OpenAIProvider);
    expect(pick('http://127.0.0.1:9', 'gpt-oss:20b')).toBeInstanceOf(OllamaProvider);
    expect(pick('http://127.0.0.1:9', 'gpt-5')).toBeInstanceOf(OpenAIProvider);
    expect(pick('http://127.0.0.1:9', 'gpt-5', 'ollama')).toBeInstanceOf(OllamaProvider);
    const dflt = pick(null, 'gpt-oss:20b') as OllamaProvider;
    expect(dflt.host).toBe(DEFAULT_SIM_URL);
    expect(dflt.name).toBe('sim');
  });
});

describe('ProviderFailure', () => {
  it('is a KoubouError whose retryability comes from its code', () => {
    const e = new ProviderFailure('HOST_BUSY', 'busy', { status: 503 });
    expect(e).toBeInstanceOf(KoubouError);
    expect(e).toMatchObject({ code: 'HOST_BUSY', retryable: true, rateLimited: false, status: 503, name: 'ProviderFailure' });
    expect(new ProviderFailure('RATE_LIMITED', 'slow down').rateLimited).toBe(true);
    expect(Object.entries(PROVIDER_ERROR_RETRYABLE).filter(([, r]) => !r).map(([c]) => c).sort()).toEqual(
      ['ABORTED', 'AUTH_FAILED', 'BAD_REQUEST', 'MODEL_NOT_FOUND', 'PERMISSION_DENIED', 'QUOTA_EXCEEDED'],
    );
  });
});

describe('error helpers', () => {
  it('reads retry-after-ms first, then retry-after as seconds or a date', () => {
    expect(retryAfterMsOf({ 'retry-after': '20', 'retry-after-ms': '1500' })).toBe(1500);
    expect(retryAfterMsOf({ 'retry-after': '2' })).toBe(2000);
    const now = Date.UTC(2026, 0, 1, 0, 0, 0);
    expect(retryAfterMsOf({ 'retry-after': 'Thu, 01 Jan 2026 00:00:30 GMT' }, now)).toBe(30_000);
    expect(retryAfterMsOf({ 'retry-after': 'soon' })).toBeUndefined();
    expect(retryAfterMsOf({})).toBeUndefined();
  });

  it('keeps only rate-limit headers, lowercased', () => {
    const h = new Headers({ 'X-RateLimit-Remaining-Requests': '3', 'Retry-After': '1', 'content-type': 'x', 'x-request-id': 'req_1' });
    expect(rateLimitHeadersOf(h)).toEqual({ 'x-ratelimit-remaining-requests': '3' });
    expect(rateLimitHeadersOf(h, true)).toEqual({ 'x-ratelimit-remaining-requests': '3', 'retry-after': '1' });
  });

  it('finds the system error code under fetch failed, and redacts secrets', () => {
    const refused = new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' }) });
    expect(systemErrorCode(refused)).toBe('ECONNREFUSED');
    expect(systemErrorCode(new Error('plain'))).toBeUndefined();
    expect(redact('key sk-abcdef was wrong: sk-abcdef', 'sk-abcdef')).toBe('key [redacted] was wrong: [redacted]');
  });
});

describe('StreamProgress', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('reports the first piece at once, then at most every interval, then the final count', () => {
    vi.useFakeTimers({ now: 0 });
    const seen: number[] = [];
    const progress = new StreamProgress((p) => seen.push(p.tokens), 100);
    progress.add(' ok'); // t=0: first → reported
    vi.setSystemTime(50);
    progress.add(' ok'); // within the interval → held
    vi.setSystemTime(120);
    progress.add(' ok'); // interval passed → reported with the running total
    progress.add(' ok');
    progress.finish(); // the last count goes out
    expect(seen).toEqual([1, 3, 4]);
    expect(progress.count).toBe(4);
  });

  it('survives a listener that throws', () => {
    const progress = new StreamProgress(() => {
      throw new Error('listener bug');
    });
    expect(() => progress.add('hello')).not.toThrow();
  });
});
