/**
 * What a call costs, from the usage a provider reports and a per-model price.
 *
 * Arithmetic is exact: a price in USD per 1M tokens, scaled by 1e6, is an integer
 * number of picodollars per token (prices are taken to six decimals, finer than any
 * list price), so a call's cost is an integer sum of tokens × picodollars, done in
 * BigInt so that even billions of tokens cannot overflow. Only the final conversion
 * to a USD `number` rounds, once. Summing per-token float products instead drifts
 * (1 token of gpt-5-mini cached input is $0.000000025, not representable in binary).
 */
import type { Usage } from '../core/types.ts';
import { KoubouError } from '../core/errors.ts';

/** List price of one model, in USD per 1M tokens. */
export interface ModelPrice {
  inputPerMTok: number;
  /** Input tokens served from the provider's prompt cache. */
  cachedInputPerMTok: number;
  /** Completion tokens, reasoning tokens included. */
  outputPerMTok: number;
}

/** Thrown by {@link priceFor} for a model the price table does not know. */
export class UnknownModelPriceError extends KoubouError {
  declare readonly code: 'UNKNOWN_MODEL_PRICE';
  constructor(readonly model: string) {
    super('UNKNOWN_MODEL_PRICE', `no price known for model ${JSON.stringify(model)}; add it to the pricing table`);
  }
}

/**
 * OpenAI list prices (standard tier, USD per 1M tokens) and the free local models,
 * under both spellings: Ollama's `gpt-oss:20b` and LM Studio's `gpt-oss-20b`.
 */
export const DEFAULT_PRICES: Readonly<Record<string, Readonly<ModelPrice>>> = Object.freeze({
  'gpt-5': Object.freeze({ inputPerMTok: 1.25, cachedInputPerMTok: 0.125, outputPerMTok: 10.0 }),
  'gpt-5-mini': Object.freeze({ inputPerMTok: 0.25, cachedInputPerMTok: 0.025, outputPerMTok: 2.0 }),
  'gpt-5-nano': Object.freeze({ inputPerMTok: 0.05, cachedInputPerMTok: 0.005, outputPerMTok: 0.4 }),
  'gpt-oss:20b': Object.freeze({ inputPerMTok: 0, cachedInputPerMTok: 0, outputPerMTok: 0 }),
  'gpt-oss-20b': Object.freeze({ inputPerMTok: 0, cachedInputPerMTok: 0, outputPerMTok: 0 }),
});

/** A dated snapshot name as the API echoes it back, e.g. `gpt-5-2025-08-07`. */
const SNAPSHOT_SUFFIX = /-\d{4}-\d{2}-\d{2}$/;

/**
 * The price of `model` in `table`. A dated snapshot (`gpt-5-2025-08-07`, the name
 * responses carry) falls back to its alias (`gpt-5`) when it has no entry of its own.
 *
 * @throws UnknownModelPriceError when neither name is in the table.
 * @example
 * priceFor('gpt-5-2025-08-07').outputPerMTok; // 10
 * priceFor('gpt-7'); // throws UnknownModelPriceError, code 'UNKNOWN_MODEL_PRICE'
 */
export function priceFor(
  model: string,
  table: Readonly<Record<string, Readonly<ModelPrice>>> = DEFAULT_PRICES,
): ModelPrice {
  // Object.hasOwn: a model called "constructor" must not find Object.prototype's.
  if (Object.hasOwn(table, model)) return table[model]!;
  const alias = model.replace(SNAPSHOT_SUFFIX, '');
  if (alias !== model && Object.hasOwn(table, alias)) return table[alias]!;
  throw new UnknownModelPriceError(model);
}

const PICO_PER_USD = 1e12;

function tokenCount(name: string, n: number): bigint {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${name} must be a non-negative integer, got ${n}`);
  return BigInt(n);
}

/** USD per 1M tokens → picodollars per token, an integer. */
function picoPerToken(name: string, usdPerMTok: number): bigint {
  if (!Number.isFinite(usdPerMTok) || usdPerMTok < 0) {
    throw new RangeError(`${name} must be a non-negative price, got ${usdPerMTok}`);
  }
  return BigInt(Math.round(usdPerMTok * 1e6));
}

/**
 * Exact cost of a call in picodollars (1e-12 USD), for ledgers that want to sum
 * without any rounding at all. See {@link costOf}.
 *
 * @example
 * costOfPicoUsd({ promptTokens: 1, cachedPromptTokens: 0, completionTokens: 0, reasoningTokens: 0 },
 *   DEFAULT_PRICES['gpt-5']!); // 1_250_000n
 */
export function costOfPicoUsd(usage: Usage, price: ModelPrice): bigint {
  const prompt = tokenCount('promptTokens', usage.promptTokens);
  const cached = tokenCount('cachedPromptTokens', usage.cachedPromptTokens);
  const completion = tokenCount('completionTokens', usage.completionTokens);
  if (cached > prompt) {
    throw new RangeError(
      `cachedPromptTokens (${usage.cachedPromptTokens}) exceeds promptTokens (${usage.promptTokens})`,
    );
  }
  // Reasoning tokens are already inside completionTokens and bill at the output
  // price, so they need no term of their own.
  return (
    (prompt - cached) * picoPerToken('inputPerMTok', price.inputPerMTok) +
    cached * picoPerToken('cachedInputPerMTok', price.cachedInputPerMTok) +
    completion * picoPerToken('outputPerMTok', price.outputPerMTok)
  );
}

/**
 * Cost of a call in USD: uncached input at the input price, cached input at the
 * cached price, completion (reasoning included) at the output price.
 *
 * @throws RangeError for negative or fractional token counts, cached > prompt, or a negative price.
 * @example
 * // 100k prompt (40k cached), 5k completion (3k of it reasoning) on gpt-5:
 * costOf({ promptTokens: 100_000, cachedPromptTokens: 40_000, completionTokens: 5_000, reasoningTokens: 3_000 },
 *   DEFAULT_PRICES['gpt-5']!); // 0.13 = 0.075 + 0.005 + 0.05
 */
export function costOf(usage: Usage, price: ModelPrice): number {
  return picoToUsd(costOfPicoUsd(usage, price));
}

/**
 * The most a call can cost before it is made: every prompt token uncached, and the
 * completion running to its cap. What a budget reservation should hold.
 *
 * @example
 * estimateWorstCase(10_000, 128_000, DEFAULT_PRICES['gpt-5']!); // 1.2925 = 0.0125 + 1.28
 */
export function estimateWorstCase(promptTokens: number, maxOutputTokens: number, price: ModelPrice): number {
  return costOf(
    { promptTokens, cachedPromptTokens: 0, completionTokens: maxOutputTokens, reasoningTokens: 0 },
    price,
  );
}

/**
 * Picodollars → USD with one rounding while the amount is below 2^53 picodollars
 * (~$9,007; every single call): an exact integer, then one correctly rounded division.
 */
function picoToUsd(pico: bigint): number {
  if (pico <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(pico) / PICO_PER_USD;
  const whole = pico / BigInt(PICO_PER_USD);
  return Number(whole) + Number(pico % BigInt(PICO_PER_USD)) / PICO_PER_USD;
}
