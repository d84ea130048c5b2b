import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { currentYearMonth, ensureMonth, openLedgerDb, recordRateLimitSignal, recordUsage, upsertTask } from '../src/db/index.ts';
import { runKoubou } from './support/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'koubou-cli-'));
const emptyDb = join(dir, 'none.db');
const route = async (prompt: string, env: Record<string, string> = { KOUBOU_DB: emptyDb }, extra: string[] = []) => {
  const r = await runKoubou(['route', '--dry-run', '--json', ...extra, prompt], { env });
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout);
};

describe('koubou route --dry-run: the seed\'s examples', () => {
  it('gives the diagram\'s answers', async () => {
    const [secret, arch, refactor, typo] = await Promise.all([
      route('Connect with password = "hunter2" and fix the slow query'),
      route('design a distributed architecture for our event pipeline'),
      route('refactor this module'),
      route('fix a typo'),
    ]);
    expect(secret).toMatchObject({ tier: 'local', sensitivity: { level: 'confidential', categories: ['credential'] } });
    expect(arch).toMatchObject({ tier: 'gpt5_high', difficulty: { level: 'high' }, budget: { critical: false } });
    expect(refactor).toMatchObject({ tier: 'gpt5_medium', difficulty: { level: 'medium' } });
    expect(typo).toMatchObject({ tier: 'local', difficulty: { level: 'low' } });
    for (const d of [secret, arch, refactor, typo]) {
      expect(d.trace[0].state).toBe('ReceiveTask');
      expect(Array.isArray(d.fallbacks)).toBe(true);
      expect(Array.isArray(d.difficulty.reasons)).toBe(true);
    }
  });

  describe('with 85 % of the month\'s budget spent in the ledger', () => {
    const db85 = join(dir, 'ledger85.db');
    beforeAll(() => {
      const db = openLedgerDb(db85);
      ensureMonth(db, currentYearMonth(), 100, 80);
      upsertTask(db, { taskId: 'spent', taskType: 'general', difficulty: 'medium', sensitivity: 'public', status: 'completed' });
      recordUsage(db, {
        usageId: 'u-85', taskId: 'spent', tier: 'gpt5_medium', model: 'gpt-5', promptTokens: 1, cachedPromptTokens: 0,
        completionTokens: 1, reasoningTokens: 0, costUsd: 85,
      }, { monthlyLimitUsd: 100 });
      db.close();
    });

    it('sends a medium task local and keeps a high one on gpt5_high', async () => {
      const [medium, high] = await Promise.all([
        route('refactor this module', { KOUBOU_DB: db85 }),
        route('design a distributed architecture for our event pipeline', { KOUBOU_DB: db85 }),
      ]);
      expect(medium).toMatchObject({ tier: 'local', budget: { critical: true } });
      expect(medium.budget.percentUsed).toBeCloseTo(85, 5);
      expect(medium.trace.map((t: { reason: string }) => t.reason).join('\n')).toMatch(/budget critical/);
      expect(high).toMatchObject({ tier: 'gpt5_high', budget: { critical: true } });
    });
  });

  it('takes the rate limits the ledger last recorded: a fresh 429 on gpt5_high sends a high task on to gpt5_medium', async () => {
    const limited = join(dir, 'ledger-429.db');
    const db = openLedgerDb(limited);
    recordRateLimitSignal(db, { tier: 'gpt5_high', status: 429, headers: { 'retry-after': '120' }, observedAtMs: Date.now() });
    db.close();
    const d = await route('design a distributed architecture for our event pipeline', { KOUBOU_DB: limited });
    expect(d.tier).toBe('gpt5_medium');
    expect(d.fallbacks).toEqual([expect.objectContaining({ from: 'gpt5_high', to: 'gpt5_medium' })]);
    expect(d.trace.find((t: { state: string }) => t.state === 'CheckRateLimit1')?.reason).toMatch(/rate limited: 429 from the provider/);
    // Without it, the same task stays on gpt5_high.
    expect((await route('design a distributed architecture for our event pipeline')).tier).toBe('gpt5_high');
  });

  it('scans attached files as well as the prompt', async () => {
    const file = join(dir, 'settings.py');
    // Built at run time so no secret-looking literal is committed.
    const secret = Array.from({ length: 40 }, (_, i) => 'aZ3kQ9xP/7mW+2vL8rT'[(i * 7) % 19]).join('');
    writeFileSync(file, `DEBUG = False\nAWS_SECRET_ACCESS_KEY = "${secret}"\n`);
    const d = await route('refactor this module', { KOUBOU_DB: emptyDb }, ['--file', file]);
    expect(d.tier).toBe('local');
    expect(d.sensitivity.level).toBe('confidential');
    expect(d.sensitivity.findings.some((f: { source: string }) => f.source === file)).toBe(true);
  });

  it('prints a readable trace without --json', async () => {
    const r = await runKoubou(['route', '--dry-run', 'design a distributed architecture'], { env: { KOUBOU_DB: emptyDb } });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/→ gpt5_high/);
    expect(r.stdout).toMatch(/trace:\n\s+1\. ReceiveTask/);
  });
});

describe('bad input: a clear error naming the field, exit code 2', () => {
  it.each([
    [['route', '--dry-run', '--type', 'poetry', 'x'], /--type.*poetry|poetry.*--type|Allowed choices/i],
    [['route', '--dry-run', '--priority', '11', 'x'], /priority: must be at most 10 \(found 11\)/],
    [['route', '--dry-run', '--priority', 'high', 'x'], /priority/],
    [['route', '--dry-run', '   '], /prompt: must not be empty/],
    [['route', '--dry-run', '--file', '/nonexistent/file.ts', 'x'], /--file \/nonexistent\/file.ts: cannot read it \(no such file\)/],
    [['route', 'x'], /route needs --dry-run/],
  ])('koubou %j', async (args, message) => {
    const r = await runKoubou(args as string[], { env: { KOUBOU_DB: emptyDb } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
  });

  it('refuses a binary file', async () => {
    const bin = join(dir, 'blob.bin');
    writeFileSync(bin, Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 1, 2, 3]));
    const r = await runKoubou(['route', '--dry-run', '--file', bin, 'x'], { env: { KOUBOU_DB: emptyDb } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/blob\.bin: looks binary/);
  });

  it('refuses a bad config file naming the file, key, expectation and finding', async () => {
    const cfg = join(dir, 'bad.yaml');
    writeFileSync(cfg, 'budget:\n  monthly_usd: "lots"\n');
    const r = await runKoubou(['--config', cfg, 'route', '--dry-run', 'x']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${cfg}:2: budget.monthly_usd: expected number, found string "lots"`);
  });
});
