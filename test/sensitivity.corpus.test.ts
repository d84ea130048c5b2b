/**
 * The multilingual corpus (test/fixtures/sensitivity/corpus.ts) against the scanner: recall on
 * every category of secrets and false alarms on the look-alikes, with the goals of issue 26.
 * `npm run bench -- secrets` prints the same table and records it in docs/benchmarks.md.
 */
import { describe, expect, it } from 'vitest';
import { SensitivityScanner } from '../src/policy/sensitivity/index.ts';
import { buildCorpus, scoreCorpus } from './fixtures/sensitivity/corpus.ts';

const scanner = new SensitivityScanner();
const corpus = buildCorpus();
const scored = await scoreCorpus(corpus, async (s) => (await scanner.scanText(s.text, s.source)).level === 'confidential');
/** What a failure prints: the category and source of each miss, never more than its first 60 characters. */
const show = (samples: typeof corpus): string => samples.map((s) => `${s.category} ${s.source}: ${JSON.stringify(s.text.slice(0, 60))}`).join('\n');

describe('sensitivity corpus', () => {
  it('is deterministic and large enough', () => {
    expect(corpus.length).toBeGreaterThanOrEqual(400);
    expect(buildCorpus()).toEqual(corpus);
    expect(buildCorpus(27)).not.toEqual(corpus);
    expect(corpus.filter((s) => s.secret).length).toBeGreaterThanOrEqual(200);
    expect(corpus.filter((s) => !s.secret).length).toBeGreaterThanOrEqual(100);
  });

  it('recall is at least 99.5 %', () => {
    expect(scored.recall, show(scored.missed)).toBeGreaterThanOrEqual(0.995);
  });

  it('false alarms are at most 2 %', () => {
    expect(scored.falseAlarmRate, show(scored.falseAlarms)).toBeLessThanOrEqual(0.02);
  });

  it('meets the same goals with other seeds (other values in the same shapes)', async () => {
    for (let seed = 1; seed <= 8; seed++) {
      const other = await scoreCorpus(buildCorpus(seed), async (x) => (await scanner.scanText(x.text, x.source)).level === 'confidential');
      expect(other.recall, `seed ${seed}\n${show(other.missed)}`).toBeGreaterThanOrEqual(0.995);
      expect(other.falseAlarmRate, `seed ${seed}\n${show(other.falseAlarms)}`).toBeLessThanOrEqual(0.02);
      expect(other.categories.filter((c) => c.score < 0.95).map((c) => `seed ${seed}: ${c.category}`)).toEqual([]);
    }
  });

  it('no category is below 95 %', () => {
    const low = scored.categories.filter((c) => c.score < 0.95);
    expect(low.map((c) => `${c.category} ${(c.score * 100).toFixed(1)} %`), show([...scored.missed, ...scored.falseAlarms])).toEqual([]);
  });
});
