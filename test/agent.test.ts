/**
 * Agent tasks end to end, on real parts: `koubou submit --repo` packs a git repository into
 * JetStream's Object Store; the router scans every file of it; an agent worker runs the real
 * Codex CLI in a clone, in its sandbox, with its model requests going through the gateway to
 * workers on `koubou sim` (scripted to create a file, then edit another, then answer); the
 * patch comes back, applies to the original repository, and every request of the agent is a
 * charged task of its own, a child of the agent's task.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimServer, type SimServer } from '../src/llm/sim/index.ts';
import { runKoubou } from './support/cli.ts';
import { startAgentShop, type AgentShop } from './support/agentShop.ts';
import { startSystem, uniqueId, type TestSystem } from './support/system.ts';

const KEY = 'kb-test-agents';
const SECRET = 'sk-proj-Zt4nW8qLm2XvB7kR9pC3yHd6JsA1gE5uK0oVbNxQ';
const TURNS = [
  { name: 'exec_command', arguments: JSON.stringify({ cmd: "mkdir -p src && printf 'export const total = (xs: number[]) => xs.reduce((a, b) => a + b, 0);\\n' > src/total.ts" }) },
  { name: 'exec_command', arguments: JSON.stringify({ cmd: "sed -i 's/^# orders$/# orders (with totals)/' README.md" }) },
];
let sys: TestSystem;
let cloud: SimServer;
let local: SimServer;
let shop: AgentShop;
const dirs: string[] = [];

function repo(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'koubou-agent-repo-'));
  dirs.push(dir);
  const run = (...args: string[]) => spawnSync('git', args, { cwd: dir, encoding: 'utf8' });
  run('init', '-q');
  for (const [path, text] of Object.entries(files)) writeFileSync(join(dir, path), text);
  run('add', '-A');
  run('-c', 'user.email=t@example.com', '-c', 'user.name=test', 'commit', '-qm', 'base');
  return dir;
}

beforeAll(async () => {
  cloud = await startSimServer({ turns: TURNS });
  local = await startSimServer({ turns: TURNS });
  sys = await startSystem({ workers: [{ tier: 'gpt5_high', sim: cloud }, { tier: 'gpt5_medium', sim: cloud }, { tier: 'local', sim: local }] });
  shop = await startAgentShop(sys, KEY, ['gpt5_high', 'gpt5_medium', 'local']);
}, 60_000);
afterAll(async () => {
  await shop?.stop();
  await sys?.stop();
  await cloud?.close();
  await local?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const env = () => ({ ...sys.nats.env, NATS_URL: sys.nats.url });

async function children(parent: string): Promise<{ task_id: string; assigned_worker_type: string; cost: number; prompt_tokens: number }[]> {
  const q = () => sys.db.prepare(`SELECT t.task_id, t.assigned_worker_type, COALESCE(SUM(c.cost_usd), 0) AS cost, COALESCE(SUM(c.prompt_tokens), 0) AS prompt_tokens
    FROM task_master t LEFT JOIN cost_tracking c ON c.task_id = t.task_id WHERE t.parent_task_id = ? GROUP BY t.task_id`).all(parent) as { task_id: string; assigned_worker_type: string; cost: number; prompt_tokens: number }[];
  for (let i = 0; i < 100 && q().filter((r) => r.prompt_tokens > 0).length < 3; i++) await new Promise((r) => setTimeout(r, 100));
  return q();
}

describe('an agent task', () => {
  it.each([
    ['design a distributed, lock-free architecture for the orders service and add a totals helper', 'gpt5_high'],
    ['refactor this module to use dependency injection and add a totals helper', 'gpt5_medium'],
    ['fix a typo in README.md and add a totals helper', 'local'],
  ])('"%s" runs on %s: the patch applies to the repository, and each model request is a charged child task there', async (instruction, tier) => {
    const dir = repo({ 'README.md': '# orders\n', 'package.json': '{"name":"orders"}\n' });
    const id = uniqueId('agent');
    // As the README has it: run in the repository, `--repo` meaning this one.
    // The test command runs in the agent's sandbox: a write outside the workspace fails there.
    const outside = join(tmpdir(), `${id}-escaped`);
    const test = `test -f src/total.ts && ! touch ${outside} 2>/dev/null`;
    const r = await runKoubou(['submit', '--repo', '--wait', '--apply', '--id', id, '--test', test, instruction], { env: env(), cwd: dir, timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/workspace: 2 files/);
    expect(r.stderr).toMatch(/ran \(exit 0\): .*mkdir -p src/);
    expect(r.stderr).toMatch(new RegExp(`completed on ${tier}`));
    expect(r.stdout).toMatch(/2 files changed/);
    expect(r.stdout).toContain(`tests: \`${test}\` passed`);
    expect(existsSync(outside)).toBe(false);
    // Applied to the original repository: the new file, and the edit.
    expect(readFileSync(join(dir, 'src/total.ts'), 'utf8')).toMatch(/export const total/);
    expect(readFileSync(join(dir, 'README.md'), 'utf8')).toBe('# orders (with totals)\n');
    const rows = await children(id);
    expect(rows.length).toBe(3);
    for (const row of rows) expect(row.assigned_worker_type).toBe(tier);
    expect(rows.every((row) => row.prompt_tokens > 0)).toBe(true);
    if (tier !== 'local') expect(rows.every((row) => row.cost > 0)).toBe(true);
  }, 150_000);

  it('with a .env holding an API key, runs on the local tier and the cloud simulator never sees the key or the file', async () => {
    const dir = repo({ 'README.md': '# orders\n', '.env': `OPENAI_API_KEY=${SECRET}\n` });
    const before = cloud.stats.log.length;
    const id = uniqueId('agent-secret');
    const r = await runKoubou(['submit', '--repo', dir, '--wait', '--id', id, 'refactor this module to use dependency injection and add a totals helper'], { env: env(), timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/AnalyzeSensitivity.*confidential \(api_key.* in \.env:1/);
    expect(r.stderr).toMatch(/completed on local/);
    expect(cloud.stats.log.length).toBe(before);
    expect(JSON.stringify(cloud.stats.log.map((x) => x.body ?? null))).not.toContain(SECRET);
    // --apply was not given: the working tree is as it was.
    expect(existsSync(join(dir, 'src/total.ts'))).toBe(false);
  }, 150_000);

  it('leaves out what .koubouignore names: the secret stays home, the task may go to the cloud, and the reason says why', async () => {
    const dir = repo({ 'README.md': '# orders\n', '.env': `OPENAI_API_KEY=${SECRET}\n`, '.koubouignore': '.env\n' });
    const r = await runKoubou(['submit', '--repo', dir, '--wait', 'refactor this module to use dependency injection and add a totals helper'], { env: env(), timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/1 kept out by \.koubouignore/);
    expect(r.stderr).toMatch(/AnalyzeSensitivity\s+public: no sensitive data found \(workspace: 2 files scanned, 1 kept out by \.koubouignore\)/);
    expect(r.stderr).toMatch(/completed on gpt5_medium/);
    expect(JSON.stringify(cloud.stats.log.map((x) => x.body ?? null))).not.toContain(SECRET);
  }, 150_000);

  it('refuses a workspace over the configured limit, with its size and the limit, before anything travels', async () => {
    const dir = repo({ 'README.md': '# orders\n', 'data.json': 'x'.repeat(5000) });
    const config = join(dir, '..', `${uniqueId('cfg')}.yaml`);
    writeFileSync(config, 'workspace:\n  max_bytes: 1000\n');
    const r = await runKoubou(['--config', config, 'submit', '--repo', dir, 'add a totals helper'], { env: env() });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/the workspace is 0\.0 MiB \(2 files\), over the limit of 0\.0 MiB: keep large paths out with \.koubouignore or \.gitignore, or raise workspace\.max_bytes/);
  }, 60_000);

  it('commits the patch on a new branch with --branch, leaving the working tree alone', async () => {
    const dir = repo({ 'README.md': '# orders\n' });
    const r = await runKoubou(['submit', '--repo', dir, '--branch', 'koubou/totals', 'add a totals helper'], { env: env(), timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/committed on branch koubou\/totals/);
    const show = spawnSync('git', ['show', '--stat', '--format=%s', 'koubou/totals'], { cwd: dir, encoding: 'utf8' }).stdout;
    expect(show).toMatch(/add a totals helper/);
    expect(show).toMatch(/src\/total\.ts/);
    expect(existsSync(join(dir, 'src/total.ts'))).toBe(false);
  }, 150_000);
});
