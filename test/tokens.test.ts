import { describe, it, expect } from 'vitest';
import { encode } from 'gpt-tokenizer/encoding/o200k_base';
import { countTokens, countTaskTokens, FILE_FENCE_OVERHEAD_TOKENS } from '../src/policy/tokens.ts';

const plain = { disallowedSpecial: new Set<string>() };

describe('countTokens', () => {
  it('counts nothing in an empty string', () => {
    expect(countTokens('')).toBe(0);
  });

  it('matches o200k_base token arrays on prose, code and non-Latin text', () => {
    const samples = [
      'hello world',
      'export function add(a: number, b: number): number { return a + b; }\n',
      '工房システム設計書: 親方と職人',
      'emoji 🧑‍🔧 and accents: café, naïve',
    ];
    for (const s of samples) expect(countTokens(s)).toBe(encode(s, plain).length);
    // A known o200k figure, so a silent switch to another encoding would fail here.
    expect(countTokens('hello world')).toBe(2);
  });

  it('counts special-token look-alikes as ordinary text instead of throwing', () => {
    const text = 'split on <|endoftext|> and <|im_start|> markers';
    expect(() => countTokens(text)).not.toThrow();
    expect(countTokens(text)).toBe(encode(text, plain).length);
    // As text, the marker is several tokens, not the single special token.
    expect(countTokens('<|endoftext|>')).toBeGreaterThan(1);
  });

  it('counts a multi-megabyte input exactly', () => {
    const line = 'function f(x) { return x * 42 + "lorem ipsum dolor sit amet"; }\n';
    const big = line.repeat(30_000); // ~2 MB; its speed is measured in npm run bench, not here
    expect(countTokens(big)).toBe(countTokens(line) * 30_000);
  });
});

describe('countTaskTokens', () => {
  it('is the prompt alone when there are no files', () => {
    expect(countTaskTokens('Fix the typo in the README')).toBe(countTokens('Fix the typo in the README'));
  });

  it('adds path, content and a fence overhead per file', () => {
    const files = [
      { path: 'README.md', content: '# Helo\n' },
      { path: 'src/policy/difficulty.ts', content: 'export const x = 1;\n' },
    ];
    const expected =
      countTokens('fix it') +
      files.reduce((sum, f) => sum + countTokens(f.path) + FILE_FENCE_OVERHEAD_TOKENS + countTokens(f.content), 0);
    expect(countTaskTokens('fix it', files)).toBe(expected);
  });

  it('stays within a couple of tokens per file of the fenced rendering', () => {
    const files = [
      { path: 'src/a.ts', content: 'export const a = 1;' },
      { path: 'docs/guide.md', content: '# Guide\n\nSome words here.' },
    ];
    const rendered = 'do it' + files.map((f) => '```' + f.path + '\n' + f.content + '\n```\n\n').join('');
    const diff = Math.abs(countTaskTokens('do it', files) - countTokens(rendered));
    expect(diff).toBeLessThanOrEqual(2 * files.length);
  });
});
