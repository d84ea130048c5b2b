import type { KV } from '@nats-io/kv';
import type { KoubouConfig } from '../../src/config/index.ts';
import type { Tier } from '../../src/core/types.ts';
import {
  apply429, applyHeaders, check, createRateLimitState, record, type RateLimitCheck, type RateLimitState,
} from '../../src/policy/rateLimit.ts';
import { isConflict } from './TaskStore.ts';

const enc = new TextEncoder();
const dec = new TextDecoder();
const MAX_CAS_TRIES = 20;

/**
 * Rate-limit windows shared by every router through the `koubou_ratelimits` KV
 * bucket: a check that finds room records the request in the same
 * compare-and-set, so two routers cannot both take the last slot.
 */
export class RateLimitStore {
  constructor(private readonly kv: KV, private readonly config: KoubouConfig) {}

  /** Takes a slot for a request of `tokens` if one is free now; otherwise says how long to wait. */
  async take(tier: Tier, tokens: number, now: number): Promise<RateLimitCheck> {
    const t = this.config.tiers[tier];
    if (t.rpm === null && t.tpm === null) return { available: true, waitMs: 0, reason: 'no limit' };
    return this.mutate(tier, (state) => {
      const answer = check(state, tokens, now);
      return { state: answer.available ? record(state, tokens, now) : null, answer };
    });
  }

  /** A provider response's headers (or a 429) update the shared window. */
  async applySignal(tier: Tier, signal: { status: number; headers: Record<string, string> }, now: number): Promise<void> {
    await this.mutate(tier, (state) => {
      let next = applyHeaders(state, signal.headers, now);
      if (signal.status === 429) next = apply429(next, signal.headers['retry-after'], signal.headers['retry-after-ms'], now);
      return { state: next, answer: undefined };
    });
  }

  private async mutate<T>(tier: Tier, fn: (s: RateLimitState) => { state: RateLimitState | null; answer: T }): Promise<T> {
    for (let i = 0; i < MAX_CAS_TRIES; i++) {
      const entry = await this.kv.get(tier);
      const t = this.config.tiers[tier];
      const current = entry && entry.operation === 'PUT' && entry.value.length > 0
        ? { ...(JSON.parse(dec.decode(entry.value)) as RateLimitState), rpm: t.rpm, tpm: t.tpm }
        : createRateLimitState({ rpm: t.rpm, tpm: t.tpm });
      const { state, answer } = fn(current);
      if (!state) return answer;
      try {
        const bytes = enc.encode(JSON.stringify(state));
        if (entry) await this.kv.update(tier, bytes, entry.revision);
        else await this.kv.create(tier, bytes);
        return answer;
      } catch (e) {
        if (!isConflict(e)) throw e;
      }
    }
    throw new Error(`rate-limit state of ${tier} is too contended (${MAX_CAS_TRIES} conflicting writes)`);
  }
}
