/**
 * Real Qwen Code as the master: `qwen` headless with README.md's Qwen Code block in its
 * `~/.qwen/settings.json`, its own model a `koubou sim` (Chat Completions) scripted to call
 * `mcp__koubou__delegate` (a repo subtask on the master's working tree), then
 * `mcp__koubou__wait`, then `mcp__koubou__apply`. The subtask runs on a real system, done by an
 * agent worker (Codex as the craftsman, on its own sim), and its patch lands in the master's tree.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimServer, type SimServer } from '../src/llm/sim/index.ts';
import { KOUBOU } from './support/cli.ts';
import { masterHome } from './support/mcpMaster.ts';
import { startAgentShop, type AgentShop } from './support/agentShop.ts';
import { startSystem, type TestSystem } from './support/system.ts';

const KEY = 'kb-test-mcp-qwen';
const SESSION = 'qwen-master';
const CRAFT = [{ name: 'exec_command', arguments: JSON.stringify({ cmd: "printf 'export const total = (xs: number[]) => xs.reduce((a, b) => a + b, 0);\\n' > total.ts" }) }];
let sys: TestSystem;
let craftsmen: SimServer;
let masterModel: SimServer;
let shop: AgentShop;
const made: string[] = [];

/** README.md's Qwen Code block as written, with the command run from this checkout and its cwd this test's. */
function readmeQwenSettings(cwd: string, natsUrl: string): Record<string, unknown> {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const block = /<!-- qwen-mcp-config[^>]*-->\n```json\n([\s\S]*?)```/.exec(readme)?.[1];
  if (!block) throw new Error('README.md has no qwen-mcp-config block');
  const settings = JSON.parse(block) as { mcpServers: Record<string, { command: string; args: string[]; cwd: string }> };
  const server = settings.mcpServers.koubou;
  if (!server) throw new Error('README.md\'s Qwen Code block names no koubou server');
  expect(server).toMatchObject({ command: 'koubou', cwd: '/path/where/koubou/up/runs' });
  expect(server.args[0]).toBe('mcp');
  server.command = process.execPath;
  server.args = [KOUBOU, 'mcp', '--nats', natsUrl, '--session', SESSION, ...server.args.slice(1)];
  server.cwd = cwd;
  // The scripted model calls the tools by name at once, so they are offered up front rather than
  // found through Qwen's tool_search, as a real model would.
  return { ...settings, tools: { toolSearch: { enabled: false } } };
}

function repo(): string {
  const dir = mkdtempSync(join(tmpdir(), 'koubou-master-repo-'));
  made.push(dir);
  const run = (...args: string[]) => spawnSync('git', args, { cwd: dir, encoding: 'utf8' });
  run('init', '-q');
  writeFileSync(join(dir, 'README.md'), '# orders\n');
  run('add', '-A');
  run('-c', 'user.email=t@example.com', '-c', 'user.name=test', 'commit', '-qm', 'base');
  return dir;
}

/** `qwen` headless (one prompt, JSON out), its model the scripted sim through Chat Completions. */
function qwen(home: string, cwd: string, modelUrl: string, prompt: string): Promise<{ code: number | null; out: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const args = ['--auth-type', 'openai', '--openai-base-url', `${modelUrl}/v1`, '--openai-api-key', 'sim', '-m', 'openai/gpt-oss-20b',
      '--output-format', 'json', '--max-session-turns', '10', prompt];
    const child = spawn('qwen', args, { cwd, env: { ...process.env, HOME: home, QWEN_CODE_DISABLE_TELEMETRY: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let stderr = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), 150_000);
    child.on('error', reject);
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, out, stderr }); });
  });
}

let work: string;

beforeAll(async () => {
  craftsmen = await startSimServer({ turns: CRAFT });
  sys = await startSystem({ workers: [{ tier: 'gpt5_high', sim: craftsmen }, { tier: 'gpt5_medium', sim: craftsmen }, { tier: 'local', sim: craftsmen }] });
  shop = await startAgentShop(sys, KEY, ['gpt5_medium', 'local']);
  work = repo();
  const child = `${SESSION}-1`;
  // The master's model: delegate the subtask on the master's tree, wait for it, apply its patch; then answer.
  masterModel = await startSimServer({
    turns: [
      { name: 'mcp__koubou__delegate', arguments: JSON.stringify({ prompt: 'add a total() helper in total.ts', repo: work, test: 'test -f total.ts', tier: 'local' }) },
      { name: 'mcp__koubou__wait', arguments: JSON.stringify({ taskIds: [child], timeoutSeconds: 120 }) },
      { name: 'mcp__koubou__apply', arguments: JSON.stringify({ taskId: child }) },
    ],
  });
}, 60_000);
afterAll(async () => {
  await shop?.stop();
  await sys?.stop();
  await craftsmen?.close();
  await masterModel?.close();
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

describe('real Qwen Code as master, through koubou mcp', () => {
  it('delegates a repo subtask, waits for it, applies its patch: the change lands in the master\'s tree', async () => {
    const home = mkdtempSync(join(tmpdir(), 'koubou-qwen-home-'));
    made.push(home);
    mkdirSync(join(home, '.qwen'));
    writeFileSync(join(home, '.qwen', 'settings.json'), JSON.stringify(readmeQwenSettings(masterHome(sys.nats), sys.nats.url), null, 2));
    const run = await qwen(home, work, masterModel.url, 'add a total() helper; hand it to koubou');
    expect(run.code, `${run.stderr}\n${run.out}`).toBe(0);
    const said = JSON.parse(run.out) as { type: string; message?: { content?: { type: string; name?: string }[] } }[];
    const calls = said.flatMap((m) => (m.type === 'assistant' ? m.message?.content ?? [] : [])).filter((c) => c.type === 'tool_use').map((c) => c.name);
    expect(calls).toEqual(['mcp__koubou__delegate', 'mcp__koubou__wait', 'mcp__koubou__apply']);
    expect(said.at(-1)).toMatchObject({ type: 'result', is_error: false });
    expect(readFileSync(join(work, 'total.ts'), 'utf8')).toContain('export const total = (xs');
    const row = sys.db.prepare('SELECT parent_task_id, status FROM task_master WHERE task_id = ?').get(`${SESSION}-1`) as { parent_task_id: string; status: string };
    expect(row).toEqual({ parent_task_id: SESSION, status: 'completed' });
  }, 240_000);
});
