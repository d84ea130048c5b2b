/**
 * rate_limit_signals: the newest rate-limit signal the providers gave for each tier.
 */
import type { Tier } from '../core/types.ts';
import { statementCache, type LedgerDb } from './sql.ts';

export interface RateLimitSignalRecord {
  tier: Tier;
  /** HTTP status of the response that carried it (429 for a refusal). */
  status: number;
  /** `x-ratelimit-*`, `retry-after`, `retry-after-ms`, lowercased. */
  headers: Record<string, string>;
  /** When the response came, epoch ms. */
  observedAtMs: number;
}

const stmts = statementCache((db) => ({
  upsert: db.prepare(`INSERT INTO rate_limit_signals (tier, status, headers, observed_at_ms) VALUES (@tier, @status, @headers, @observedAtMs)
    ON CONFLICT(tier) DO UPDATE SET status = excluded.status, headers = excluded.headers, observed_at_ms = excluded.observed_at_ms,
      received_at = CURRENT_TIMESTAMP
    WHERE excluded.observed_at_ms > rate_limit_signals.observed_at_ms`),
  all: db.prepare<[], { tier: Tier; status: number; headers: string; observed_at_ms: number }>('SELECT tier, status, headers, observed_at_ms FROM rate_limit_signals ORDER BY tier'),
}));

/**
 * Keeps a tier's signal if it is newer than the one stored (signals may arrive out of order; one
 * observed at the same millisecond is taken for a redelivery of the stored one).
 * @returns whether it was stored.
 * @example
 * recordRateLimitSignal(db, { tier: 'gpt5_high', status: 429, headers: { 'retry-after': '20' }, observedAtMs: Date.now() });
 */
export function recordRateLimitSignal(db: LedgerDb, s: RateLimitSignalRecord): boolean {
  return stmts(db).upsert.run({ ...s, headers: JSON.stringify(s.headers) }).changes > 0;
}

/** The newest signal of every tier that has one. @example latestRateLimitSignals(db).find((s) => s.tier === 'gpt5_high') */
export function latestRateLimitSignals(db: LedgerDb): RateLimitSignalRecord[] {
  return stmts(db).all.all().map((r) => ({ tier: r.tier, status: r.status, headers: JSON.parse(r.headers) as Record<string, string>, observedAtMs: r.observed_at_ms }));
}
