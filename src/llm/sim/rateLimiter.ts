/**
 * OpenAI-style rate limiting for the simulator: one token bucket for requests
 * and one for tokens, each refilling its whole capacity over a minute. That is
 * what OpenAI's headers describe: `remaining` is the bucket's level and `reset`
 * the time until it is full again (so one request of 5000 RPM resets in `12ms`).
 */

const MINUTE_MS = 60_000;

interface Bucket {
  capacity: number;
  level: number;
  at: number;
}

export type TakeResult =
  | { ok: true; headers: Record<string, string> }
  | {
      ok: false;
      headers: Record<string, string>;
      /** Which limit was hit, as OpenAI's error `type` names it. */
      kind: 'requests' | 'tokens';
      limit: number;
      requested: number;
      retryAfterMs: number;
    };

/**
 * Formats milliseconds the way Go prints a `time.Duration`, which is how
 * OpenAI writes `x-ratelimit-reset-*`.
 *
 * @example
 * formatGoDuration(12);      // '12ms'
 * formatGoDuration(1_500);   // '1.5s'
 * formatGoDuration(360_000); // '6m0s'
 * formatGoDuration(0);       // '0s'
 */
export function formatGoDuration(ms: number): string {
  if (!(ms > 0)) return '0s';
  if (ms < 1_000) return `${Math.max(1, Math.round(ms))}ms`;
  const totalMs = Math.round(ms);
  const h = Math.floor(totalMs / 3_600_000);
  const m = Math.floor((totalMs % 3_600_000) / 60_000);
  const s = (totalMs % 60_000) / 1_000;
  const sec = `${Number(s.toFixed(3))}s`;
  if (h > 0) return `${h}h${m}m${sec}`;
  if (m > 0) return `${m}m${sec}`;
  return sec;
}

/**
 * @example
 * const rl = new SimRateLimiter({ rpm: 2, tpm: null }, 0);
 * rl.take(100, 0).ok; rl.take(100, 0).ok;   // true, true
 * rl.take(100, 0);                          // { ok: false, kind: 'requests', retryAfterMs: 30000, … }
 * rl.headers(0)['x-ratelimit-reset-requests']; // '1m0s'
 */
export class SimRateLimiter {
  private readonly requests: Bucket | null;
  private readonly tokens: Bucket | null;

  constructor(limits: { rpm: number | null; tpm: number | null }, now = Date.now()) {
    this.requests = limits.rpm ? { capacity: limits.rpm, level: limits.rpm, at: now } : null;
    this.tokens = limits.tpm ? { capacity: limits.tpm, level: limits.tpm, at: now } : null;
  }

  get enabled(): boolean {
    return this.requests !== null || this.tokens !== null;
  }

  /**
   * Charges one request of `tokens` (prompt + maximum output, as OpenAI
   * estimates it) if both buckets allow it; else says how long to wait.
   */
  take(tokens: number, now = Date.now()): TakeResult {
    refill(this.requests, now);
    refill(this.tokens, now);
    if (this.requests && this.requests.level < 1) {
      return { ok: false, headers: this.headers(now), kind: 'requests', limit: this.requests.capacity, requested: 1, retryAfterMs: waitFor(this.requests, 1) };
    }
    if (this.tokens && this.tokens.level < tokens) {
      return { ok: false, headers: this.headers(now), kind: 'tokens', limit: this.tokens.capacity, requested: tokens, retryAfterMs: waitFor(this.tokens, tokens) };
    }
    if (this.requests) this.requests.level -= 1;
    if (this.tokens) this.tokens.level -= tokens;
    return { ok: true, headers: this.headers(now) };
  }

  /** Each bucket as it is at `now`: its capacity, what is left, and how long until it is full again (other protocols' headers are made from these). */
  levels(now = Date.now()): { kind: 'requests' | 'tokens'; limit: number; remaining: number; fullInMs: number }[] {
    const out: { kind: 'requests' | 'tokens'; limit: number; remaining: number; fullInMs: number }[] = [];
    for (const [kind, bucket] of [['requests', this.requests], ['tokens', this.tokens]] as const) {
      if (!bucket) continue;
      refill(bucket, now);
      out.push({ kind, limit: bucket.capacity, remaining: Math.max(0, Math.floor(bucket.level)), fullInMs: Math.ceil(((bucket.capacity - bucket.level) * MINUTE_MS) / bucket.capacity) });
    }
    return out;
  }

  /** The `x-ratelimit-*` headers of the buckets as they are at `now`. */
  headers(now = Date.now()): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [kind, bucket] of [['requests', this.requests], ['tokens', this.tokens]] as const) {
      if (!bucket) continue;
      refill(bucket, now);
      out[`x-ratelimit-limit-${kind}`] = String(bucket.capacity);
      out[`x-ratelimit-remaining-${kind}`] = String(Math.max(0, Math.floor(bucket.level)));
      out[`x-ratelimit-reset-${kind}`] = formatGoDuration(((bucket.capacity - bucket.level) * MINUTE_MS) / bucket.capacity);
    }
    return out;
  }
}

function refill(bucket: Bucket | null, now: number): void {
  if (!bucket) return;
  const elapsed = Math.max(0, now - bucket.at);
  bucket.level = Math.min(bucket.capacity, bucket.level + (elapsed * bucket.capacity) / MINUTE_MS);
  bucket.at = now;
}

/** Milliseconds until the bucket holds `amount` (until it is full, when `amount` exceeds its capacity). */
function waitFor(bucket: Bucket, amount: number): number {
  const target = Math.min(amount, bucket.capacity);
  return Math.max(1, Math.ceil(((target - bucket.level) * MINUTE_MS) / bucket.capacity));
}
