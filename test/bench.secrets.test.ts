/**
 * The `secrets` benchmark section runs (CI runs no benchmark, so this is where a broken one
 * shows): its report names every corpus category and the goals. Figures are the benchmark's
 * business (docs/benchmarks.md); nothing here asserts a time.
 */
import { describe, expect, it } from 'vitest';
import { secretsReport } from '../bench/secrets.ts';
import { buildCorpus } from './fixtures/sensitivity/corpus.ts';

describe('npm run bench -- secrets', () => {
  it('reports recall, false alarms and speed, and every category of the corpus', async () => {
    const md = await secretsReport(1);
    expect(md).toMatch(/\| recall over all secrets \| 100\.0 % \(\d+ of \d+\) \| at least 99\.5 % \|/);
    expect(md).toMatch(/\| false alarms over all look-alikes \| [\d.]+ % \(\d+ of \d+\) \| at most 2 % \|/);
    expect(md).toMatch(/\| sensitivity scan of 1 MB of source, 1 runs \| median [\d.]+ MB\/s/);
    for (const category of new Set(buildCorpus().map((s) => s.category))) expect(md).toContain(`| ${category} |`);
  });
});
