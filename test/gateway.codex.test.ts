/**
 * OpenAI's Codex CLI (the real `codex` binary, `@openai/codex`) working through koubou: the
 * README's config.toml as written, pointed at the gateway, which runs every model request of
 * the agent as a task on a worker backed by `koubou sim` (scripted to call Codex's
 * `exec_command` once, then answer). Codex runs the command in its workspace-write sandbox,
 * finishes its turn, and the ledger holds every request with its tier and usage. A prompt
 * holding a secret goes to the local tier, and the cloud simulator never sees it.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimServer } from '../src/llm/sim/index.ts';
import { startGatewayRig, type GatewayRig } from './support/gatewayRig.ts';
import type { TestSystem } from './support/system.ts';

const KEY = 'kb-test-codex';
const MADE = 'made-by-codex.txt';
const SECRET = 'sk-proj-Q7fN2kLm9XvB4tR8wZpC3yHd6JsA1gE5uK0oVbNx';
let sys: TestSystem;
let cloud: SimServer;
let local: SimServer;
let rig: GatewayRig;
let codexHome: string;

/** The Codex config of README.md, as written, with only the port changed to this test's gateway. */
function readmeCodexConfig(port: number): string {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const block = /<!-- codex-config[^>]*-->\n```toml\n([\s\S]*?)```/.exec(readme)?.[1];
  if (!block) throw new Error('README.md has no codex-config block');
  expect(block).toContain('base_url = "http://127.0.0.1:8788/v1"');
  return block.replace('127.0.0.1:8788', `127.0.0.1:${port}`);
}

function codex(cwd: string, prompt: string, model?: string): Promise<{ code: number | null; events: Record<string, unknown>[]; stderr: string }> {
  return new Promise((resolve, reject) => {
    const args = ['exec', '--json', '--ephemeral', '--skip-git-repo-check', '--sandbox', 'workspace-write', '-C', cwd, ...(model ? ['-m', model] : []), '-'];
    const child = spawn('codex', args, { cwd, env: { ...process.env, CODEX_HOME: codexHome, KOUBOU_API_KEY: KEY }, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let stderr = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const events = out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
      resolve({ code, events, stderr });
    });
    // The prompt on stdin, then its end: an open stdin makes codex wait.
    child.stdin.end(prompt);
  });
}

const made: string[] = [];
function workspace(): string {
  const dir = mkdtempSync(join(homedir(), '.koubou-codex-ws-'));
  made.push(dir);
  spawnSync('git', ['init', '-q', dir]);
  writeFileSync(join(dir, 'README.md'), '# orders\n');
  return dir;
}

/** The ledger's charges for gateway tasks after charge number `after`. */
const gatewayTasks = (after: number) => sys.db.prepare(
  `SELECT task_id, worker_type, prompt_tokens, completion_tokens FROM cost_tracking WHERE task_id LIKE 'gw-%' AND tracking_id > ? ORDER BY tracking_id`,
).all(after) as { task_id: string; worker_type: string; prompt_tokens: number; completion_tokens: number }[];
const lastCharge = () => (sys.db.prepare('SELECT COALESCE(MAX(tracking_id), 0) AS n FROM cost_tracking').get() as { n: number }).n;

beforeAll(async () => {
  // Codex's shell tool; the sim calls it once per conversation, then answers.
  const script = { exec_command: JSON.stringify({ cmd: `echo made > ${MADE}` }) };
  rig = await startGatewayRig(KEY, { cloud: { toolCalls: script, models: { openai: ['gpt-5'], ollama: ['gpt-oss:20b'] } }, local: { toolCalls: script } });
  ({ sys, cloud, local } = rig);
  const { url } = rig;
  // Outside /tmp: codex makes its helper binaries only in a CODEX_HOME that is not a temp dir.
  codexHome = mkdtempSync(join(homedir(), '.koubou-codex-home-'));
  made.push(codexHome);
  writeFileSync(join(codexHome, 'config.toml'), readmeCodexConfig(Number(new URL(url).port)));
}, 60_000);
afterAll(async () => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
  await rig?.stop();
});

describe('Codex CLI through the gateway', () => {
  it('is installed (scripts/test installs @openai/codex when it is missing)', () => {
    expect(spawnSync('codex', ['--version'], { encoding: 'utf8' }).stdout).toMatch(/^codex-cli \d+\.\d+\.\d+/);
  });

  it('runs a turn: calls the tool, runs it in its sandbox, answers; every request is a charged task on a cloud tier', async () => {
    const since = lastCharge();
    const ws = workspace();
    const run = await codex(ws, 'create the marker file');
    expect(run.code, run.stderr).toBe(0);
    const types = run.events.map((e) => e.type);
    expect(types).toContain('turn.completed');
    const command = run.events.find((e) => e.type === 'item.completed' && (e.item as { type: string }).type === 'command_execution');
    expect((command?.item as { command: string; exit_code: number })).toMatchObject({ exit_code: 0, command: expect.stringContaining(`echo made > ${MADE}`) });
    expect(existsSync(join(ws, MADE))).toBe(true);
    // Two model requests (the call, the answer), each a task the ledger charged on a cloud tier.
    let rows = gatewayTasks(since);
    for (let i = 0; i < 50 && rows.length < 2; i++) { await new Promise((r) => setTimeout(r, 100)); rows = gatewayTasks(since); }
    expect(rows).toHaveLength(2);
    for (const row of rows) expect(['gpt5_high', 'gpt5_medium']).toContain(row.worker_type);
    // The usage Codex was told is the usage the ledger holds.
    const usage = run.events.find((e) => e.type === 'turn.completed')!.usage as { input_tokens: number; output_tokens: number };
    expect(rows.reduce((n, r) => n + r.prompt_tokens, 0)).toBe(usage.input_tokens);
    expect(rows.reduce((n, r) => n + r.completion_tokens, 0)).toBe(usage.output_tokens);
  }, 120_000);

  it('keeps a prompt holding a secret on the local tier: the cloud simulator never sees it', async () => {
    const since = lastCharge();
    const cloudBefore = cloud.stats.log.length;
    const run = await codex(workspace(), `deploy with OPENAI_API_KEY=${SECRET} and create the marker file`, 'koubou/gpt5_high');
    expect(run.code, run.stderr).toBe(0);
    expect(run.events.map((e) => e.type)).toContain('turn.completed');
    let rows = gatewayTasks(since);
    for (let i = 0; i < 50 && rows.length < 2; i++) { await new Promise((r) => setTimeout(r, 100)); rows = gatewayTasks(since); }
    expect(rows.length).toBeGreaterThanOrEqual(2);
    for (const row of rows) expect(row.worker_type).toBe('local');
    expect(cloud.stats.log.length).toBe(cloudBefore);
    expect(JSON.stringify(cloud.stats.log.map((r) => r.body ?? null))).not.toContain(SECRET);
    expect(local.stats.log.some((r) => JSON.stringify(r.body ?? null).includes(SECRET))).toBe(true);
  }, 120_000);

  it('turns the conversation local from the request whose tool output brought a secret (the agent read .env)', async () => {
    const since = lastCharge();
    const cloudBefore = cloud.stats.log.length;
    const ws = workspace();
    writeFileSync(join(ws, '.env'), `OPENAI_API_KEY=${SECRET}\n`);
    const read = { exec_command: JSON.stringify({ cmd: 'cat .env' }) };
    cloud.setOptions({ toolCalls: read });
    local.setOptions({ toolCalls: read });
    try {
      const run = await codex(ws, 'check the deploy settings');
      expect(run.code, run.stderr).toBe(0);
      expect(run.events.map((e) => e.type)).toContain('turn.completed');
    } finally {
      const script = { exec_command: JSON.stringify({ cmd: `echo made > ${MADE}` }) };
      cloud.setOptions({ toolCalls: script });
      local.setOptions({ toolCalls: script });
    }
    let rows = gatewayTasks(since);
    for (let i = 0; i < 50 && rows.length < 2; i++) { await new Promise((r) => setTimeout(r, 100)); rows = gatewayTasks(since); }
    // The first request (before the file was read) went to the cloud; the one carrying its output stayed local.
    expect(rows.map((r) => r.worker_type)).toEqual([expect.stringMatching(/^gpt5_/), 'local']);
    expect(cloud.stats.log.length).toBe(cloudBefore + 1);
    expect(JSON.stringify(cloud.stats.log.map((r) => r.body ?? null))).not.toContain(SECRET);
  }, 120_000);
});
