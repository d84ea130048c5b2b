/**
 * The real Codex CLI as the master: `codex exec` with README.md's `[mcp_servers.koubou]` block,
 * its own model a `koubou sim` scripted to call `mcp__koubou__delegate` (a repo subtask on the
 * master's working tree), then `mcp__koubou__wait`, then `mcp__koubou__apply`. The subtask runs
 * on a real system, done by an agent worker (Codex again, as a craftsman, on its own sim), and
 * its patch lands in the master's tree.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimServer, type SimServer } from '../src/llm/sim/index.ts';
import { runCodexMaster, writeCodexMasterHome } from '../src/master/codexMaster.ts';
import { KOUBOU } from './support/cli.ts';
import { masterHome } from './support/mcpMaster.ts';
import { startAgentShop, type AgentShop } from './support/agentShop.ts';
import { startSystem, type TestSystem } from './support/system.ts';

const KEY = 'kb-test-mcp-codex';
const SESSION = 'codex-master';
const CRAFT = [{ name: 'exec_command', arguments: JSON.stringify({ cmd: "printf 'export const total = (xs: number[]) => xs.reduce((a, b) => a + b, 0);\\n' > total.ts" }) }];
let sys: TestSystem;
let craftsmen: SimServer;
let masterModel: SimServer;
let shop: AgentShop;
const made: string[] = [];

/** README.md's block as written, with the command run from this checkout and its cwd this test's. */
function readmeMcpConfig(cwd: string, natsUrl: string): string {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const block = /<!-- codex-mcp-config[^>]*-->\n```toml\n([\s\S]*?)```/.exec(readme)?.[1];
  if (!block) throw new Error('README.md has no codex-mcp-config block');
  expect(block).toContain('[mcp_servers.koubou]');
  return block
    .replace('command = "koubou"', `command = ${JSON.stringify(process.execPath)}`)
    .replace('args = ["mcp",', `args = [${JSON.stringify(KOUBOU)}, "mcp", "--nats", ${JSON.stringify(natsUrl)}, "--session", "${SESSION}",`)
    .replace('cwd = "/path/where/koubou/up/runs"', `cwd = ${JSON.stringify(cwd)}`);
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

describe('the real Codex CLI as master, through koubou mcp', () => {
  it('delegates a repo subtask, waits for it, applies its patch: the change lands in the master\'s tree', async () => {
    // Outside /tmp: codex makes its helper binaries only in a CODEX_HOME that is not a temp dir.
    const codexHome = mkdtempSync(join(homedir(), '.koubou-codex-master-'));
    made.push(codexHome);
    writeCodexMasterHome(codexHome, readmeMcpConfig(masterHome(sys.nats), sys.nats.url), { baseUrl: `${masterModel.url}/v1`, keyVar: 'MASTER_SIM_KEY' });
    const run = await runCodexMaster({ home: codexHome, cwd: work, prompt: 'add a total() helper; hand it to koubou', env: { MASTER_SIM_KEY: 'sim' }, timeoutMs: 150_000 });
    expect(run.code, run.stderr).toBe(0);
    expect(run.calls.map((c) => `${c.server}.${c.tool}:${c.status}`)).toEqual(['koubou.delegate:completed', 'koubou.wait:completed', 'koubou.apply:completed']);
    expect(readFileSync(join(work, 'total.ts'), 'utf8')).toContain('export const total = (xs');
    const row = sys.db.prepare('SELECT parent_task_id, status FROM task_master WHERE task_id = ?').get(`${SESSION}-1`) as { parent_task_id: string; status: string };
    expect(row).toEqual({ parent_task_id: SESSION, status: 'completed' });
  }, 240_000);
});
