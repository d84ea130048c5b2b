/**
 * Anthropic's Claude Code (the real `claude` binary, `@anthropic-ai/claude-code`) working
 * through koubou: the README's settings as written, pointed at the gateway's Messages API,
 * which runs every model request of the agent as a task on a worker backed by `koubou sim`.
 * A plain turn; a tool round trip (the simulator asks for Claude Code's `Write` tool, Claude
 * Code writes the file and sends its tool_result, the turn ends); a prompt holding a secret
 * answered by the local tier only, the cloud simulator never seeing it; and the usage Claude
 * Code reports equal to what the ledger charged.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimServer } from '../src/llm/sim/index.ts';
import { startGatewayRig, type GatewayRig } from './support/gatewayRig.ts';
import type { TestSystem } from './support/system.ts';
import { seededText } from './support/util.ts';

const KEY = `kb-test-claude-${seededText(24, 2025)}`;
const SECRET = `sk-proj-${seededText(40, 4242)}`;
let sys: TestSystem;
let cloud: SimServer;
let local: SimServer;
let rig: GatewayRig;
let port: number;
const made: string[] = [];

/** The README's Claude Code settings (settings.json), as written, with only the port changed to this test's gateway. */
function readmeSettings(): Record<string, unknown> {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const block = /<!-- claude-code-settings[^>]*-->\n```json\n([\s\S]*?)```/.exec(readme)?.[1];
  if (!block) throw new Error('README.md has no claude-code-settings block');
  expect(block).toContain('"ANTHROPIC_BASE_URL": "http://127.0.0.1:8788"');
  return JSON.parse(block.replace('127.0.0.1:8788', `127.0.0.1:${port}`)) as Record<string, unknown>;
}

interface ClaudeResult {
  is_error: boolean;
  result: string;
  num_turns: number;
  usage: { input_tokens: number; output_tokens: number; cache_read_input_tokens: number; cache_creation_input_tokens: number };
  modelUsage: Record<string, { inputTokens: number; outputTokens: number; cacheReadInputTokens: number; cacheCreationInputTokens: number }>;
}

/** `claude -p PROMPT --output-format json` in `cwd`, with a home and config dir of its own holding the README's settings. */
function claude(cwd: string, prompt: string, model?: string): Promise<{ code: number | null; result: ClaudeResult | null; stdout: string; stderr: string }> {
  const home = mkdtempSync(join(tmpdir(), 'koubou-claude-home-'));
  made.push(home);
  const config = join(home, '.claude');
  mkdirSync(config);
  writeFileSync(join(config, 'settings.json'), JSON.stringify(readmeSettings(), null, 2));
  return new Promise((resolve, reject) => {
    const args = ['-p', prompt, '--output-format', 'json', '--allowedTools', 'Write', ...(model ? ['--model', model] : [])];
    // Only what a user's shell would hold: the key, a home. The rest comes from the README's settings.
    const env = { PATH: process.env.PATH ?? '', HOME: home, CLAUDE_CONFIG_DIR: config, ANTHROPIC_API_KEY: KEY };
    const child = spawn('claude', args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      let result: ClaudeResult | null = null;
      try { result = JSON.parse(stdout) as ClaudeResult; } catch { /* the test shows stdout */ }
      resolve({ code, result, stdout, stderr });
    });
  });
}

function workspace(): string {
  const dir = mkdtempSync(join(tmpdir(), 'koubou-claude-ws-'));
  made.push(dir);
  writeFileSync(join(dir, 'README.md'), '# orders\n');
  return dir;
}

/** The ledger's charges for gateway tasks after charge number `after`. */
const gatewayTasks = (after: number) => sys.db.prepare(
  `SELECT task_id, worker_type, prompt_tokens, completion_tokens FROM cost_tracking WHERE task_id LIKE 'gw-%' AND tracking_id > ? ORDER BY tracking_id`,
).all(after) as { task_id: string; worker_type: string; prompt_tokens: number; completion_tokens: number }[];
const lastCharge = () => (sys.db.prepare('SELECT COALESCE(MAX(tracking_id), 0) AS n FROM cost_tracking').get() as { n: number }).n;

/** Charges after `since`, once there are `atLeast` of them. */
async function chargesAfter(since: number, atLeast: number) {
  let rows = gatewayTasks(since);
  for (let i = 0; i < 100 && rows.length < atLeast; i++) { await new Promise((r) => setTimeout(r, 100)); rows = gatewayTasks(since); }
  return rows;
}

/** What Claude Code says all its model requests used, by every model it asked. */
function reported(r: ClaudeResult) {
  const models = Object.values(r.modelUsage);
  return {
    prompt: models.reduce((n, m) => n + m.inputTokens + m.cacheReadInputTokens + m.cacheCreationInputTokens, 0),
    output: models.reduce((n, m) => n + m.outputTokens, 0),
  };
}

beforeAll(async () => {
  rig = await startGatewayRig(KEY, { cloud: { models: { openai: ['gpt-5'], ollama: ['gpt-oss:20b'] } }, claude: true });
  ({ sys, cloud, local } = rig);
  port = Number(new URL(rig.url).port);
}, 60_000);
afterAll(async () => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
  await rig?.stop();
});

describe('Claude Code through the gateway', () => {
  it('is installed (scripts/test installs @anthropic-ai/claude-code when it is missing)', () => {
    expect(spawnSync('claude', ['--version'], { encoding: 'utf8' }).stdout).toMatch(/^\d+\.\d+\.\d+ \(Claude Code\)/);
  });

  it('runs a plain turn: every request a charged task, the usage Claude Code reports the usage the ledger holds', async () => {
    const since = lastCharge();
    const run = await claude(workspace(), 'say hello');
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(run.result).toMatchObject({ is_error: false, num_turns: 1 });
    expect(run.result!.result.length).toBeGreaterThan(0);
    const r = reported(run.result!);
    expect(r.output).toBeGreaterThan(0);
    const rows = await chargesAfter(since, 1);
    expect(rows.length).toBeGreaterThanOrEqual(1);
    for (const row of rows) expect(['gpt5_high', 'gpt5_medium']).toContain(row.worker_type);
    expect(rows.reduce((n, row) => n + row.prompt_tokens, 0)).toBe(r.prompt);
    expect(rows.reduce((n, row) => n + row.completion_tokens, 0)).toBe(r.output);
  }, 150_000);

  it('round-trips its Write tool: the simulator asks for it, Claude Code writes the file, sends the tool_result, and the turn ends', async () => {
    const ws = workspace();
    const file = join(ws, 'made-by-claude.txt');
    cloud.setOptions({ toolCalls: { Write: JSON.stringify({ file_path: file, content: 'made through koubou\n' }) } });
    const since = lastCharge();
    try {
      const run = await claude(ws, 'create the marker file');
      expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
      expect(run.result).toMatchObject({ is_error: false, num_turns: 2 });
      expect(readFileSync(file, 'utf8')).toBe('made through koubou\n');
      // The second request carried the tool's result back to the model.
      const answered = cloud.stats.log.filter((l) => JSON.stringify(l.body ?? null).includes('"role":"tool"'));
      expect(answered.length).toBeGreaterThanOrEqual(1);
      const rows = await chargesAfter(since, 2);
      // Two model requests (the call, the answer), each a task the ledger charged on a cloud tier.
      expect(rows).toHaveLength(2);
      for (const row of rows) expect(['gpt5_high', 'gpt5_medium']).toContain(row.worker_type);
      const r = reported(run.result!);
      expect(rows.reduce((n, row) => n + row.prompt_tokens, 0)).toBe(r.prompt);
      expect(rows.reduce((n, row) => n + row.completion_tokens, 0)).toBe(r.output);
    } finally {
      cloud.setOptions({ toolCalls: {} });
    }
  }, 150_000);

  it('pins a tier with --model koubou/<tier>', async () => {
    const since = lastCharge();
    const run = await claude(workspace(), 'say hello', 'koubou/gpt5_medium');
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    const rows = await chargesAfter(since, 1);
    expect(rows.length).toBeGreaterThanOrEqual(1);
    for (const row of rows) expect(row.worker_type).toBe('gpt5_medium');
  }, 150_000);

  it('keeps a prompt holding a secret on the local tier: the cloud simulator never sees it', async () => {
    const since = lastCharge();
    const cloudBefore = cloud.stats.log.length;
    const run = await claude(workspace(), `deploy with OPENAI_API_KEY=${SECRET} and say done`, 'claude-opus-4-1');
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    const rows = await chargesAfter(since, 1);
    expect(rows.length).toBeGreaterThanOrEqual(1);
    for (const row of rows) expect(row.worker_type).toBe('local');
    expect(cloud.stats.log.length).toBe(cloudBefore);
    expect(JSON.stringify(cloud.stats.log.map((l) => l.body ?? null))).not.toContain(SECRET);
    expect(local.stats.log.some((l) => JSON.stringify(l.body ?? null).includes(SECRET))).toBe(true);
  }, 150_000);
});
