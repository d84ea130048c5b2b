/**
 * Verify, then escalate, on real parts: a repository whose test fails unless `add` adds; the
 * real Codex CLI as the agent, its model requests through the gateway to workers on `koubou sim`.
 * The local simulator is scripted to make the wrong change (a - b → a * b), the cloud one the
 * right change (a + b). The task's tests fail on local, it is tried again on gpt5_medium with the
 * failed change and test output in its prompt, and completes there; the ledger has the escalation
 * and each attempt's calls charged once.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimServer, type SimServer } from '../src/llm/sim/index.ts';
import { runKoubou } from './support/cli.ts';
import { startAgentShop, type AgentShop } from './support/agentShop.ts';
import { startSystem, uniqueId, type TestSystem } from './support/system.ts';

const KEY = 'kb-test-escalation';
const edit = (op: string) => [{ name: 'exec_command', arguments: JSON.stringify({ cmd: `sed -i 's/a - b/a ${op} b/' add.js` }) }];
let sys: TestSystem;
let cloud: SimServer;
let local: SimServer;
let shop: AgentShop;
let dir: string;

beforeAll(async () => {
  local = await startSimServer({ turns: edit('*') });
  cloud = await startSimServer({ turns: edit('+') });
  sys = await startSystem({ workers: [{ tier: 'gpt5_high', sim: cloud }, { tier: 'gpt5_medium', sim: cloud }, { tier: 'local', sim: local }] });
  shop = await startAgentShop(sys, KEY, ['gpt5_medium', 'local'], { maxConcurrent: 1 });
  dir = mkdtempSync(join(tmpdir(), 'koubou-escalate-repo-'));
  writeFileSync(join(dir, 'add.js'), 'module.exports = (a, b) => a - b;\n');
  writeFileSync(join(dir, 'test.js'), "const r = require('./add.js')(2, 3);\nif (r !== 5) { console.error(`add(2, 3) gave ${r}, want 5`); process.exitCode = 1; }\n");
  const git = (...args: string[]) => spawnSync('git', args, { cwd: dir, encoding: 'utf8' });
  git('init', '-q');
  git('add', '-A');
  git('-c', 'user.email=t@example.com', '-c', 'user.name=test', 'commit', '-qm', 'base');
}, 60_000);
afterAll(async () => {
  await shop?.stop();
  await sys?.stop();
  await cloud?.close();
  await local?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('verify, then escalate', () => {
  it('a task whose tests fail on local is tried on gpt5_medium with the failed change and output, and completes there', async () => {
    const id = uniqueId('escalate');
    const r = await runKoubou(['submit', '--repo', dir, '--wait', '--apply', '--id', id, '--test', 'node test.js', 'fix a typo in add.js'],
      { env: { ...sys.nats.env, NATS_URL: sys.nats.url }, timeoutMs: 240_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/Verify\s+tests failed on local: `node test.js` exited 1/);
    expect(r.stderr).toMatch(/Escalate\s+local → gpt5_medium: tests failed on local/);
    expect(r.stderr).toMatch(/Verify\s+tests passed on gpt5_medium/);
    expect(r.stderr).toMatch(/completed on gpt5_medium/);
    expect(readFileSync(join(dir, 'add.js'), 'utf8')).toBe('module.exports = (a, b) => a + b;\n');

    // The escalated attempt's prompt: the task's, the failed change and the tests' output.
    const bodies = JSON.stringify(cloud.stats.log.map((x) => x.body ?? null));
    expect(bodies).toContain('An earlier attempt at this task (on local)');
    expect(bodies).toContain('a * b');
    expect(bodies).toContain('add(2, 3) gave 6, want 5');

    // The ledger: the task on gpt5_medium, the escalation in its audit, the second attempt reserved on its tier.
    const wait = async <T>(q: () => T, ok: (v: T) => boolean): Promise<T> => {
      for (let i = 0; i < 100 && !ok(q()); i++) await new Promise((res) => setTimeout(res, 100));
      return q();
    };
    const task = await wait(() => sys.db.prepare('SELECT status, assigned_worker_type AS tier FROM task_master WHERE task_id = ?').get(id) as { status: string; tier: string },
      (t) => t?.status === 'completed');
    expect(task).toEqual({ status: 'completed', tier: 'gpt5_medium' });
    const escalate = sys.db.prepare("SELECT tier, reasons FROM routing_audit WHERE task_id = ? AND state = 'Escalate'").all(id) as { tier: string; reasons: string }[];
    expect(escalate).toHaveLength(1);
    expect(escalate[0]!.tier).toBe('gpt5_medium');
    const reservations = sys.db.prepare('SELECT reservation_id, tier FROM budget_reservations WHERE task_id = ?').all(id);
    expect(reservations).toEqual([{ reservation_id: `${id}:gpt5_medium:2`, tier: 'gpt5_medium' }]);

    // Each attempt's model requests are child tasks on the attempt's tier, each charged once.
    const children = await wait(() => sys.db.prepare(`SELECT t.assigned_worker_type AS tier, COUNT(c.task_id) AS charges, COALESCE(SUM(c.cost_usd), 0) AS cost
      FROM task_master t LEFT JOIN cost_tracking c ON c.task_id = t.task_id WHERE t.parent_task_id = ? GROUP BY t.task_id`).all(id) as { tier: string; charges: number; cost: number }[],
    (rows) => rows.length >= 4 && rows.every((row) => row.charges > 0));
    const byTier = (tier: string) => children.filter((c) => c.tier === tier);
    expect(byTier('local').length).toBeGreaterThan(0);
    expect(byTier('gpt5_medium').length).toBeGreaterThan(0);
    expect(children.every((c) => c.charges === 1)).toBe(true);
    expect(byTier('gpt5_medium').every((c) => c.cost > 0)).toBe(true);

    // Pass rates per tier and task type: the local attempt failed, the medium one passed; `koubou status` shows them.
    const status = await runKoubou(['status', '--json'], { env: { ...sys.nats.env, NATS_URL: sys.nats.url } });
    expect(status.code, status.stderr).toBe(0);
    const rates = (JSON.parse(status.stdout) as { passRates: { tier: string; runs: number; passed: number }[] }).passRates;
    expect(rates.map(({ tier, runs, passed }) => ({ tier, runs, passed }))).toEqual([{ tier: 'gpt5_medium', runs: 1, passed: 1 }, { tier: 'local', runs: 1, passed: 0 }]);
    const text = await runKoubou(['status'], { env: { ...sys.nats.env, NATS_URL: sys.nats.url } });
    expect(text.stdout).toMatch(/Tests passed[^\n]*\n[^\n]*TIER\s+TYPE\s+VERIFIED\s+PASSED\s+RATE\n\s*gpt5_medium\s+\S+\s+1\s+1\s+100 %\n\s*local\s+\S+\s+1\s+0\s+0 %/);
  }, 300_000);
});
