/**
 * The README's first command on a fresh clone: `git clone` into a temporary folder,
 * `./koubou up --demo` there (which installs the npm packages with `npm ci`, compiles
 * dist/ and starts everything), the tree of its master (a real Codex session) and the routing table
 * with every sample completed.
 * Nothing comes from this checkout but its committed history: node_modules is installed
 * by the clone's own `npm ci` (from the machine's npm cache), never linked.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { expectCodexMasterTree } from './support/demoTree.ts';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'koubou-fresh-'));
const clone = join(dir, 'koubou');

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `./koubou up --demo` in the clone until its table is printed, then stops it with SIGTERM. */
function runDemo(timeoutMs: number): Promise<{ output: string; code: number | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn('./koubou', ['up', '--demo', '--dashboard-port', '0', '--gateway-port', '0'], {
      cwd: clone,
      env: { ...process.env, KOUBOU_CONFIG: '', NATS_URL: '', OPENAI_API_KEY: '', npm_config_prefer_offline: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let output = '';
    let stopping = false;
    const timer = setTimeout(() => { process.kill(-child.pid!, 'SIGKILL'); reject(new Error(`no demo table within ${timeoutMs} ms:\n${output}`)); }, timeoutMs);
    const onData = (d: Buffer) => {
      output += d.toString();
      if (!stopping && /Ctrl-C stops everything/.test(output)) {
        stopping = true;
        child.kill('SIGTERM');
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', reject);
    child.on('close', (code) => { clearTimeout(timer); resolve({ output, code }); });
  });
}

describe('a fresh clone', () => {
  it('./koubou up --demo installs what it needs, prints its master\'s tree and the routing table, and completes every sample', async () => {
    execFileSync('git', ['clone', '--quiet', REPO, clone]);
    const { output, code } = await runDemo(600_000);
    expect(output).toMatch(/koubou: installing the npm packages \(npm ci/);
    expect(output).toMatch(/koubou: npm packages installed in \d+ s/);
    expect(output).not.toMatch(/npm (error|ERR!)/);
    expectCodexMasterTree(output);
    const lines = output.split('\n');
    const header = lines.findIndex((l) => /^\s+TASK\s+ASKED\s+TIER\s+WHY\s+FALLBACKS\s+TOKENS\s+COST\s+STATUS$/.test(l));
    expect(header).toBeGreaterThan(-1);
    const rows = lines.slice(header + 1, lines.indexOf('', header + 1));
    expect(rows.length).toBeGreaterThanOrEqual(8);
    for (const row of rows) expect(row.trim().split(/\s{2,}/).at(-1)).toBe('completed');
    expect(code).toBe(0);
  }, 660_000);
});
