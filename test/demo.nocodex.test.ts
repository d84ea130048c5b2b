/**
 * `koubou up --demo` where OpenAI's Codex CLI is not installed and cannot be: the demo tries the
 * install (npm, here made to fail), says in one line that it failed, and its master is the MCP
 * SDK's scripted client, labeled as such, handing out the secret and the hard subtask (the repo
 * one needs Codex craftsmen, and the tree says so).
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ActorProcess } from './support/processes.ts';

const cwd = mkdtempSync(join(tmpdir(), 'koubou-demo-nocodex-'));
let demo: ActorProcess;

/** A PATH with every command of this one but codex: links to them in one directory. */
function pathWithoutCodex(): string {
  const bin = join(cwd, 'bin');
  mkdirSync(bin);
  const seen = new Set<string>(['codex']);
  for (const dir of (process.env.PATH ?? '').split(':').filter(Boolean)) {
    let names: string[];
    try { names = readdirSync(dir); } catch { continue; }
    for (const name of names.filter((n) => !seen.has(n))) {
      seen.add(name);
      symlinkSync(join(dir, name), join(bin, name));
    }
  }
  return bin;
}

beforeAll(async () => {
  const env = {
    KOUBOU_CONFIG: '', NATS_URL: '', OPENAI_API_KEY: '', PATH: pathWithoutCodex(),
    // npm install -g fails at once: offline, into a prefix that cannot be made.
    npm_config_offline: 'true', npm_config_prefix: '/dev/null/koubou-no-prefix',
  };
  demo = await new ActorProcess('demo', ['up', '--demo', '--dashboard-port', '0', '--gateway-port', '0'], env, cwd).start(/Ctrl-C stops everything/, 180_000);
}, 210_000);
afterAll(async () => {
  await demo?.stop();
  rmSync(cwd, { recursive: true, force: true });
});

describe('koubou up --demo without the Codex CLI', () => {
  it('tries to install it and says in one line that it could not', () => {
    expect(demo.output).toMatch(/koubou: installing @openai\/codex@[\d.]+ with npm install -g \(the demo's master and its repo craftsmen are Codex CLI sessions; about 400 MB\)\.\.\.\n/);
    // npm's own words, in one line.
    expect(demo.output).toMatch(/koubou: installing @openai\/codex@[\d.]+ failed: npm error (?!A complete log)[^\n]+\n(?!\s)/);
    expect(demo.output).toMatch(/koubou: the demo goes on without the Codex CLI \(its install failed\): its master is the MCP SDK's scripted client, without the repo subtask\n/);
  });

  it('runs the SDK\'s client as its master, labeled, with the secret on local and the hard subtask on gpt5_high', () => {
    const head = /^MASTER (demo-master-[a-z0-9]+): a scripted MCP client \(the MCP SDK's\), NOT Codex \(its install failed\)$/m.exec(demo.output);
    expect(head, demo.output).not.toBeNull();
    const session = head![1]!;
    expect(demo.output).toContain('  its tool calls: delegate ×2, wait, result ×2\n');
    expect(demo.output).toMatch(new RegExp(`├─ ${session}-1\\s+secret\\s+tier local\\s+fallbacks -\\s+escalations -\\s+tests -\\s+\\$0\\.0000\\s+completed\\n`));
    expect(demo.output).toMatch(new RegExp(`├─ ${session}-2\\s+hard\\s+tier gpt5_high\\s+fallbacks -\\s+escalations -\\s+tests -\\s+\\$0\\.\\d*[1-9]\\d*\\s+completed\\n`));
    expect(demo.output).toMatch(/└─ trivial: not handed out: a repo subtask's craftsmen are Codex CLI agents, and there is no Codex CLI here\n/);
    expect(demo.output).toMatch(/\n {2}2 subtasks, \$0\.\d{4} with their craftsmen's model calls/);
    // The rest of the demo goes on: the routing table.
    expect(demo.output).toMatch(/TOTAL\s+12 tasks .* 12 completed/);
  });
});
