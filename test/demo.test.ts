/**
 * `koubou up --demo` as a person runs it: a separate process that brings up
 * the system on simulated backends, runs a master (the real Codex CLI) that hands
 * three subtasks to the tiers and prints their tree, prints the routing table of its
 * sample tasks, stays up for `koubou submit`, and stops cleanly on SIGTERM.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import Database from 'better-sqlite3';
import { expectCodexMasterTree } from './support/demoTree.ts';
import { runKoubou } from './support/cli.ts';
import { ActorProcess } from './support/processes.ts';

const cwd = mkdtempSync(join(tmpdir(), 'koubou-demo-'));
let demo: ActorProcess;

beforeAll(async () => {
  demo = await new ActorProcess('demo', ['up', '--demo', '--dashboard-port', '0', '--gateway-port', '0'], { KOUBOU_CONFIG: '', NATS_URL: '', OPENAI_API_KEY: '' }, cwd)
    .start(/Ctrl-C stops everything/, 180_000);
}, 210_000);
afterAll(async () => { await demo?.kill9(); });

/** The table's rows by task label: columns are separated by two or more spaces, and no cell is empty. */
function table(): Map<string, { asked: string; tier: string; why: string; fallbacks: string; tokens: string; cost: string; status: string }> {
  const lines = demo.output.split('\n');
  const start = lines.findIndex((l) => /^\s+TASK\s+ASKED\s+TIER\s+WHY\s+FALLBACKS\s+TOKENS\s+COST\s+STATUS$/.test(l));
  expect(start).toBeGreaterThan(-1);
  const rows = new Map();
  for (const line of lines.slice(start + 1)) {
    if (line.trim() === '') break;
    const [label, asked, tier, why, fallbacks, tokens, cost, status] = line.trim().split(/\s{2,}/);
    rows.set(label, { asked, tier, why, fallbacks, tokens, cost, status });
  }
  return rows;
}

describe('koubou up --demo', () => {
  it('says its backends are simulated and where everything is', () => {
    expect(demo.output).toMatch(/every backend is simulated/);
    expect(demo.output).toMatch(/NATS\s+nats:\/\/127\.0\.0\.1:\d+ \(nats-server pid \d+/);
    expect(demo.output).toMatch(/ledger\s+.*\.koubou\/demo\/koubou\.db/);
    expect(demo.output).toMatch(/sims\s+gpt5_high\s+http:\/\/127\.0\.0\.1:\d+ \(OpenAI protocol, 4 requests\/min\)/);
    expect(demo.output).toMatch(/local\s+http:\/\/127\.0\.0\.1:\d+ \(Ollama protocol\)/);
    expect(demo.output).toMatch(/dashboard\s+http:\/\/127\.0\.0\.1:\d+/);
  });

  it('routes each sample where the diagram says, and says why', () => {
    const rows = table();
    expect(rows.get('secret')).toMatchObject({ tier: 'local', why: expect.stringMatching(/^confidential \(credential\): stays local/), status: 'completed' });
    // The secret never reaches the output: only its size and category.
    expect(rows.get('secret')!.asked).toMatch(/^\[confidential: \d+ characters; credential\]$/);
    expect(demo.output).not.toContain('s3cret-Demo');
    expect(rows.get('architecture')).toMatchObject({ tier: 'gpt5_high', why: expect.stringMatching(/^high difficulty/), status: 'completed' });
    expect(rows.get('refactor')).toMatchObject({ tier: 'gpt5_medium', why: expect.stringMatching(/^medium difficulty/), status: 'completed' });
    expect(rows.get('typo')).toMatchObject({ tier: 'local', why: expect.stringMatching(/^low difficulty/), fallbacks: '-', cost: '$0.0000' });
    expect(rows.get('budget medium')).toMatchObject({ tier: 'local', why: expect.stringMatching(/^budget critical and difficulty medium/) });
    expect(rows.get('budget high')).toMatchObject({ tier: 'gpt5_high', why: expect.stringMatching(/keeps its tier though the budget is critical/) });
    expect(Number(rows.get('architecture')!.cost.slice(1))).toBeGreaterThan(0);

    const burst = [...rows].filter(([label]) => label.startsWith('burst '));
    expect(burst).toHaveLength(6);
    expect(burst.every(([, r]) => r.status === 'completed')).toBe(true);
    const fellBack = burst.filter(([, r]) => r.fallbacks !== '-');
    expect(fellBack.length).toBeGreaterThanOrEqual(1);
    for (const [, r] of fellBack) {
      expect(r.fallbacks).toMatch(/^high→/);
      expect(r.why).toMatch(/rate limit|RATE_LIMITED/);
    }
    expect(demo.output).toMatch(/TOTAL\s+12 tasks .* 12 completed, [1-9]\d* fallbacks?, [\d,]+ tokens, \$0\.\d{4} at OpenAI list prices \(simulated: nothing was charged\)/);
    expect(demo.output).toMatch(/LEDGER 12 provider calls recorded/);
  });

  it('runs a master, a real Codex session through koubou mcp, and prints its tree of three subtasks', () => {
    const session = expectCodexMasterTree(demo.output);
    expect(readFileSync(join(cwd, '.koubou/demo/codex-master/config.toml'), 'utf8')).toContain('[mcp_servers.koubou]');
    // Codex applied the escalated fix to its working tree.
    expect(readFileSync(join(cwd, '.koubou/demo/master-repo/add.js'), 'utf8')).toBe('module.exports = (a, b) => a + b;\n');
    // The ledger has the same tree: the session's three children, where the tree says, the fix escalated once.
    expect(existsSync(join(cwd, '.koubou/demo/koubou.db'))).toBe(true);
    const db = new Database(join(cwd, '.koubou/demo/koubou.db'), { readonly: true });
    try {
      const children = db.prepare('SELECT task_id AS id, assigned_worker_type AS tier, status FROM task_master WHERE parent_task_id = ? ORDER BY task_id').all(session);
      expect(children).toEqual([
        { id: `${session}-1`, tier: 'local', status: 'completed' },
        { id: `${session}-2`, tier: 'gpt5_high', status: 'completed' },
        { id: `${session}-3`, tier: 'gpt5_medium', status: 'completed' },
      ]);
      const escalations = db.prepare("SELECT tier FROM routing_audit WHERE task_id = ? AND state = 'Escalate'").all(`${session}-3`);
      expect(escalations).toEqual([{ tier: 'gpt5_medium' }]);
    } finally {
      db.close();
    }
  });

  it('stays up for tasks submitted from another terminal', async () => {
    const r = await runKoubou(['submit', '--wait', '--json', 'fix a typo in CHANGELOG.md'], { cwd, env: { NATS_URL: '' } });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ status: 'completed', tier: 'local', result: { text: expect.stringMatching(/^\[simulated gpt-oss:20b\]/) } });
  }, 60_000);

  it('serves the OpenAI API with the demo key it prints', async () => {
    const m = /gateway\s+(http:\/\/127\.0\.0\.1:\d+\/v1) \(model koubou, key (kb-demo-[0-9a-f]+)\)/.exec(demo.output);
    expect(m).not.toBeNull();
    const client = new OpenAI({ baseURL: m![1], apiKey: m![2]!, maxRetries: 0 });
    const { data, response } = await client.chat.completions.create({ model: 'koubou', messages: [{ role: 'user', content: 'fix the typo in the README' }] }).withResponse();
    expect(data.choices[0]!.message.content).toMatch(/^\[simulated gpt-oss:20b\]/);
    expect(response.headers.get('x-koubou-tier')).toBe('local');
  });

  it('serves the dashboard with the demo tasks and their states', async () => {
    const url = /dashboard\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(demo.output)![1]!;
    const tasks = await (await fetch(`${url}/api/tasks?limit=100`)).json() as { tasks?: { status: string }[] } | { status: string }[];
    const list = Array.isArray(tasks) ? tasks : tasks.tasks ?? [];
    expect(list.filter((t) => t.status === 'completed').length).toBeGreaterThanOrEqual(10);
    const chart = await (await fetch(`${url}/api/statechart`)).json() as { nodes: { id: string }[] };
    expect(chart.nodes.length).toBeGreaterThan(20);
    const page = await fetch(url);
    expect(page.status).toBe(200);
  });

  it('stops everything cleanly on SIGTERM', async () => {
    await demo.stop();
    expect(demo.output).toMatch(/koubou: SIGTERM: stopping workers, router, ledger, simulators, nats-server/);
    expect(demo.output).toMatch(/koubou: stopped\n?$/);
  }, 30_000);
});
