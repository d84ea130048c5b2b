/**
 * The feed of fallbacks and rate limits: which task events and provider signals are worth showing
 * as "this just happened".
 */
import type { RateLimitSignal, TaskEventMessage } from '../../src/bus/index.ts';
import type { Tier } from '../../src/core/types.ts';

/** A fallback or rate-limit moment, as it happened. */
export interface FeedItem {
  at: string;
  kind: 'fallback' | 'rate_limited' | 'waiting' | 'provider_429' | 'provider_limit_reached';
  taskId: string | null;
  tier: Tier | null;
  from?: Tier;
  to?: Tier;
  phase?: 'routing' | 'execution';
  reason: string;
}

/** The feed items one task event stands for. */
export function feedOf(e: TaskEventMessage): FeedItem[] {
  const base = { at: e.at, taskId: e.taskId, tier: e.tier };
  if (e.fallback) return [{ ...base, kind: 'fallback', from: e.fallback.from, to: e.fallback.to, phase: e.fallback.phase, reason: e.fallback.reason }];
  if (/^CheckRateLimit\d/.test(e.state) && e.reason.startsWith('rate limited')) return [{ ...base, kind: 'rate_limited', reason: e.reason }];
  if (/^QueueOrFallback\d/.test(e.state) && e.reason.startsWith('waiting')) return [{ ...base, kind: 'waiting', reason: e.reason }];
  return [];
}

/** A provider's rate-limit signal is news only when it says the limit was hit (a 429, or nothing left). */
export function feedOfSignal(signal: RateLimitSignal): FeedItem | null {
  if (signal.status === 429) return { at: signal.at, kind: 'provider_429', taskId: null, tier: signal.tier, reason: 'the provider answered 429 Too Many Requests' };
  const exhausted = Object.entries(signal.headers).find(([k, v]) => /^x-ratelimit-remaining-/i.test(k) && Number(v) === 0);
  return exhausted ? { at: signal.at, kind: 'provider_limit_reached', taskId: null, tier: signal.tier, reason: `${exhausted[0]}: 0` } : null;
}
