/**
 * `koubou eval routing`: the shipped labeled set, bare and wrapped in each captured client's real
 * request, meets the routing goals (≥ 90% agreement, no high ask sent to the local tier); the
 * report prints the confusion matrix, the costs and each miss's rules; bad input names its line.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DIFFICULTY_LEVELS } from '../src/core/types.ts';
import type { EvalRun } from '../src/routing/index.ts';
import { runKoubou } from './support/cli.ts';
import { fixtureClients } from './support/clientFixtures.ts';

const SET = 'data/routing/labeled-asks.jsonl';
const dir = mkdtempSync(join(tmpdir(), 'koubou-eval-'));

describe('koubou eval routing', () => {
  it('on the shipped set, bare and in every captured client: ≥ 90% agreement, no high ask routed low, cheaper than always-high', async () => {
    const cases = readFileSync(SET, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { expected: string; tags: string[] });
    expect(cases.length).toBeGreaterThanOrEqual(200);
    for (const tag of ['terse', 'polite', 'multi-paragraph', 'code']) expect(cases.some((c) => c.tags.includes(tag))).toBe(true);
    expect(cases.filter((c) => c.tags.some((t) => /^[a-z]{2}$/.test(t))).length).toBeGreaterThanOrEqual(15);

    // Without a file: the set koubou ships (data/routing, beside the program, not under test/), from any directory.
    const r = await runKoubou(['eval', 'routing', '--client', 'all', '--json'], { timeoutMs: 120_000, cwd: dir });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const runs = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as EvalRun);
    expect(runs.map((x) => x.wrapper)).toEqual(['bare', ...fixtureClients()]);
    for (const run of runs) {
      expect(run.cases).toBe(cases.length);
      const total = DIFFICULTY_LEVELS.flatMap((e) => DIFFICULTY_LEVELS.map((g) => run.confusion[e][g])).reduce((a, b) => a + b, 0);
      expect(total).toBe(cases.length);
      expect(run.agreed / run.cases, `${run.wrapper}: ${run.agreed}/${run.cases}`).toBeGreaterThanOrEqual(0.9);
      expect(run.confusion.high.low, run.wrapper).toBe(0);
      expect(run.highToLow).toBe(0);
      expect(run.misses).toHaveLength(run.cases - run.agreed);
      expect(run.cost.routed).toBeLessThan(run.cost.alwaysHigh);
      // Every ask on its expected level's tier: between always-medium-and-low and always-high.
      expect(run.cost.asLabeled).toBeGreaterThan(0);
      expect(run.cost.asLabeled).toBeLessThan(run.cost.alwaysHigh);
      // Wrapped asks carry the client's system prompt: the calls cost more than bare ones.
      if (run.wrapper !== 'bare') expect(run.cost.alwaysHigh).toBeGreaterThan(runs[0]!.cost.alwaysHigh);
    }
  }, 150_000);

  it('prints agreement, the confusion matrix, the costs and each miss with the rules that fired', async () => {
    const file = join(dir, 'mixed.jsonl');
    writeFileSync(file, [
      JSON.stringify({ id: 'typo', ask: 'fix a typo in README.md', expected: 'low' }),
      JSON.stringify({ id: 'wrong', ask: 'fix a typo in README.md', expected: 'high' }),
      JSON.stringify({ id: 'conv', expected: 'low', conversation: [{ role: 'system', content: 'You handle concurrent distributed architecture.' }, { role: 'user', content: 'rename foo to bar' }] }),
      '',
    ].join('\n'));
    const r = await runKoubou(['eval', 'routing', file, '--client', 'bare,codex']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('wrapper bare: agreement 2/3 (66.7%); high asks routed low: 1');
    expect(r.stdout).toContain('wrapper codex: agreement 2/3 (66.7%)');
    expect(r.stdout).toMatch(/expected \\ routed\s+high\s+medium\s+low/);
    expect(r.stdout).toMatch(/always high \$[\d.]+ \(routed = [\d.]+%\), always medium \$[\d.]+ \(routed = [\d.]+%\), as labeled \$[\d.]+ \([\d.]+% of always high\)/);
    expect(r.stdout).toContain('- wrong (line 2): expected high, routed low: "fix a typo in README.md"');
    expect(r.stdout).toContain('rules: type general: +1; indicator "fix" (low): -1; indicator "typo" (low): -1');
  }, 60_000);

  it('names the line and the field of a bad case, and an unknown client', async () => {
    const file = join(dir, 'bad.jsonl');
    writeFileSync(file, `${JSON.stringify({ ask: 'x', expected: 'low' })}\n${JSON.stringify({ ask: 'y', expected: 'hard' })}\n`);
    const bad = await runKoubou(['eval', 'routing', file]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/bad\.jsonl:2: "expected": /);
    const unknown = await runKoubou(['eval', 'routing', SET, '--client', 'nosuch']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/--client nosuch: no capture of that client \(known: codex, opencode, qwen-code\)/);
    // A case's own client that has no capture: an input error naming the case, its line and the field.
    const own = join(dir, 'own-client.jsonl');
    writeFileSync(own, `${JSON.stringify({ id: 'c1', ask: 'fix a typo', expected: 'low', client: 'nosuch' })}\n`);
    const named = await runKoubou(['eval', 'routing', own]);
    expect(named.code).toBe(2);
    expect(named.stderr).toMatch(/case c1 \(line 1\): "client": no capture of "nosuch" \(known: codex, opencode, qwen-code\)/);
  }, 60_000);
});
