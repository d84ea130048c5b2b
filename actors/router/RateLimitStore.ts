import type { KV } from '@nats-io/kv';
import { tierOf } from '../../src/config/index.ts';
import type { KoubouConfig } from '../../src/config/index.ts';
import type { Tier } from '../../src/core/types.ts';
import {
  apply429, applyHeaders, check, createRateLimitState, record, settle, type RateLimitCheck, type RateLimitState,
} from '../../src/policy/index.ts';
import { isConflict } from './TaskStore.ts';

const enc = new TextEncoder();
const dec = new TextDecoder();
const MAX_CAS_TRIES = 20;

/**
 * Rate-limit windows shared by every router through the `koubou_ratelimits` KV
 * bucket: a check that finds room records the request in the same
 * compare-and-set, so two routers cannot both take the last slot. Within one router
 * the changes to a tier's window run one after another: a burst of tasks routed at once
 * would otherwise race each other's compare-and-set on the one key, and the losers fall
 * back for want of a rate-limit answer. Only changes by other routers can conflict.
 */
export class RateLimitStore {
  /** The tail of each tier's queue of changes made by this router. */
  private readonly queues = new Map<Tier, Promise<unknown>>();

  constructor(private readonly kv: KV, private readonly config: KoubouConfig) {}

  /** Takes a slot for a request of `tokens` if one is free now; otherwise says how long to wait. */
  async take(tier: Tier, tokens: number, now: number, requestId?: string): Promise<RateLimitCheck> {
    const t = tierOf(this.config, tier);
    if (t.rpm === null && t.tpm === null) return { available: true, waitMs: 0, reason: 'no limit' };
    return this.mutate(tier, (state) => {
      const answer = check(state, tokens, now);
      return { state: answer.available ? record(state, tokens, now, requestId) : null, answer };
    });
  }

  /**
   * A call of `requestId` on `tier` ended having used `actualTokens` (the provider's count):
   * the window holds that instead of the estimate taken at routing. Nothing is written
   * when the tier has no TPM or the request has left the window.
   */
  async settle(tier: Tier, requestId: string, actualTokens: number): Promise<void> {
    if (tierOf(this.config, tier).tpm === null) return;
    await this.mutate(tier, (state) => ({ state: settle(state, requestId, actualTokens), answer: undefined }));
  }

  /** A provider response's headers (or a 429) update the shared window. */
  async applySignal(tier: Tier, signal: { status: number; headers: Record<string, string> }, now: number): Promise<void> {
    await this.mutate(tier, (state) => {
      let next = applyHeaders(state, signal.headers, now);
      if (signal.status === 429) next = apply429(next, signal.headers['retry-after'], signal.headers['retry-after-ms'], now);
      return { state: next, answer: undefined };
    });
  }

  private mutate<T>(tier: Tier, fn: (s: RateLimitState) => { state: RateLimitState | null; answer: T }): Promise<T> {
    const run = (this.queues.get(tier) ?? Promise.resolve()).catch(() => {}).then(() => this.mutateNow(tier, fn));
    this.queues.set(tier, run);
    return run;
  }

  private async mutateNow<T>(tier: Tier, fn: (s: RateLimitState) => { state: RateLimitState | null; answer: T }): Promise<T> {
    for (let i = 0; i < MAX_CAS_TRIES; i++) {
      const entry = await this.kv.get(tier);
      const t = tierOf(this.config, tier);
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
        // Another router wrote first: step aside a little (jittered) before reading again.
        await new Promise((r) => setTimeout(r, Math.random() * 5 * (i + 1)));
      }
    }
    throw new Error(`rate-limit state of ${tier} is too contended (${MAX_CAS_TRIES} conflicting writes)`);
  }
}
