import type { WorkItem } from '../../src/bus/index.ts';
import type { TierConfig } from '../../src/config/index.ts';
import { sentPromptTokens } from '../../src/context/index.ts';
import { KoubouError } from '../../src/core/errors.ts';
import type { GenerateRequest } from '../../src/llm/Provider.ts';
import { BUDGET_EPSILON_USD, estimateWorstCase, priceFor, type ModelPrice } from '../../src/policy/index.ts';

/**
 * A cloud worker's own check that every paid call it makes is covered by the attempt's budget
 * reservation: none without one, and none whose worst case (its prompt as sent, every token
 * uncached, the output at its cap) would take the attempt's calls past what was reserved. The
 * router reserves by the same count (`reservationFor`), so a call it planned always fits; a call
 * it did not plan (another executor, another config) is refused before it is made, not charged
 * after. Local tiers are free: nothing to check.
 *
 * @example
 * const guard = new PaidCallGuard(item, tierConfig, prices);
 * const maxOutputTokens = guard.admit(request); // throws UNRESERVED_CALL or RESERVATION_EXCEEDED
 * // ... the call ...
 * guard.spent(costUsd);
 */
export class PaidCallGuard {
  #spentUsd = 0;
  readonly #price: ModelPrice | null;

  constructor(private readonly item: WorkItem, private readonly tier: TierConfig, prices: Record<string, ModelPrice>) {
    this.#price = tier.cloud ? priceFor(tier.model, prices) : null;
  }

  /** The output cap to send: the request's, never above the tier's (the one reserved for). */
  admit(request: Pick<GenerateRequest, 'messages' | 'tools' | 'maxOutputTokens'>): number {
    const maxOutputTokens = Math.min(request.maxOutputTokens, this.tier.max_output_tokens);
    if (!this.#price) return maxOutputTokens;
    const { taskId, attempt, reservationId, reservedUsd } = this.item;
    if (reservationId === null) {
      throw new KoubouError('UNRESERVED_CALL', `task ${taskId} attempt ${attempt}: no budget reservation for a paid call on ${this.item.tier}`);
    }
    // An older router names the reservation without its amount: the ledger's watch still compares.
    if (reservedUsd === undefined) return maxOutputTokens;
    const worstUsd = estimateWorstCase(sentPromptTokens(request.messages, request.tools), maxOutputTokens, this.#price);
    if (this.#spentUsd + worstUsd > reservedUsd + BUDGET_EPSILON_USD) {
      throw new KoubouError('RESERVATION_EXCEEDED', `task ${taskId} attempt ${attempt}: a call of worst case $${worstUsd.toFixed(6)} after $${this.#spentUsd.toFixed(6)} spent would pass the $${reservedUsd.toFixed(6)} reserved (${reservationId})`);
    }
    return maxOutputTokens;
  }

  /** Counts a call's cost against the reservation. */
  spent(costUsd: number): void {
    this.#spentUsd += costUsd;
  }
}
