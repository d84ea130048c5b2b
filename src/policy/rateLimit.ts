/**
 * Per-tier rate limiting as plain data. The state is JSON (no Maps, no Infinity,
 * no class instances) so that routers can share it, e.g. through a NATS KV bucket,
 * and every function returns a new state instead of mutating its argument, which
 * is what an XState machine's context wants.
 *
 * Three sources of truth are combined, and a request must satisfy all of them:
 * - our own sliding 60 s windows for the configured RPM and TPM;
 * - the provider's `x-ratelimit-*` headers from the last response: `remaining`
 *   requests or tokens, valid until their `reset` instant (counted down locally by
 *   {@link record} until the next response refreshes them);
 * - a hard block until `blockedUntil`, set by a 429's Retry-After.
 *
 * Time is always a parameter (`now`, epoch ms): nothing here reads the clock.
 */

/** RPM and TPM are per minute: a request occupies the window for 60 s after it starts. */
export const WINDOW_MS = 60_000;

export interface RateLimitState {
  /** Requests per minute we allow ourselves; `null` = unlimited (the local tier). */
  rpm: number | null;
  /** Tokens per minute; `null` = unlimited. */
  tpm: number | null;
  /** Start times of recent requests, ascending; pruned to the window and to the last `rpm`. */
  requests: number[];
  /**
   * Tokens charged per request start, ascending by `at`; pruned to the window. `id` names
   * the request (its task) so that {@link settle} can put the provider's count in place
   * of the estimate; entries without one are merged per instant.
   */
  tokens: { at: number; n: number; id?: string }[];
  /** No request before this instant (epoch ms); 0 when not blocked. */
  blockedUntil: number;
  /** Why `blockedUntil` was set, for {@link check}'s reason. */
  blockedReason?: string;
  /** `x-ratelimit-limit-requests`, as last reported; informational. */
  serverLimitRequests?: number;
  /** `x-ratelimit-limit-tokens`, as last reported; informational. */
  serverLimitTokens?: number;
  serverRemainingRequests?: number;
  serverRemainingTokens?: number;
  /** When the server's request allowance is whole again (epoch ms). */
  serverResetRequestsAt?: number;
  /** When the server's token allowance is whole again (epoch ms). */
  serverResetTokensAt?: number;
}

export interface RateLimitOptions {
  /**
   * How long to back off after a 429 that carries no usable Retry-After.
   * @default 10_000
   */
  defaultBackoffMs?: number;
  /**
   * The longest one 429 may block a tier, whatever its Retry-After says, so that a
   * skewed clock or a far-future HTTP-date cannot park a tier for hours.
   * @default 600_000
   */
  maxBackoffMs?: number;
}

export interface RateLimitCheck {
  available: boolean;
  /** 0 when available; `Infinity` when the request can never fit (more tokens than the TPM). */
  waitMs: number;
  reason: string;
}

/** Anything headers can be read from: a plain object (any key case) or a fetch `Headers`. */
export type HeaderSource =
  | Readonly<Record<string, string | readonly string[] | undefined>>
  | { get(name: string): string | null | undefined };

/**
 * A fresh state with nothing recorded.
 *
 * @example
 * createRateLimitState({ rpm: 10, tpm: 500_000 });
 * // { rpm: 10, tpm: 500000, requests: [], tokens: [], blockedUntil: 0 }
 */
export function createRateLimitState(limits: { rpm: number | null; tpm: number | null }): RateLimitState {
  return { rpm: limits.rpm, tpm: limits.tpm, requests: [], tokens: [], blockedUntil: 0 };
}

function assertTime(now: number): void {
  if (!Number.isFinite(now)) throw new RangeError(`now must be epoch milliseconds, got ${now}`);
}
function assertTokens(tokens: number): void {
  if (!Number.isFinite(tokens) || tokens < 0) throw new RangeError(`tokens must be a non-negative number, got ${tokens}`);
}

const inWindow = (at: number, now: number): boolean => at > now - WINDOW_MS;

/**
 * Whether a request of `tokens` tokens may start at `now`, and if not, how long
 * until it may. `tokens` is what the request is expected to count against the TPM: the
 * prompt plus the output it is expected to produce (not its `max_output_tokens`, which
 * would count a worst case that almost never happens as spent; {@link settle} puts the
 * provider's real count in place of the estimate when the call ends).
 *
 * @example
 * let s = createRateLimitState({ rpm: 1, tpm: null });
 * s = record(s, 100, 0);
 * check(s, 100, 15_000); // { available: false, waitMs: 45_000, reason: 'rpm limit 1 reached: 1 requests in the last 60 s' }
 * check(s, 100, 60_000).available; // true
 */
export function check(state: RateLimitState, tokens: number, now: number): RateLimitCheck {
  assertTime(now);
  assertTokens(tokens);
  // All constraints must hold, and each only loosens as time passes, so the
  // longest wait among them is the wait for all of them.
  let worst: RateLimitCheck = { available: true, waitMs: 0, reason: 'available' };
  const block = (waitMs: number, reason: string): void => {
    if (waitMs > 0 && waitMs > worst.waitMs) worst = { available: false, waitMs, reason };
  };

  if (state.blockedUntil > now) {
    block(state.blockedUntil - now, state.blockedReason ?? 'blocked by the provider');
  }

  if (
    state.serverRemainingRequests !== undefined &&
    state.serverRemainingRequests < 1 &&
    state.serverResetRequestsAt !== undefined
  ) {
    block(state.serverResetRequestsAt - now, 'provider reports 0 requests remaining until its reset');
  }
  if (
    state.serverRemainingTokens !== undefined &&
    state.serverRemainingTokens < tokens &&
    state.serverResetTokensAt !== undefined
  ) {
    block(
      state.serverResetTokensAt - now,
      `provider reports ${state.serverRemainingTokens} tokens remaining, ${tokens} needed, until its reset`,
    );
  }

  if (state.rpm !== null) {
    const recent = state.requests.filter((at) => inWindow(at, now));
    if (recent.length >= state.rpm) {
      // The request that must leave the window for one slot to open.
      const leaving = recent[recent.length - state.rpm];
      const waitMs = leaving === undefined ? Infinity : leaving + WINDOW_MS - now;
      block(waitMs, `rpm limit ${state.rpm} reached: ${recent.length} requests in the last 60 s`);
    }
  }

  if (state.tpm !== null) {
    if (tokens > state.tpm) {
      block(Infinity, `request of ${tokens} tokens exceeds the tpm limit ${state.tpm}`);
    } else {
      const recent = state.tokens.filter((e) => inWindow(e.at, now));
      let used = recent.reduce((sum, e) => sum + e.n, 0);
      if (used + tokens > state.tpm) {
        const before = used;
        let waitMs = 0;
        for (const e of recent) {
          used -= e.n;
          if (used + tokens <= state.tpm) {
            waitMs = e.at + WINDOW_MS - now;
            break;
          }
        }
        block(waitMs, `tpm limit ${state.tpm}: ${before} tokens in the last 60 s + ${tokens} requested`);
      }
    }
  }
  return worst;
}

/**
 * The state after a request of `tokens` tokens started at `now`. Call it when the
 * request is sent (not when it returns), so concurrent callers see it at once.
 *
 * @example
 * const s = record(createRateLimitState({ rpm: 10, tpm: 1_000 }), 200, 5_000);
 * // s.requests = [5000], s.tokens = [{ at: 5000, n: 200 }]
 */
export function record(state: RateLimitState, tokens: number, now: number, id?: string): RateLimitState {
  assertTime(now);
  assertTokens(tokens);
  const next: RateLimitState = { ...state };

  // Unlimited dimensions keep nothing: there is nothing to wait for.
  if (state.rpm === null) {
    next.requests = [];
  } else {
    const requests = state.requests.filter((at) => inWindow(at, now));
    insertSorted(requests, now, (at) => at);
    // Only the last `rpm` starts can ever decide a wait.
    next.requests = requests.slice(-Math.max(1, state.rpm));
  }

  if (state.tpm === null) {
    next.tokens = [];
  } else {
    const entries = state.tokens.filter((e) => inWindow(e.at, now));
    const last = entries[entries.length - 1];
    if (tokens === 0 && id === undefined) {
      // nothing to charge
    } else if (id === undefined && last !== undefined && last.at === now && last.id === undefined) {
      entries[entries.length - 1] = { at: now, n: last.n + tokens };
    } else {
      insertSorted(entries, id === undefined ? { at: now, n: tokens } : { at: now, n: tokens, id }, (e) => e.at);
    }
    next.tokens = entries;
  }

  // Count down the provider's figures until the next response brings fresh ones.
  if (next.serverRemainingRequests !== undefined && (next.serverResetRequestsAt ?? 0) > now) {
    next.serverRemainingRequests = Math.max(0, next.serverRemainingRequests - 1);
  }
  if (next.serverRemainingTokens !== undefined && (next.serverResetTokensAt ?? 0) > now) {
    next.serverRemainingTokens = Math.max(0, next.serverRemainingTokens - tokens);
  }

  if (next.blockedUntil !== 0 && next.blockedUntil <= now) {
    next.blockedUntil = 0;
    delete next.blockedReason;
  }
  return next;
}

/**
 * The state after a request's call ended: its window entry (the latest recorded under
 * `id`) holds `actualTokens`, the provider's count, instead of the estimate. `null` when
 * the window holds no such entry (it has left the window, or the tier has no TPM), so
 * that a caller sharing the state has nothing to write.
 *
 * @example
 * let s = record(createRateLimitState({ rpm: null, tpm: 500_000 }), 12_500, 0, 't-1');
 * s = settle(s, 't-1', 3_200)!;
 * s.tokens; // [{ at: 0, n: 3200, id: 't-1' }]
 */
export function settle(state: RateLimitState, id: string, actualTokens: number): RateLimitState | null {
  assertTokens(actualTokens);
  for (let i = state.tokens.length - 1; i >= 0; i--) {
    const entry = state.tokens[i]!;
    if (entry.id !== id) continue;
    if (entry.n === actualTokens) return null;
    const tokens = state.tokens.slice();
    tokens[i] = { ...entry, n: actualTokens };
    return { ...state, tokens };
  }
  return null;
}

function insertSorted<T>(list: T[], item: T, key: (t: T) => number): void {
  // Callers' clocks move forward, so this is almost always a push.
  let i = list.length;
  while (i > 0 && key(list[i - 1]!) > key(item)) i--;
  list.splice(i, 0, item);
}

/**
 * Parses a duration as OpenAI's rate-limit headers write it (Go's format):
 * `20ms`, `1s`, `0.5s`, `6m0s`, `1h2m3.5s`; also `µs`/`us`/`ns`, and a bare number
 * as seconds. Returns milliseconds, possibly fractional.
 *
 * @throws RangeError for anything else (empty, negative, unknown unit).
 * @example
 * parseDuration('6m0s');     // 360000
 * parseDuration('1h2m3.5s'); // 3723500
 * parseDuration('20ms');     // 20
 */
export function parseDuration(str: string): number {
  const text = str.trim();
  if (/^\d+(?:\.\d+)?$/.test(text)) return Number(text) * 1000;
  const part = /(\d+(?:\.\d*)?|\.\d+)(ms|us|µs|μs|ns|h|m|s)/y;
  let ms = 0;
  let pos = 0;
  while (pos < text.length) {
    part.lastIndex = pos;
    const m = part.exec(text);
    if (m === null) throw new RangeError(`not a duration: ${JSON.stringify(str)}`);
    ms += Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
    pos = part.lastIndex;
  }
  if (pos === 0) throw new RangeError(`not a duration: ${JSON.stringify(str)}`);
  return ms;
}

const UNIT_MS = { h: 3_600_000, m: 60_000, s: 1_000, ms: 1, us: 1e-3, µs: 1e-3, μs: 1e-3, ns: 1e-6 } as const;

function headerReader(headers: HeaderSource): (name: string) => string | undefined {
  if (typeof headers.get === 'function') {
    const h = headers as { get(name: string): string | null | undefined };
    return (name) => h.get(name) ?? undefined;
  }
  // Plain objects may spell keys in any case (Node lowercases, hand-written ones may not).
  const lower = new Map<string, string>();
  for (const [key, value] of Object.entries(headers as Record<string, string | readonly string[] | undefined>)) {
    const v = Array.isArray(value) ? value[0] : value;
    if (typeof v === 'string') lower.set(key.toLowerCase(), v);
  }
  return (name) => lower.get(name);
}

function parseCount(value: string | undefined): number | undefined {
  if (value === undefined || !/^\s*\d+\s*$/.test(value)) return undefined;
  return Number(value);
}

function parseResetAt(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  try {
    return now + Math.ceil(parseDuration(value));
  } catch {
    return undefined;
  }
}

/**
 * The state after reading a response's `x-ratelimit-*` headers. `remaining` 0
 * requests (or fewer tokens than a request needs) blocks until the matching
 * `reset`. Headers that are absent or malformed leave their fields as they were; a
 * `remaining` without a usable `reset` is assumed to reset within the minute.
 *
 * @example
 * const s = applyHeaders(createRateLimitState({ rpm: 10, tpm: null }), {
 *   'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '6m0s' }, 1_000);
 * check(s, 0, 1_000).waitMs; // 360000
 */
export function applyHeaders(state: RateLimitState, headers: HeaderSource, now: number): RateLimitState {
  assertTime(now);
  const get = headerReader(headers);
  const next: RateLimitState = { ...state };
  for (const kind of ['requests', 'tokens'] as const) {
    const limit = parseCount(get(`x-ratelimit-limit-${kind}`));
    const remaining = parseCount(get(`x-ratelimit-remaining-${kind}`));
    let resetAt = parseResetAt(get(`x-ratelimit-reset-${kind}`), now);
    if (remaining !== undefined && resetAt === undefined) resetAt = now + WINDOW_MS;
    if (kind === 'requests') {
      if (limit !== undefined) next.serverLimitRequests = limit;
      if (remaining !== undefined) next.serverRemainingRequests = remaining;
      if (resetAt !== undefined) next.serverResetRequestsAt = resetAt;
    } else {
      if (limit !== undefined) next.serverLimitTokens = limit;
      if (remaining !== undefined) next.serverRemainingTokens = remaining;
      if (resetAt !== undefined) next.serverResetTokensAt = resetAt;
    }
  }
  return next;
}

/** Retry-After: delay-seconds or an HTTP-date. */
function retryAfterToMs(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+(?:\.\d+)?$/.test(text)) return Math.ceil(Number(text) * 1000);
  if (!/[a-z]/i.test(text)) return undefined; // a date has a weekday or month name
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function retryAfterMsToMs(value: string | undefined): number | undefined {
  if (value === undefined || !/^\s*\d+(?:\.\d+)?\s*$/.test(value)) return undefined;
  return Math.ceil(Number(value));
}

/**
 * The state after a 429: blocked until the provider says to retry. OpenAI's
 * `retry-after-ms` wins when present (it is the precise one); then `retry-after`,
 * as seconds or an HTTP-date; with neither usable, `options.defaultBackoffMs`.
 * The wait is capped at `options.maxBackoffMs`, and an existing longer block stays.
 *
 * @example
 * apply429(s, '20', undefined, 1_000).blockedUntil;                          // 21000
 * apply429(s, '20', '1500', 1_000).blockedUntil;                             // 2500
 * apply429(s, 'Wed, 21 Oct 2026 07:28:00 GMT', undefined, Date.UTC(2026, 9, 21, 7, 27, 30)).blockedUntil;
 * // Date.UTC(2026, 9, 21, 7, 28)
 * apply429(s, undefined, undefined, 1_000).blockedUntil;                     // 11000
 */
export function apply429(
  state: RateLimitState,
  retryAfter: string | undefined,
  retryAfterMs: string | undefined,
  now: number,
  options: RateLimitOptions = {},
): RateLimitState {
  assertTime(now);
  const defaultBackoffMs = options.defaultBackoffMs ?? 10_000;
  const maxBackoffMs = options.maxBackoffMs ?? 600_000;

  let waitMs = retryAfterMsToMs(retryAfterMs);
  let source = `retry-after-ms ${retryAfterMs}`;
  if (waitMs === undefined) {
    waitMs = retryAfterToMs(retryAfter, now);
    source = `retry-after ${retryAfter}`;
  }
  if (waitMs === undefined) {
    waitMs = defaultBackoffMs;
    source = 'no retry-after: default backoff';
  }
  waitMs = Math.min(waitMs, maxBackoffMs);

  const until = now + waitMs;
  if (until <= state.blockedUntil) return { ...state };
  return {
    ...state,
    blockedUntil: until,
    blockedReason: `429 from the provider (${source}): wait ${waitMs} ms`,
  };
}
