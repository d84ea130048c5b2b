import { describe, it, expect } from 'vitest';
import {
  WINDOW_MS,
  apply429,
  applyHeaders,
  check,
  createRateLimitState,
  parseDuration,
  record,
  settle,
  type RateLimitState,
} from '../src/policy/rateLimit.ts';

const T0 = Date.UTC(2026, 10, 1, 12, 0, 0);

/** Records `n` requests of `tokens` each, one second apart from `start`. */
function recordMany(state: RateLimitState, n: number, tokens: number, start = T0): RateLimitState {
  let s = state;
  for (let i = 0; i < n; i++) s = record(s, tokens, start + i * 1_000);
  return s;
}

describe('parseDuration', () => {
  it.each([
    ['1s', 1_000],
    ['6m0s', 360_000],
    ['20ms', 20],
    ['1h2m3.5s', 3_723_500],
    ['0.5s', 500],
    ['17.28s', 17_280],
    ['1m', 60_000],
    ['0s', 0],
    ['2m30.25s', 150_250],
    ['1.5ms', 1.5],
    ['250us', 0.25],
    ['30', 30_000],
    [' 6m0s ', 360_000],
  ] as const)('%j → %d ms', (text, ms) => {
    expect(parseDuration(text)).toBeCloseTo(ms, 9);
  });

  it.each(['', 'soon', '-1s', '1x', 's', '1s2', '1 s'])('rejects %j', (text) => {
    expect(() => parseDuration(text)).toThrow(RangeError);
  });
});

describe('RPM', () => {
  it('allows 10 requests a minute, then waits until the oldest leaves the window', () => {
    let s = createRateLimitState({ rpm: 10, tpm: null });
    for (let i = 0; i < 10; i++) {
      const now = T0 + i * 1_000;
      expect(check(s, 0, now).available).toBe(true);
      s = record(s, 0, now);
    }
    const now = T0 + 9_500;
    const c = check(s, 0, now);
    expect(c.available).toBe(false);
    expect(c.waitMs).toBe(T0 + WINDOW_MS - now); // 50.5 s: the request at T0 leaves at T0 + 60 s
    expect(c.reason).toMatch(/rpm limit 10/);
    expect(check(s, 0, T0 + WINDOW_MS - 1).available).toBe(false);
    expect(check(s, 0, T0 + WINDOW_MS)).toEqual({ available: true, waitMs: 0, reason: 'available' });
    // After one more at T0 + 60 s, the next slot opens when the T0 + 1 s request leaves.
    s = record(s, 0, T0 + WINDOW_MS);
    expect(check(s, 0, T0 + WINDOW_MS).waitMs).toBe(1_000);
  });

  it('keeps no more than rpm timestamps, all within the window', () => {
    const s = recordMany(createRateLimitState({ rpm: 3, tpm: null }), 100, 0);
    expect(s.requests).toEqual([T0 + 97_000, T0 + 98_000, T0 + 99_000]);
  });

  it('waits for the right request when the limit was lowered below the count', () => {
    const s = { ...recordMany(createRateLimitState({ rpm: 10, tpm: null }), 5, 0), rpm: 2 };
    // Four must leave for one slot: the fourth (T0 + 3 s) leaves at T0 + 63 s.
    expect(check(s, 0, T0 + 5_000).waitMs).toBe(58_000);
  });

  it('does not mutate the state it is given', () => {
    const s = createRateLimitState({ rpm: 10, tpm: 100 });
    const copy = structuredClone(s);
    record(s, 10, T0);
    apply429(s, '5', undefined, T0);
    applyHeaders(s, { 'x-ratelimit-remaining-requests': '0' }, T0);
    expect(s).toEqual(copy);
  });
});

describe('TPM', () => {
  it('waits until enough tokens have left the window', () => {
    let s = createRateLimitState({ rpm: null, tpm: 1_000 });
    s = record(s, 400, T0);
    s = record(s, 300, T0 + 10_000);
    s = record(s, 200, T0 + 20_000);
    expect(check(s, 100, T0 + 30_000).available).toBe(true);
    // 900 used + 350 > 1000: the 400 at T0 must leave (T0 + 60 s); that alone frees enough.
    const c = check(s, 350, T0 + 30_000);
    expect(c).toMatchObject({ available: false, waitMs: 30_000 });
    expect(c.reason).toBe('tpm limit 1000: 900 tokens in the last 60 s + 350 requested');
    // 900 + 750: both the 400 and the 300 must leave; the 300 leaves at T0 + 70 s.
    expect(check(s, 750, T0 + 30_000).waitMs).toBe(40_000);
    expect(check(s, 750, T0 + 70_000).available).toBe(true);
  });

  it('never admits a request larger than the whole TPM', () => {
    const c = check(createRateLimitState({ rpm: null, tpm: 1_000 }), 1_001, T0);
    expect(c.available).toBe(false);
    expect(c.waitMs).toBe(Infinity);
    expect(c.reason).toMatch(/exceeds the tpm limit 1000/);
  });

  it('prunes token entries older than the window and merges same-instant ones', () => {
    let s = createRateLimitState({ rpm: null, tpm: 10_000 });
    s = record(s, 100, T0);
    s = record(s, 50, T0 + 1_000);
    s = record(s, 25, T0 + 1_000);
    // At T0 + 60 s the T0 entry has left the window; the T0 + 1 s one has not.
    s = record(s, 10, T0 + 60_000);
    expect(s.tokens).toEqual([
      { at: T0 + 1_000, n: 75 },
      { at: T0 + 60_000, n: 10 },
    ]);
  });
});

describe('unlimited', () => {
  it('is always available and keeps nothing', () => {
    let s = createRateLimitState({ rpm: null, tpm: null });
    s = recordMany(s, 1_000, 100_000);
    expect(check(s, 10_000_000, T0 + 1_000)).toEqual({ available: true, waitMs: 0, reason: 'available' });
    expect(s.requests).toEqual([]);
    expect(s.tokens).toEqual([]);
  });

  it('still honours a 429', () => {
    const s = apply429(createRateLimitState({ rpm: null, tpm: null }), '2', undefined, T0);
    expect(check(s, 0, T0).waitMs).toBe(2_000);
  });
});

describe('applyHeaders', () => {
  const headers = {
    'x-ratelimit-limit-requests': '500',
    'x-ratelimit-remaining-requests': '0',
    'x-ratelimit-reset-requests': '6m0s',
    'x-ratelimit-limit-tokens': '500000',
    'x-ratelimit-remaining-tokens': '499000',
    'x-ratelimit-reset-tokens': '120ms',
  };

  it('records the server figures', () => {
    const s = applyHeaders(createRateLimitState({ rpm: 10, tpm: null }), headers, T0);
    expect(s).toMatchObject({
      serverLimitRequests: 500,
      serverRemainingRequests: 0,
      serverResetRequestsAt: T0 + 360_000,
      serverLimitTokens: 500_000,
      serverRemainingTokens: 499_000,
      serverResetTokensAt: T0 + 120,
    });
  });

  it('blocks on 0 remaining requests until the reset, then unblocks', () => {
    const s = applyHeaders(createRateLimitState({ rpm: null, tpm: null }), headers, T0);
    const c = check(s, 10, T0 + 60_000);
    expect(c).toMatchObject({ available: false, waitMs: 300_000 });
    expect(c.reason).toMatch(/0 requests remaining/);
    expect(check(s, 10, T0 + 360_000).available).toBe(true);
  });

  it('blocks a request needing more tokens than remain, until the token reset', () => {
    const h = { 'x-ratelimit-remaining-tokens': '1000', 'x-ratelimit-reset-tokens': '1.5s' };
    const s = applyHeaders(createRateLimitState({ rpm: null, tpm: null }), h, T0);
    expect(check(s, 1_000, T0).available).toBe(true);
    expect(check(s, 1_001, T0).waitMs).toBe(1_500);
    expect(check(s, 1_001, T0 + 1_500).available).toBe(true);
  });

  it('counts recorded requests down from the server figures until fresh headers come', () => {
    const h = { 'x-ratelimit-remaining-requests': '2', 'x-ratelimit-reset-requests': '10s' };
    let s = applyHeaders(createRateLimitState({ rpm: null, tpm: null }), h, T0);
    s = record(s, 0, T0 + 1);
    expect(check(s, 0, T0 + 2).available).toBe(true);
    s = record(s, 0, T0 + 2);
    expect(check(s, 0, T0 + 3).waitMs).toBe(10_000 - 3);
    s = applyHeaders(s, { 'x-ratelimit-remaining-requests': '5', 'x-ratelimit-reset-requests': '1s' }, T0 + 4);
    expect(check(s, 0, T0 + 4).available).toBe(true);
  });

  it('reads fetch Headers, and plain objects in any key case', () => {
    const fetchHeaders = new Headers({ 'X-RateLimit-Remaining-Requests': '0', 'X-RateLimit-Reset-Requests': '2s' });
    expect(applyHeaders(createRateLimitState({ rpm: null, tpm: null }), fetchHeaders, T0).serverResetRequestsAt).toBe(
      T0 + 2_000,
    );
    const mixed = { 'X-RateLimit-Remaining-Requests': '0', 'X-RATELIMIT-RESET-REQUESTS': '3s' };
    const s = applyHeaders(createRateLimitState({ rpm: null, tpm: null }), mixed, T0);
    expect(check(s, 0, T0).waitMs).toBe(3_000);
  });

  it('ignores malformed values and assumes a minute when reset is missing', () => {
    const s0 = createRateLimitState({ rpm: null, tpm: null });
    const s = applyHeaders(
      s0,
      { 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': 'soon', 'x-ratelimit-limit-tokens': 'many' },
      T0,
    );
    expect(s.serverResetRequestsAt).toBe(T0 + WINDOW_MS);
    expect(s.serverLimitTokens).toBeUndefined();
    expect(applyHeaders(s0, {}, T0)).toEqual(s0);
  });
});

describe('apply429', () => {
  const s0 = createRateLimitState({ rpm: 10, tpm: 100_000 });

  it('takes Retry-After in seconds', () => {
    const s = apply429(s0, '20', undefined, T0);
    expect(s.blockedUntil).toBe(T0 + 20_000);
    const c = check(s, 0, T0 + 5_000);
    expect(c).toMatchObject({ available: false, waitMs: 15_000 });
    expect(c.reason).toMatch(/429/);
    expect(check(s, 0, T0 + 20_000).available).toBe(true);
  });

  it('takes Retry-After as an HTTP-date', () => {
    const s = apply429(s0, 'Sun, 01 Nov 2026 12:00:45 GMT', undefined, T0);
    expect(s.blockedUntil).toBe(T0 + 45_000);
    // A date already past means "now".
    expect(apply429(s0, 'Sun, 01 Nov 2026 11:00:00 GMT', undefined, T0).blockedUntil).toBe(T0);
  });

  it('lets retry-after-ms win over Retry-After', () => {
    expect(apply429(s0, '20', '1500', T0).blockedUntil).toBe(T0 + 1_500);
    expect(apply429(s0, '20', '0.4', T0).blockedUntil).toBe(T0 + 1);
    // A malformed retry-after-ms falls back to Retry-After.
    expect(apply429(s0, '20', 'x', T0).blockedUntil).toBe(T0 + 20_000);
  });

  it('backs off by the default without a usable header', () => {
    expect(apply429(s0, undefined, undefined, T0).blockedUntil).toBe(T0 + 10_000);
    expect(apply429(s0, 'whenever', undefined, T0).blockedUntil).toBe(T0 + 10_000);
    expect(apply429(s0, undefined, undefined, T0, { defaultBackoffMs: 30_000 }).blockedUntil).toBe(T0 + 30_000);
  });

  it('caps the wait and never shortens a longer block', () => {
    expect(apply429(s0, '86400', undefined, T0).blockedUntil).toBe(T0 + 600_000);
    expect(apply429(s0, '86400', undefined, T0, { maxBackoffMs: 5_000 }).blockedUntil).toBe(T0 + 5_000);
    const long = apply429(s0, '60', undefined, T0);
    expect(apply429(long, '1', undefined, T0 + 1_000).blockedUntil).toBe(T0 + 60_000);
  });

  it('clears the block from the state once it has passed and a request is recorded', () => {
    const s = record(apply429(s0, '1', undefined, T0), 10, T0 + 2_000);
    expect(s.blockedUntil).toBe(0);
    expect(s.blockedReason).toBeUndefined();
  });
});

describe('state', () => {
  it('survives a JSON round trip unchanged, for sharing through a KV store', () => {
    let s = createRateLimitState({ rpm: 5, tpm: 1_000 });
    s = recordMany(s, 3, 100);
    s = applyHeaders(s, { 'x-ratelimit-remaining-tokens': '10', 'x-ratelimit-reset-tokens': '1s' }, T0 + 3_000);
    s = apply429(s, '7', undefined, T0 + 3_000);
    const back = JSON.parse(JSON.stringify(s)) as RateLimitState;
    expect(back).toEqual(s);
    expect(check(back, 100, T0 + 4_000)).toEqual(check(s, 100, T0 + 4_000));
  });

  it('reports the longest of several waits', () => {
    let s = createRateLimitState({ rpm: 1, tpm: null });
    s = record(s, 0, T0);
    s = apply429(s, '5', undefined, T0);
    // 429 says 5 s, the RPM window says 60 s: the RPM wait governs.
    expect(check(s, 0, T0 + 1_000)).toMatchObject({ waitMs: 59_000 });
  });
});

describe('expected tokens, settled to the provider\'s count', () => {
  it('counts what a request is expected to use, and replaces it by what the call used', () => {
    let s = createRateLimitState({ rpm: null, tpm: 500_000 });
    // Three calls expected at 120,000 each, a fourth does not fit …
    for (const id of ['a', 'b', 'c', 'd']) s = record(s, 120_000, T0, id);
    expect(check(s, 120_000, T0 + 1_000)).toMatchObject({ available: false, reason: 'tpm limit 500000: 480000 tokens in the last 60 s + 120000 requested' });
    // … until the ended calls are settled to what the provider counted.
    for (const id of ['a', 'b', 'c']) s = settle(s, id, 3_000)!;
    expect(check(s, 120_000, T0 + 1_000).available).toBe(true);
    expect(s.tokens.map((e) => [e.id, e.n])).toEqual([['a', 3_000], ['b', 3_000], ['c', 3_000], ['d', 120_000]]);
  });

  it('settles the latest entry of a request, and says when there is nothing to settle', () => {
    let s = createRateLimitState({ rpm: null, tpm: 500_000 });
    s = record(s, 10_000, T0, 't');
    s = record(s, 10_000, T0 + 5, 't'); // a second attempt on the same tier
    s = settle(s, 't', 2_500)!;
    expect(s.tokens.map((e) => e.n)).toEqual([10_000, 2_500]);
    expect(settle(s, 't', 2_500)).toBeNull(); // already settled: nothing to write
    expect(settle(s, 'unknown', 1)).toBeNull();
  });

  it('keeps requests with ids apart even at the same instant, and survives a JSON round trip', () => {
    let s = createRateLimitState({ rpm: 10, tpm: 100_000 });
    s = record(s, 100, T0, 'x');
    s = record(s, 200, T0, 'y');
    s = record(s, 300, T0);
    s = record(s, 400, T0);
    expect(s.tokens).toEqual([{ at: T0, n: 100, id: 'x' }, { at: T0, n: 200, id: 'y' }, { at: T0, n: 700 }]);
    expect(JSON.parse(JSON.stringify(s))).toEqual(s);
  });
});
