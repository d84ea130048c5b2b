/**
 * `koubou mcp` on real parts: the MCP SDK's own Client over stdio starts the real command, which
 * submits through its front door to a real system (nats-server, ledger, router, workers on
 * `koubou sim`; agent workers running the real Codex CLI for repo subtasks). Every tool; a child
 * carries the session as its parent; the money cap holds against children reserving in parallel;
 * the master is notified when a child ends; a task id of another session is refused.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { spendTrees } from '../src/db/index.ts';
import { startSimServer, type SimServer } from '../src/llm/sim/index.ts';
import { runKoubou } from './support/cli.ts';
import { masterHome, startMaster, type Master } from './support/mcpMaster.ts';
import { startAgentShop, type AgentShop } from './support/agentShop.ts';
import { startSystem, type TestSystem } from './support/system.ts';

const KEY = 'kb-test-mcp';
const TURNS = [{ name: 'exec_command', arguments: JSON.stringify({ cmd: "printf 'export const total = (xs: number[]) => xs.reduce((a, b) => a + b, 0);\\n' > total.ts" }) }];
let sys: TestSystem;
let cloud: SimServer;
let local: SimServer;
let shop: AgentShop;
const masters: Master[] = [];
const dirs: string[] = [];

function repo(): string {
  const dir = mkdtempSync(join(tmpdir(), 'koubou-mcp-repo-'));
  dirs.push(dir);
  const run = (...args: string[]) => spawnSync('git', args, { cwd: dir, encoding: 'utf8' });
  run('init', '-q');
  writeFileSync(join(dir, 'README.md'), '# orders\n');
  run('add', '-A');
  run('-c', 'user.email=t@example.com', '-c', 'user.name=test', 'commit', '-qm', 'base');
  return dir;
}

async function master(args: string[] = []): Promise<Master> {
  const m = await startMaster(sys.nats, args);
  masters.push(m);
  return m;
}

const structured = <T>(r: { structuredContent?: unknown }) => r.structuredContent as T;
const text = (r: { content: unknown }) => (r.content as { type: string; text: string }[]).map((c) => c.text).join('\n');

beforeAll(async () => {
  cloud = await startSimServer({ turns: TURNS });
  local = await startSimServer({ turns: TURNS });
  sys = await startSystem({ workers: [{ tier: 'gpt5_high', sim: cloud }, { tier: 'gpt5_medium', sim: cloud }, { tier: 'local', sim: local }] });
  shop = await startAgentShop(sys, KEY, ['gpt5_medium', 'local']);
}, 60_000);
afterAll(async () => {
  await Promise.allSettled(masters.map((m) => m.close()));
  await shop?.stop();
  await sys?.stop();
  await cloud?.close();
  await local?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('koubou mcp, the MCP SDK client as master', () => {
  it('lists the six tools with their schemas', async () => {
    const m = await master();
    const { tools } = await m.client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(['apply', 'cancel', 'delegate', 'result', 'status', 'wait']);
    const delegate = tools.find((t) => t.name === 'delegate')!;
    expect(Object.keys(delegate.inputSchema.properties ?? {}).sort()).toEqual(['files', 'priority', 'prompt', 'repo', 'test', 'tier', 'type']);
    expect(delegate.inputSchema.required).toEqual(['prompt']);
    expect(Object.keys(delegate.outputSchema?.properties ?? {}).sort()).toEqual(['reasons', 'taskId', 'tier']);
  }, 300_000); // the first `koubou` of a run may compile dist/

  it('delegates, waits, reads the result and the status; the child is the session\'s, and the master is told when it ends', async () => {
    const m = await master(['--session', 'mcp-plain']);
    const d = await m.call('delegate', { prompt: 'write a haiku about queues', tier: 'gpt5_medium' });
    expect(d.isError).toBeFalsy();
    const { taskId, tier, reasons } = structured<{ taskId: string; tier: string; reasons: string[] }>(d);
    expect(taskId).toBe('mcp-plain-1');
    expect(tier).toBe('gpt5_medium');
    expect(reasons.length).toBeGreaterThan(0);
    expect(text(d)).toContain('routed to gpt5_medium');
    const w = await m.call('wait', { taskIds: [taskId], timeoutSeconds: 60 });
    expect(structured<{ ended: { taskId: string; status: string }[]; pending: string[] }>(w)).toMatchObject({ ended: [{ taskId, status: 'completed' }], pending: [] });
    const r = structured<{ status: string; tier: string; text: string; costUsd: number; patch: null }>(await m.call('result', { taskId }));
    expect(r).toMatchObject({ status: 'completed', tier: 'gpt5_medium', patch: null });
    expect(r.text.length).toBeGreaterThan(0);
    expect(r.costUsd).toBeGreaterThan(0);
    expect(m.notes).toContainEqual(expect.objectContaining({ event: 'child_ended', taskId, status: 'completed', tier: 'gpt5_medium' }));
    // The ledger holds the session as a parent task and the child under it.
    let row: { parent_task_id: string | null } | undefined;
    for (let i = 0; i < 50 && !row?.parent_task_id; i++) {
      row = sys.db.prepare('SELECT parent_task_id FROM task_master WHERE task_id = ?').get(taskId) as typeof row;
      if (!row?.parent_task_id) await new Promise((res) => setTimeout(res, 100));
    }
    expect(row?.parent_task_id).toBe('mcp-plain');
    const s = structured<{ session: string; children: { taskId: string; status: string }[]; total: number; month: { limitUsd: number } }>(await m.call('status', {}));
    expect(s).toMatchObject({ session: 'mcp-plain', total: 1, children: [{ taskId, status: 'completed' }] });
    expect(s.month.limitUsd).toBeGreaterThan(0);
  }, 120_000);

  it('rolls the session\'s spend up: koubou costs --tree, and koubou watch --parent follows its children', async () => {
    const home = masterHome(sys.nats);
    const cost = (sys.db.prepare('SELECT COALESCE(SUM(cost_usd), 0) AS usd FROM cost_tracking WHERE task_id = ?').get('mcp-plain-1') as { usd: number }).usd;
    expect(cost).toBeGreaterThan(0);
    const tree = await runKoubou(['costs', '--tree', '--json', '--nats', sys.nats.url], { cwd: home });
    expect(tree.code, tree.stderr).toBe(0);
    const session = (JSON.parse(tree.stdout) as { trees: { taskId: string; totalUsd: number; children: { taskId: string; costUsd: number }[] }[] }).trees.find((t) => t.taskId === 'mcp-plain');
    expect(session?.children).toEqual([expect.objectContaining({ taskId: 'mcp-plain-1', costUsd: cost })]);
    expect(session?.totalUsd).toBeCloseTo(cost, 10);
    const text = await runKoubou(['costs', '--tree', '--nats', sys.nats.url], { cwd: home });
    expect(text.stdout).toMatch(/\n  mcp-plain  in_progress .*\n    mcp-plain-1  completed  gpt5_medium/);
    // Runs until stopped: stopped here after a few seconds, with what it printed by then.
    const watch = await runKoubou(['watch', '--parent', 'mcp-plain', '--json', '--nats', sys.nats.url], { cwd: home, timeoutMs: 6000 });
    const events = watch.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { taskId: string; status: string });
    expect(new Set(events.map((e) => e.taskId))).toEqual(new Set(['mcp-plain-1']));
    expect(events.at(-1)?.status).toBe('completed');
  }, 120_000);

  it('refuses bad arguments naming the field, a parent set by the caller, and a task id of another session', async () => {
    const a = await master(['--session', 'mcp-a']);
    const b = await master(['--session', 'mcp-b']);
    const bad = await a.call('delegate', { prompt: 'x', priority: 11 });
    expect(bad.isError).toBe(true);
    expect(text(bad)).toMatch(/priority/);
    const parent = await a.call('delegate', { prompt: 'x', parentTaskId: 'someone-else' });
    expect(parent.isError).toBe(true);
    expect(text(parent)).toMatch(/parentTaskId/);
    const waitBad = await a.call('wait', { taskIds: [] });
    expect(waitBad.isError).toBe(true);
    expect(text(waitBad)).toMatch(/taskIds/);
    const { taskId } = structured<{ taskId: string }>(await a.call('delegate', { prompt: 'say hello', tier: 'local' }));
    for (const [tool, args] of [['result', { taskId }], ['wait', { taskIds: [taskId] }], ['cancel', { taskId }], ['apply', { taskId }]] as const) {
      const r = await b.call(tool, args);
      expect(r.isError, tool).toBe(true);
      expect(text(r)).toContain(`taskId: ${taskId} is not a subtask of this session (mcp-b)`);
    }
  }, 120_000);

  it('wait with any returns when one child has ended; cancel stops the other', async () => {
    const m = await master(['--session', 'mcp-any']);
    cloud.setOptions({ latencyMs: 120_000 });
    try {
      const slow = structured<{ taskId: string }>(await m.call('delegate', { prompt: 'a long essay', tier: 'gpt5_high' })).taskId;
      const quick = structured<{ taskId: string }>(await m.call('delegate', { prompt: 'say hi', tier: 'local' })).taskId;
      const w = structured<{ ended: { taskId: string }[]; pending: string[]; timedOut: boolean }>(await m.call('wait', { taskIds: [slow, quick], any: true, timeoutSeconds: 60 }));
      expect(w).toMatchObject({ ended: [{ taskId: quick }], pending: [slow], timedOut: false });
      const c = structured<{ cancelled: boolean }>(await m.call('cancel', { taskId: slow }));
      expect(c.cancelled).toBe(true);
      const after = structured<{ ended: { taskId: string; status: string }[] }>(await m.call('wait', { taskIds: [slow], timeoutSeconds: 60 }));
      expect(after.ended).toEqual([expect.objectContaining({ taskId: slow, status: 'cancelled' })]);
      expect(m.notes).toContainEqual(expect.objectContaining({ taskId: slow, status: 'cancelled' }));
    } finally {
      cloud.setOptions({ latencyMs: 0 });
    }
  }, 120_000);

  it('caps children in flight', async () => {
    const m = await master(['--session', 'mcp-flight', '--max-in-flight', '1']);
    cloud.setOptions({ latencyMs: 120_000 });
    try {
      const first = structured<{ taskId: string }>(await m.call('delegate', { prompt: 'a long essay', tier: 'gpt5_high' })).taskId;
      const second = await m.call('delegate', { prompt: 'another', tier: 'local' });
      expect(second.isError).toBe(true);
      expect(text(second)).toContain('children in flight: 1 of 1');
      await m.call('cancel', { taskId: first });
      await m.call('wait', { taskIds: [first], timeoutSeconds: 60 });
      expect((await m.call('delegate', { prompt: 'another', tier: 'local' })).isError).toBeFalsy();
    } finally {
      cloud.setOptions({ latencyMs: 0 });
    }
  }, 120_000);

  it('caps children in all with repo subtasks delegated in parallel, while their trees are still being packed', async () => {
    const m = await master(['--session', 'mcp-packing', '--max-children', '2']);
    const dir = repo();
    const calls = await Promise.all(Array.from({ length: 4 }, () =>
      m.call('delegate', { prompt: 'add a total() helper', repo: dir, test: 'test -f total.ts', tier: 'local' })));
    const accepted = calls.filter((c) => !c.isError).map((c) => structured<{ taskId: string }>(c).taskId);
    expect(accepted).toHaveLength(2);
    for (const c of calls.filter((x) => x.isError)) expect(text(c)).toContain('children in all: 2 of 2');
    for (const taskId of accepted) await m.call('cancel', { taskId });
    const w = structured<{ ended: unknown[] }>(await m.call('wait', { taskIds: accepted, timeoutSeconds: 110 }));
    expect(w.ended).toHaveLength(2);
    expect(structured<{ total: number }>(await m.call('status', {})).total).toBe(2);
  }, 180_000);

  it('never lets parallel children overshoot the session\'s money cap: those past it go to the free local tier', async () => {
    // One child's reservation, as the ledger makes it, from a session without a cap.
    const probe = await master(['--session', 'mcp-probe']);
    const p = structured<{ taskId: string }>(await probe.call('delegate', { prompt: 'summarise the queue design', tier: 'gpt5_medium' })).taskId;
    await probe.call('wait', { taskIds: [p], timeoutSeconds: 60 });
    const one = (sys.db.prepare('SELECT amount_usd FROM budget_reservations WHERE task_id = ?').get(p) as { amount_usd: number }).amount_usd;
    expect(one).toBeGreaterThan(0);
    const cap = one * 2.5;
    const m = await master(['--session', 'mcp-capped', '--max-usd', String(cap), '--max-in-flight', '10']);
    // The paid calls take a while, so every child reserves while the others still hold theirs.
    cloud.setOptions({ latencyMs: 8000 });
    let w: { ended: { taskId: string; status: string; tier: string }[] };
    try {
      const ids = await Promise.all(Array.from({ length: 6 }, async () =>
        structured<{ taskId: string }>(await m.call('delegate', { prompt: 'summarise the queue design', tier: 'gpt5_medium' })).taskId));
      w = structured<typeof w>(await m.call('wait', { taskIds: ids, timeoutSeconds: 90 }));
    } finally {
      cloud.setOptions({ latencyMs: 0 });
    }
    expect(w.ended).toHaveLength(6);
    for (const e of w.ended) expect(e.status).toBe('completed');
    const paid = w.ended.filter((e) => e.tier === 'gpt5_medium');
    expect(paid).toHaveLength(2);
    expect(w.ended.filter((e) => e.tier === 'local')).toHaveLength(4);
    const held = sys.db.prepare(`SELECT COUNT(*) AS n, COALESCE(SUM(CASE status WHEN 'settled' THEN actual_usd WHEN 'active' THEN amount_usd ELSE 0 END), 0) AS usd
      FROM budget_reservations WHERE capped_parent = 'mcp-capped' AND status <> 'released'`).get() as { n: number; usd: number };
    expect(held.n).toBe(2);
    expect(held.usd).toBeLessThanOrEqual(cap);
    const refused = structured<{ reasons: string[] }>(await m.call('result', { taskId: w.ended.find((e) => e.tier === 'local')!.taskId }));
    expect(refused.reasons.join('\n')).toMatch(/parent task mcp-capped's cap/);
    const s = structured<{ spentUsd: number; caps: { usd: number } }>(await m.call('status', {}));
    expect(s.caps.usd).toBe(cap);
    expect(s.spentUsd).toBeLessThanOrEqual(cap);
  }, 180_000);

  it('marks the session ended in the ledger when its client closes or the server is stopped; a child still running runs on', async () => {
    const row = (id: string) => sys.db.prepare('SELECT status, reason, created_at, updated_at FROM task_master WHERE task_id = ?').get(id) as
      { status: string; reason: string; created_at: string; updated_at: string } | undefined;
    const ended = async (id: string, seconds = 10) => {
      for (let i = 0; i < seconds * 10 && row(id)?.status !== 'completed'; i++) await new Promise((res) => setTimeout(res, 100));
      return row(id);
    };
    cloud.setOptions({ latencyMs: 20_000 });
    try {
      const m = await startMaster(sys.nats, ['--session', 'mcp-ends']);
      expect(row('mcp-ends')?.status).toBe('in_progress');
      const { taskId } = structured<{ taskId: string }>(await m.call('delegate', { prompt: 'a long essay', tier: 'gpt5_high' }));
      await m.close();
      const session = await ended('mcp-ends');
      expect(session).toMatchObject({ status: 'completed', reason: expect.stringContaining('its client closed the connection') });
      expect(session!.updated_at >= session!.created_at).toBe(true);
      // The child was not cancelled with its session: it runs on, and ends completed.
      expect(['routing', 'assigned', 'in_progress']).toContain(row(taskId)?.status);
      expect((await ended(taskId, 90))?.status).toBe('completed'); // its paid call takes the sim's 20 s
      // koubou costs --tree reads the same rows: the session no longer shows as running.
      expect(spendTrees(sys.db, 24).find((t) => t.taskId === 'mcp-ends')).toMatchObject({ status: 'completed', children: [expect.objectContaining({ taskId, status: 'completed' })] });

      const stopped = await startMaster(sys.nats, ['--session', 'mcp-stopped']);
      const pid = (stopped.client.transport as StdioClientTransport).pid!;
      process.kill(pid, 'SIGTERM');
      expect(await ended('mcp-stopped')).toMatchObject({ status: 'completed', reason: expect.stringContaining('the server was stopped') });
      await stopped.close();
    } finally {
      cloud.setOptions({ latencyMs: 0 });
    }
  }, 120_000);

  it('delegates a repo subtask to a coding agent and applies its patch to the master\'s tree; a tree that moved is refused with the file named', async () => {
    const m = await master(['--session', 'mcp-repo']);
    const dir = repo();
    const { taskId } = structured<{ taskId: string }>(await m.call('delegate', { prompt: 'add a total() helper', repo: dir, test: 'test -f total.ts', tier: 'local' }));
    const w = structured<{ ended: { status: string }[] }>(await m.call('wait', { taskIds: [taskId], timeoutSeconds: 110 }));
    expect(w.ended).toEqual([expect.objectContaining({ status: 'completed' })]);
    const r = structured<{ diffstat: string; patch: string; test: { passed: boolean } }>(await m.call('result', { taskId }));
    expect(r.diffstat).toContain('total.ts');
    expect(r.patch).toContain('+export const total');
    expect(r.test.passed).toBe(true);
    // The tree moved: the file the patch creates is there already.
    writeFileSync(join(dir, 'total.ts'), 'export const total = 0;\n');
    const refused = await m.call('apply', { taskId });
    expect(refused.isError).toBe(true);
    expect(text(refused)).toMatch(/total\.ts/);
    expect(readFileSync(join(dir, 'total.ts'), 'utf8')).toBe('export const total = 0;\n');
    // On a new branch instead: the working tree is left alone.
    const b = structured<{ branch: string; commit: string }>(await m.call('apply', { taskId, branch: 'koubou/total' }));
    expect(b.branch).toBe('koubou/total');
    expect(spawnSync('git', ['show', 'koubou/total:total.ts'], { cwd: dir, encoding: 'utf8' }).stdout).toContain('export const total = (xs');
    rmSync(join(dir, 'total.ts'));
    const a = structured<{ applied: boolean; files: string[] }>(await m.call('apply', { taskId }));
    expect(a).toMatchObject({ applied: true, files: ['total.ts'] });
    expect(readFileSync(join(dir, 'total.ts'), 'utf8')).toContain('export const total = (xs');
  }, 180_000);
});
