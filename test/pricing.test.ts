import { describe, it, expect } from 'vitest';
import type { Usage } from '../src/core/types.ts';
import { KoubouError } from '../src/core/errors.ts';
import {
  DEFAULT_PRICES,
  UnknownModelPriceError,
  costOf,
  costOfPicoUsd,
  estimateWorstCase,
  priceFor,
  type ModelPrice,
} from '../src/policy/pricing.ts';

const gpt5 = DEFAULT_PRICES['gpt-5']!;
const mini = DEFAULT_PRICES['gpt-5-mini']!;
const nano = DEFAULT_PRICES['gpt-5-nano']!;
const usage = (u: Partial<Usage>): Usage => ({
  promptTokens: 0,
  cachedPromptTokens: 0,
  completionTokens: 0,
  reasoningTokens: 0,
  ...u,
});

describe('DEFAULT_PRICES', () => {
  it('holds the OpenAI list prices per 1M tokens and free local models', () => {
    expect(gpt5).toEqual({ inputPerMTok: 1.25, cachedInputPerMTok: 0.125, outputPerMTok: 10 });
    expect(mini).toEqual({ inputPerMTok: 0.25, cachedInputPerMTok: 0.025, outputPerMTok: 2 });
    expect(nano).toEqual({ inputPerMTok: 0.05, cachedInputPerMTok: 0.005, outputPerMTok: 0.4 });
    expect(DEFAULT_PRICES['gpt-oss:20b']).toEqual({ inputPerMTok: 0, cachedInputPerMTok: 0, outputPerMTok: 0 });
    expect(DEFAULT_PRICES['gpt-oss-20b']).toEqual({ inputPerMTok: 0, cachedInputPerMTok: 0, outputPerMTok: 0 });
  });

  it('cannot be altered by accident', () => {
    expect(Object.isFrozen(DEFAULT_PRICES)).toBe(true);
    expect(Object.isFrozen(gpt5)).toBe(true);
  });
});

describe('costOf', () => {
  it('prices the worked gpt-5 example to the cent: $0.13', () => {
    // 60k uncached × $1.25 + 40k cached × $0.125 + 5k completion × $10, per 1M.
    const u = usage({ promptTokens: 100_000, cachedPromptTokens: 40_000, completionTokens: 5_000, reasoningTokens: 3_000 });
    expect(costOf(u, gpt5)).toBe(0.13);
  });

  it('bills reasoning as part of completion, never twice', () => {
    const base = usage({ promptTokens: 1_000, completionTokens: 2_000 });
    expect(costOf({ ...base, reasoningTokens: 1_500 }, gpt5)).toBe(costOf(base, gpt5));
    expect(costOf(base, gpt5)).toBe(0.02125); // 1000 × 1.25e-6 + 2000 × 10e-6
  });

  it('is exact where float products drift', () => {
    // Naively 3 * 0.025 / 1e6 = 7.500000000000001e-8.
    expect(costOf(usage({ promptTokens: 3, cachedPromptTokens: 3 }), mini)).toBe(7.5e-8);
    // Naively 0.4 * 3 / 1e6 = 0.0000012000000000000002.
    expect(costOf(usage({ completionTokens: 3 }), nano)).toBe(0.0000012);
    // gpt-5-mini: 1,234,567 uncached, 500,000 cached, 765,432 out.
    const u = usage({ promptTokens: 1_734_567, cachedPromptTokens: 500_000, completionTokens: 765_432 });
    expect(costOf(u, mini)).toBe(1.85200575); // 0.30864175 + 0.0125 + 1.530864
    expect(costOfPicoUsd(u, mini)).toBe(308_641_750_000n + 12_500_000_000n + 1_530_864_000_000n);
  });

  it('costs nothing on a local model', () => {
    expect(costOf(usage({ promptTokens: 1e6, completionTokens: 1e6 }), DEFAULT_PRICES['gpt-oss:20b']!)).toBe(0);
  });

  it('handles billions of tokens without overflow', () => {
    const u = usage({ promptTokens: 5_000_000_000, completionTokens: 2_000_000_000 });
    expect(costOf(u, gpt5)).toBe(6_250 + 20_000);
  });

  it('rejects impossible usage', () => {
    expect(() => costOf(usage({ promptTokens: 10, cachedPromptTokens: 11 }), gpt5)).toThrow(RangeError);
    expect(() => costOf(usage({ promptTokens: -1 }), gpt5)).toThrow(RangeError);
    expect(() => costOf(usage({ completionTokens: 1.5 }), gpt5)).toThrow(RangeError);
    const bad: ModelPrice = { inputPerMTok: -1, cachedInputPerMTok: 0, outputPerMTok: 0 };
    expect(() => costOf(usage({ promptTokens: 1 }), bad)).toThrow(RangeError);
  });
});

describe('estimateWorstCase', () => {
  it('charges every prompt token uncached and the full output cap', () => {
    expect(estimateWorstCase(10_000, 128_000, gpt5)).toBe(1.2925);
    expect(estimateWorstCase(100_000, 5_000, gpt5)).toBe(0.175);
  });

  it('is never below the cost of any usage within those bounds', () => {
    const actual = costOf(usage({ promptTokens: 100_000, cachedPromptTokens: 40_000, completionTokens: 5_000 }), gpt5);
    expect(estimateWorstCase(100_000, 5_000, gpt5)).toBeGreaterThan(actual);
  });
});

describe('priceFor', () => {
  it('finds a model by name and a dated snapshot by its alias', () => {
    expect(priceFor('gpt-5-mini')).toBe(mini);
    expect(priceFor('gpt-5-2025-08-07')).toBe(gpt5);
    expect(priceFor('gpt-5-nano-2025-08-07')).toBe(nano);
  });

  it('prefers an exact snapshot entry over its alias', () => {
    const snap = { inputPerMTok: 1, cachedInputPerMTok: 0.1, outputPerMTok: 8 };
    expect(priceFor('gpt-5-2025-08-07', { ...DEFAULT_PRICES, 'gpt-5-2025-08-07': snap })).toBe(snap);
  });

  it('throws a typed error naming an unknown model', () => {
    let caught: unknown;
    try {
      priceFor('gpt-7');
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(UnknownModelPriceError);
    expect(caught).toBeInstanceOf(KoubouError);
    const err = caught as UnknownModelPriceError;
    expect(err.code).toBe('UNKNOWN_MODEL_PRICE');
    expect(err.model).toBe('gpt-7');
    expect(err.message).toContain('"gpt-7"');
    expect(err.name).toBe('UnknownModelPriceError');
  });

  it('does not mistake Object.prototype members for models', () => {
    expect(() => priceFor('constructor')).toThrow(UnknownModelPriceError);
    expect(() => priceFor('toString', {})).toThrow(UnknownModelPriceError);
  });

  it('uses the table given', () => {
    const table = { 'my-model': { inputPerMTok: 2, cachedInputPerMTok: 1, outputPerMTok: 4 } };
    expect(priceFor('my-model', table).outputPerMTok).toBe(4);
    expect(() => priceFor('gpt-5', table)).toThrow(UnknownModelPriceError);
  });
});
