/**
 * Anthropic's rate-limit headers as koubou's rate-limit signal. koubou's signal is the
 * `x-ratelimit-{limit,remaining,reset}-{requests,tokens}` set (with `retry-after`) that the
 * shared limiter reads (src/policy/rateLimit.ts); each backend kind hands its provider's headers
 * over in that form. Anthropic's resets are RFC 3339 times; koubou's are durations.
 */

/**
 * @example
 * anthropicRateLimitSignal(new Headers({ 'anthropic-ratelimit-requests-remaining': '0',
 *   'anthropic-ratelimit-requests-reset': '2026-12-07T15:00:30Z' }), Date.parse('2026-12-07T15:00:00Z'));
 * // { 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '30000ms' }
 */
export function anthropicRateLimitSignal(headers: Headers | undefined, now = Date.now(), withRetryAfter = false): Record<string, string> {
  const out: Record<string, string> = {};
  if (!headers) return out;
  const get = (name: string) => headers.get(name) ?? undefined;
  // `tokens` is the tightest of Anthropic's token limits; older accounts report input tokens only.
  for (const [kind, from] of [['requests', ['requests']], ['tokens', ['tokens', 'input-tokens']]] as const) {
    const source = from.find((f) => get(`anthropic-ratelimit-${f}-remaining`) !== undefined);
    if (!source) continue;
    const limit = get(`anthropic-ratelimit-${source}-limit`);
    if (limit !== undefined) out[`x-ratelimit-limit-${kind}`] = limit;
    out[`x-ratelimit-remaining-${kind}`] = get(`anthropic-ratelimit-${source}-remaining`)!;
    const reset = Date.parse(get(`anthropic-ratelimit-${source}-reset`) ?? '');
    if (!Number.isNaN(reset)) out[`x-ratelimit-reset-${kind}`] = `${Math.max(0, reset - now)}ms`;
  }
  const after = get('retry-after');
  if (withRetryAfter && after !== undefined) out['retry-after'] = after;
  return out;
}
