import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/index.ts';
import { ConfigError } from '../src/core/errors.ts';
import { DEFAULT_INDICATORS } from '../src/policy/difficulty.ts';
import { DEFAULT_PRICES } from '../src/policy/pricing.ts';

const dir = mkdtempSync(join(tmpdir(), 'koubou-config-'));
const file = (name: string, text: string) => { const p = join(dir, name); writeFileSync(p, text); return p; };
const errorOf = (fn: () => unknown): ConfigError => {
  try { fn(); } catch (e) { if (e instanceof ConfigError) return e; throw e; }
  throw new Error('expected a ConfigError');
};

describe('configuration', () => {
  it('has the seed\'s tier settings (gpt5_high at 30 rpm, not 10, so a minute\'s hard work fits), and today\'s GPT-5 list prices by default', () => {
    const c = loadConfig({ env: {} });
    expect(c.tiers.gpt5_high).toMatchObject({ model: 'gpt-5', reasoning_effort: 'high', rpm: 30, expected_output_tokens: 12_000, retry: { delay_seconds: 30, max_retries: 3 } });
    expect(c.tiers.gpt5_medium).toMatchObject({ model: 'gpt-5', reasoning_effort: 'medium', rpm: 30, retry: { delay_seconds: 10, max_retries: 5 } });
    expect(c.tiers.local).toMatchObject({ provider: 'ollama', model: 'gpt-oss:20b', rpm: null, tpm: null });
    expect(c.budget).toEqual({ monthly_usd: 100, alert_threshold_percent: 80 });
    expect(c.pricing['gpt-5']).toEqual({ input: 1.25, cached_input: 0.125, output: 10 });
    expect(c.pricing['gpt-5']!.input).toBe(DEFAULT_PRICES['gpt-5']!.inputPerMTok);
    expect(c.pricing['gpt-oss:20b']).toEqual({ input: 0, cached_input: 0, output: 0 });
    expect(c.routing.difficulty.indicators).toEqual(DEFAULT_INDICATORS);
    expect(c.routing_policy.rules.map((r) => r.priority_range)).toEqual([[8, 10], [5, 7], [1, 4]]);
  });

  it('merges a user file over the defaults, and the environment over both', () => {
    const user = file('user.yaml', 'budget:\n  monthly_usd: 250\nnats:\n  url: nats://from-file:4222\n');
    const c = loadConfig({ file: user, env: { NATS_URL: 'nats://from-env:4222' } });
    expect(c.budget).toEqual({ monthly_usd: 250, alert_threshold_percent: 80 });
    expect(c.nats.url).toBe('nats://from-env:4222');
    expect(loadConfig({ env: { KOUBOU_CONFIG: user } }).budget.monthly_usd).toBe(250);
  });

  it('names the file, line, key path, expectation and finding of a bad value', () => {
    const e = errorOf(() => loadConfig({ file: file('bad.yaml', 'tiers:\n  gpt5_high:\n    rpm: "ten"\n'), env: {} }));
    expect(e.message).toBe(`${join(dir, 'bad.yaml')}:3: tiers.gpt5_high.rpm: expected number, found string "ten"`);
    expect(e.details).toMatchObject({ keyPath: 'tiers.gpt5_high.rpm', expected: 'number', line: 3 });
  });

  it('refuses unknown keys, so a typo is not silently ignored', () => {
    const e = errorOf(() => loadConfig({ file: file('typo.yaml', 'budget:\n  monthy_usd: 50\n'), env: {} }));
    expect(e.message).toMatch(/typo\.yaml:2: budget\.monthy_usd: expected only known keys, found unknown key "monthy_usd"/);
  });

  it('refuses enum values, ranges and broken YAML with the reason', () => {
    expect(errorOf(() => loadConfig({ file: file('e.yaml', 'routing:\n  fallback_order: [gpt5_high, gpt6]\n'), env: {} })).message)
      .toMatch(/routing\.fallback_order\[1\]: expected one of "gpt5_high", "gpt5_medium", "local", found string "gpt6"/);
    expect(errorOf(() => loadConfig({ file: file('r.yaml', 'budget:\n  alert_threshold_percent: 120\n'), env: {} })).message)
      .toMatch(/budget\.alert_threshold_percent: expected at most 100, found number 120/);
    expect(errorOf(() => loadConfig({ file: file('y.yaml', 'budget: [\n'), env: {} })).message).toMatch(/y\.yaml:\d+: not valid YAML/);
    expect(errorOf(() => loadConfig({ file: join(dir, 'missing.yaml'), env: {} })).message).toMatch(/missing\.yaml: cannot read the config file \(no such file\)/);
  });

  it('blames the environment variable when the bad value came from it', () => {
    expect(errorOf(() => loadConfig({ env: { KOUBOU_MONTHLY_BUDGET_USD: 'lots' } })).message)
      .toBe('environment variable KOUBOU_MONTHLY_BUDGET_USD: budget.monthly_usd: expected number, found string "lots"');
  });
});
