import { describe, it, expect } from 'vitest';
import type { TaskType } from '../src/core/types.ts';
import { DEFAULT_INDICATORS, evaluateDifficulty, indicatorRegExp } from '../src/policy/difficulty.ts';
import { countTaskTokens } from '../src/policy/tokens.ts';

const level = (prompt: string, type: TaskType = 'general') => evaluateDifficulty({ type, prompt }).level;

describe('evaluateDifficulty: required outcomes', () => {
  it.each([
    ['Design a distributed architecture for our event pipeline', 'high'],
    ['Refactor this module to use dependency injection', 'medium'],
    ['Fix a typo in the README', 'low'],
    ['implement a REST API endpoint for users', 'medium'],
    ['write a concurrent lock-free queue algorithm', 'high'],
    ['fix the race condition in the distributed lock', 'high'],
  ] as const)('general %j → %s', (prompt, expected) => {
    expect(level(prompt)).toBe(expected);
  });

  it('an architecture task is high on its type alone', () => {
    expect(level('Look at the attached service and tell me what you think', 'architecture')).toBe('high');
  });

  it('documentation "add comments to this function" is low', () => {
    expect(level('add comments to this function', 'documentation')).toBe('low');
  });

  it('a neutral general prompt is medium, the seed default', () => {
    const r = evaluateDifficulty({ type: 'general', prompt: 'Please help with this' });
    expect(r.level).toBe('medium');
    expect(r.reasons).toEqual(['type general: +1']);
  });
});

describe('evaluateDifficulty: scoring', () => {
  it('gives readable reasons in counting order, with whole words for stems', () => {
    const r = evaluateDifficulty({ type: 'general', prompt: 'Design a distributed architecture for our event pipeline' });
    expect(r.score).toBe(7);
    expect(r.reasons).toEqual([
      'type general: +1',
      'indicator "architecture" (high): +2',
      'indicator "distributed" (high): +2',
      // "design a/the/our …": asking for a design is design work (a rule the labeled set of asks called for).
      'indicator "design a" (high): +2',
    ]);
  });

  it('counts each indicator once however often it appears', () => {
    const once = evaluateDifficulty({ type: 'general', prompt: 'a distributed system' });
    const thrice = evaluateDifficulty({ type: 'general', prompt: 'distributed, distributed, DISTRIBUTED' });
    expect(thrice.score).toBe(once.score);
    expect(thrice.reasons.filter((r) => r.includes('distributed'))).toHaveLength(1);
  });

  it('matches case-insensitively, with stems, and only at word starts', () => {
    expect(level('OPTIMISE the hot loop and parallelize it')).toBe('high');
    expect(level('Optimization of a parallel scan')).toBe('high');
    // "capital" contains "api", "prefix" contains "fix", "fixture" starts with it: none count.
    const r = evaluateDifficulty({ type: 'general', prompt: 'capital prefix fixture' });
    expect(r.reasons).toEqual(['type general: +1']);
  });

  it('caps medium indicators: more of them does not make a task high', () => {
    const r = evaluateDifficulty({
      type: 'general',
      prompt: 'implement the API integration, refactor the database layer and migrate it',
    });
    expect(r.level).toBe('medium');
    expect(r.score).toBe(2);
    // Counted in list order: refactor first, then the rest at +0.
    expect(r.reasons[1]).toBe('indicator "refactor" (medium): +1');
    expect(r.reasons[2]).toBe('indicator "implement" (medium): +0 (medium indicators capped at +1)');
    expect(r.reasons).toHaveLength(7); // type + six medium indicators
  });

  it('ignores low indicators when a high one is present, and says so', () => {
    const r = evaluateDifficulty({ type: 'general', prompt: 'fix the race condition' });
    expect(r.level).toBe('high');
    expect(r.score).toBe(3);
    expect(r.reasons).toContain('indicator "fix" (low): +0 (ignored: high indicators present)');
  });

  it('lets low indicators pull a medium-worded task down without a high one', () => {
    expect(evaluateDifficulty({ type: 'general', prompt: 'update the API docs' }).score).toBe(1);
    expect(level('rename and format the database helpers')).toBe('low');
  });

  it('applies the type weight first', () => {
    expect(evaluateDifficulty({ type: 'algorithm', prompt: 'hello' }).reasons[0]).toBe('type algorithm: +3');
    expect(evaluateDifficulty({ type: 'documentation', prompt: 'hello' }).level).toBe('low');
  });
});

describe('evaluateDifficulty: size', () => {
  it('adds cumulative size bands from a given token count', () => {
    const at = (tokens: number) => evaluateDifficulty({ type: 'general', prompt: 'Fix a typo', tokens });
    expect(at(8_000).score).toBe(-1);
    const mid = at(12_345);
    expect(mid.score).toBe(0);
    expect(mid.reasons.at(-1)).toBe('size 12,345 tokens: +1');
    const big = at(40_000);
    expect(big.score).toBe(1);
    expect(big.level).toBe('medium');
    expect(big.reasons.at(-1)).toBe('size 40,000 tokens: +2');
  });

  it('counts prompt and files when no token count is given', () => {
    const files = [{ path: 'big.txt', content: 'lorem ipsum dolor sit amet '.repeat(2_000) }];
    const r = evaluateDifficulty({ type: 'general', prompt: 'summarise this', files });
    expect(r.tokens).toBe(countTaskTokens('summarise this', files));
    expect(r.tokens).toBeGreaterThan(8_000);
    expect(r.reasons.at(-1)).toMatch(/^size [\d,]+ tokens: \+1$/);
  });

  it('trusts a caller-provided token count', () => {
    expect(evaluateDifficulty({ type: 'general', prompt: 'x', tokens: 123 }).tokens).toBe(123);
  });
});

describe('evaluateDifficulty: options', () => {
  it('takes thresholds', () => {
    const r = evaluateDifficulty(
      { type: 'general', prompt: 'Refactor this module' },
      { thresholds: { high: 2, medium: 0 } },
    );
    expect(r.level).toBe('high');
  });

  it('replaces only the indicator levels given', () => {
    const opts = { indicators: { high: ['quantum'] } };
    expect(evaluateDifficulty({ type: 'general', prompt: 'a quantum thing' }, opts).level).toBe('high');
    expect(evaluateDifficulty({ type: 'general', prompt: 'a distributed thing' }, opts).level).toBe('medium');
    expect(evaluateDifficulty({ type: 'general', prompt: 'fix a typo' }, opts).level).toBe('low');
  });

  it('takes type weights, points and size bands', () => {
    expect(evaluateDifficulty({ type: 'testing', prompt: 'x' }, { typeWeights: { testing: 5 } }).level).toBe('high');
    expect(
      evaluateDifficulty({ type: 'general', prompt: 'distributed' }, { indicatorPoints: { high: 1 } }).level,
    ).toBe('medium');
    expect(
      evaluateDifficulty({ type: 'general', prompt: 'x', tokens: 500 }, { sizeBands: [{ overTokens: 100, points: 2 }] })
        .level,
    ).toBe('high');
  });

  it('still meets the required outcomes with the plain word lists of config/koubou.yaml', () => {
    const seed = {
      indicators: {
        high: ['architecture', 'design pattern', 'distributed', 'optimization', 'algorithm', 'concurrent', 'parallel'],
        medium: ['refactor', 'implement', 'api', 'database', 'integration'],
        low: ['fix', 'update', 'add comment', 'rename', 'format'],
      },
      thresholds: { high: 3, medium: 1 },
    };
    const lvl = (prompt: string, type: TaskType = 'general') => evaluateDifficulty({ type, prompt }, seed).level;
    expect(lvl('Design a distributed architecture for our event pipeline')).toBe('high');
    expect(lvl('Refactor this module to use dependency injection')).toBe('medium');
    expect(lvl('Fix a typo in the README')).toBe('low');
    expect(lvl('implement a REST API endpoint for users')).toBe('medium');
    expect(lvl('write a concurrent lock-free queue algorithm')).toBe('high');
    expect(lvl('fix the race condition in the distributed lock')).toBe('high');
    expect(lvl('add comments to this function', 'documentation')).toBe('low');
  });

  it('rejects an invalid indicator pattern, naming it', () => {
    expect(() => evaluateDifficulty({ type: 'general', prompt: 'x' }, { indicators: { high: ['c++'] } })).toThrow(
      /"c\+\+"/,
    );
  });

  it('rejects a task type it does not know, even one named like an Object member', () => {
    for (const type of ['poetry', 'constructor']) {
      expect(() => evaluateDifficulty({ type: type as TaskType, prompt: 'x' })).toThrow(RangeError);
    }
  });

  it('rejects thresholds with high below medium', () => {
    expect(() =>
      evaluateDifficulty({ type: 'general', prompt: 'x' }, { thresholds: { high: 0, medium: 1 } }),
    ).toThrow(RangeError);
  });
});

describe('indicatorRegExp', () => {
  it('treats spaces as any whitespace and honours an explicit word end', () => {
    expect(indicatorRegExp('design pattern').test('a Design\n  Patterns book')).toBe(true);
    expect(indicatorRegExp('fix\\b').test('test fixture')).toBe(false);
  });

  it('compiles every default indicator', () => {
    const all = [...DEFAULT_INDICATORS.high, ...DEFAULT_INDICATORS.medium, ...DEFAULT_INDICATORS.low];
    for (const i of all) expect(indicatorRegExp(i)).toBeInstanceOf(RegExp);
    expect(all.length).toBeGreaterThan(20);
  });
});
