/**
 * Codex CLI, opencode and Qwen Code, the real binaries, each configured as README.md says and
 * pointed at a real gateway, router, ledger and workers on a real nats-server (the workers backed
 * by `koubou sim`): a trivial, a medium and a hard ask each land on local, gpt5_medium and
 * gpt5_high, whatever the client's system prompt says, and each client's side requests (opencode's
 * session title) on local. scripts/test installs the three clients (pinned in scripts/ensure-deps.sh).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGatewayRig, type GatewayRig } from './support/gatewayRig.ts';
import type { TestSystem } from './support/system.ts';

const KEY = 'kb-test-clients';
let sys: TestSystem;
let rig: GatewayRig;
let base: string;
const made: string[] = [];
const ASKS = {
  trivial: ['fix a typo in README.md', 'local'],
  medium: ['Add a /health endpoint to the orders API that returns the service version and the database status, with a unit test.', 'gpt5_medium'],
  hard: ['Design a lock-free concurrent queue for the order dispatcher and explain how it avoids the ABA problem under parallel producers.', 'gpt5_high'],
} as const;

function run(cmd: string, args: string[], cwd: string, env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    // PWD too: opencode finds its project (and opencode.json) by it, not by the process's directory.
    const child = spawn(cmd, args, { cwd, env: { ...process.env, PWD: cwd, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, out }); });
  });
}

function scratch(prefix: string): string {
  // Outside /tmp: codex makes its helper binaries only in a CODEX_HOME that is not a temp dir.
  const dir = mkdtempSync(join(homedir(), prefix));
  made.push(dir);
  return dir;
}

function repo(): string {
  const dir = scratch('.koubou-clients-ws-');
  writeFileSync(join(dir, 'README.md'), '# orders\nTeh orders service.\n');
  return dir;
}

/** A fenced block of README.md, found by the line that opens it. */
function readmeBlock(opening: RegExp): string {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const at = readme.search(opening);
  const block = /```\w*\n([\s\S]*?)```/.exec(readme.slice(at))?.[1];
  if (at < 0 || !block) throw new Error(`README.md has no block after ${opening}`);
  return block;
}

const CLIENTS: Record<string, (ask: string) => Promise<{ code: number | null; out: string }>> = {
  codex: (ask) => {
    const home = scratch('.koubou-clients-codex-');
    writeFileSync(join(home, 'config.toml'), readmeBlock(/<!-- codex-config/).replace('http://127.0.0.1:8788/v1', base));
    return run('codex', ['exec', '--skip-git-repo-check', '--ephemeral', '--sandbox', 'read-only', ask], repo(), { CODEX_HOME: home, KOUBOU_API_KEY: KEY });
  },
  opencode: (ask) => {
    const ws = repo();
    writeFileSync(join(ws, 'opencode.json'), readmeBlock(/### opencode/).replace('http://127.0.0.1:8788/v1', base));
    const xdg = scratch('.koubou-clients-opencode-');
    for (const d of ['data', 'config', 'cache', 'state']) mkdirSync(join(xdg, d));
    return run('opencode', ['run', ask], ws, {
      KOUBOU_API_KEY: KEY, XDG_DATA_HOME: join(xdg, 'data'), XDG_CONFIG_HOME: join(xdg, 'config'), XDG_CACHE_HOME: join(xdg, 'cache'), XDG_STATE_HOME: join(xdg, 'state'),
    });
  },
  'qwen-code': (ask) => {
    const line = readmeBlock(/### Qwen Code/).split('\n')[0]!;
    const args = line.replace('"$KOUBOU_API_KEY"', KEY).replace('http://127.0.0.1:8788/v1', base).split(' ').slice(1);
    const ask0 = args.findIndex((a) => a.startsWith('"'));
    return run('qwen', [...args.slice(0, ask0), '--approval-mode', 'yolo', ask], repo(), { HOME: scratch('.koubou-clients-qwen-') });
  },
};

const lastCharge = () => (sys.db.prepare('SELECT COALESCE(MAX(tracking_id), 0) AS n FROM cost_tracking').get() as { n: number }).n;
const tiersSince = (after: number) => (sys.db.prepare(
  `SELECT worker_type FROM cost_tracking WHERE task_id LIKE 'gw-%' AND tracking_id > ? ORDER BY tracking_id`,
).all(after) as { worker_type: string }[]).map((r) => r.worker_type);

beforeAll(async () => {
  rig = await startGatewayRig(KEY, { cloud: { models: { openai: ['gpt-5'], ollama: ['gpt-oss:20b'] } } });
  sys = rig.sys;
  base = `${rig.url}/v1`;
}, 60_000);
afterAll(async () => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
  await rig?.stop();
});

describe('the clients', () => {
  it('are the releases scripts/ensure-deps.sh pins (the ones data/clients was captured from)', () => {
    const pins = readFileSync(new URL('../scripts/ensure-deps.sh', import.meta.url), 'utf8');
    const pinned = (name: string) => new RegExp(`^${name}=\\S+@(\\S+)$`, 'm').exec(pins)?.[1];
    expect(spawnSync('codex', ['--version'], { encoding: 'utf8' }).stdout.trim()).toBe(`codex-cli ${pinned('KOUBOU_CODEX_PACKAGE')}`);
    expect(spawnSync('opencode', ['--version'], { encoding: 'utf8' }).stdout.trim()).toBe(pinned('KOUBOU_OPENCODE_PACKAGE'));
    expect(spawnSync('qwen', ['--version'], { encoding: 'utf8' }).stdout.trim()).toBe(pinned('KOUBOU_QWEN_CODE_PACKAGE'));
  });
});

describe.each(Object.keys(CLIENTS))('%s through the gateway, configured as README.md says', (client) => {
  it.each(Object.keys(ASKS) as (keyof typeof ASKS)[])('the %s ask lands on its tier; side requests on local', async (name) => {
    const [ask, tier] = ASKS[name];
    const since = lastCharge();
    const r = await CLIENTS[client]!(ask);
    expect(r.code, r.out.slice(-2000)).toBe(0);
    let tiers = tiersSince(since);
    for (let i = 0; i < 50 && tiers.length === 0; i++) { await new Promise((res) => setTimeout(res, 100)); tiers = tiersSince(since); }
    expect(tiers.length).toBeGreaterThan(0);
    // The main turn on the ask's tier; anything else (a title request) on local, never higher.
    expect(tiers, r.out.slice(-500)).toContain(tier);
    for (const t of tiers) expect([tier, 'local']).toContain(t);
  }, 150_000);
});
