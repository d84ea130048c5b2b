/**
 * The dashboard groups a session's tasks, shows a parent's tree and the ledger's pass rates:
 * real gateway requests through the `openai` SDK (two sessions, an agent's model requests naming
 * their agent task), a real nats-server with the repo's conf, the router, workers and the SQLite
 * ledger; the dashboard's figures from the ledger over NATS and from its SQLite file.
 */
import OpenAI from 'openai';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Dashboard, type TaskGroup, type TaskTreeView } from '../actors/dashboard/index.ts';
import { Gateway, keyDigest } from '../actors/gateway/index.ts';
import { parentToken } from '../src/bus/index.ts';
import { getTask, passRates, recordTestOutcome, spendTrees, type TaskTreeNode } from '../src/db/index.ts';
import { startMaster, type Master } from './support/mcpMaster.ts';
import { startSystem, uniqueId, type TestSystem } from './support/system.ts';
import { until } from './support/util.ts';

const KEY = 'kb-test-dashboard-groups';
let sys: TestSystem;
let gateway: Gateway;
let gatewayNc: NatsConnection;
const dashboards: Dashboard[] = [];
const urls: Record<'nats' | 'sqlite', string> = { nats: '', sqlite: '' };
/** The session header the client sent: it must never reach the dashboard. */
const THREAD = uniqueId('thread-of-a-user');
/** A medium ask: a paid tier, so the session's cost is more than nothing. */
const FIRST_ASK = 'refactor this module to use dependency injection';
const turns: string[] = [];
let other = '';
let parent = '';
const children: string[] = [];
/** A `koubou mcp` master's session and the subtasks it delegated. */
let master: Master | undefined;
let masterSession = '';
const subtasks: string[] = [];

const json = async <T = any>(url: string): Promise<{ status: number; text: string; body: T }> => {
  const r = await fetch(url);
  const text = await r.text();
  return { status: r.status, text, body: JSON.parse(text) as T };
};

beforeAll(async () => {
  sys = await startSystem();
  gatewayNc = await sys.nats.connect('gateway');
  gateway = new Gateway({ nc: gatewayNc, doorKey: sys.nats.env.KOUBOU_DOOR_KEY!, keyDigests: [keyDigest(KEY)], port: 0 });
  const client = new OpenAI({ apiKey: KEY, baseURL: `${(await gateway.start()).url}/v1`, maxRetries: 0 });
  const ask = async (messages: OpenAI.ChatCompletionMessageParam[], headers: Record<string, string>) =>
    (await client.chat.completions.create({ model: 'koubou', messages }, { headers }).withResponse()).response.headers.get('x-koubou-task-id')!;

  // One session, two turns: the client names it by its header.
  const session = { 'x-koubou-session': THREAD };
  turns.push(await ask([{ role: 'user', content: FIRST_ASK }], session));
  turns.push(await ask([{ role: 'user', content: FIRST_ASK }, { role: 'assistant', content: 'Done.' }, { role: 'user', content: 'now the orders module too' }], session));
  other = await ask([{ role: 'user', content: 'rename the helper in src/util.ts' }], { 'x-koubou-session': uniqueId('another-thread') });

  // An agent task and its model requests: they name it, with the token the router hands its agent.
  parent = uniqueId('agent-task');
  await sys.submit({ taskId: parent, prompt: 'add a total() helper to the cart' });
  await sys.finalEvent(parent);
  const agent = { 'x-koubou-parent-task': parent, 'x-koubou-parent-token': parentToken(sys.nats.env.KOUBOU_DOOR_KEY!, parent) };
  for (const step of ['read src/cart.ts', 'write the helper and its test']) children.push(await ask([{ role: 'user', content: step }], agent));

  // A real `koubou mcp` (the SDK's client over stdio) delegates two subtasks: they name its session as their parent.
  master = await startMaster(sys.nats);
  for (const [prompt, tier] of [['write a haiku about queues', 'gpt5_medium'], ['say hello', 'local']] as const) {
    subtasks.push((((await master.call('delegate', { prompt, tier })).structuredContent) as { taskId: string }).taskId);
  }
  await master.call('wait', { taskIds: subtasks, timeoutSeconds: 60 });
  // A subtask's id is its session's and a number (actors/mcp/MasterSession); the ledger's parent link is checked below.
  masterSession = subtasks[0]!.replace(/-\d+$/, '');

  const all = [...turns, other, parent, ...children, ...subtasks];
  for (const id of all) await sys.finalEvent(id);
  await until(() => all.every((id) => getTask(sys.db, id)?.status === 'completed' && getTask(sys.db, id)?.actualCost !== null), 15_000);
  await until(() => getTask(sys.db, children[1]!)?.parentTaskId === parent && subtasks.every((id) => getTask(sys.db, id)?.parentTaskId === masterSession), 15_000);
  // Verified attempts as the ledger's event writer records them from Verify events (an agent run with a test command).
  for (const [i, passed] of [false, true, true].entries()) recordTestOutcome(sys.db, { taskId: uniqueId('verified'), attempt: 1, tier: i ? 'gpt5_medium' : 'local', taskType: 'code_generation', passed });

  const nats = new Dashboard({ nc: await sys.nats.connect('dashboard'), port: 0 });
  const sqlite = new Dashboard({ nc: await sys.nats.connect('dashboard'), port: 0, dbPath: sys.dbPath, budget: { monthlyLimitUsd: 100, alertThresholdPercent: 80 } });
  dashboards.push(nats, sqlite);
  urls.nats = (await nats.start()).url;
  urls.sqlite = (await sqlite.start()).url;
}, 120_000);

afterAll(async () => {
  for (const d of dashboards) await d.stop();
  await master?.close();
  await gateway?.stop();
  await gatewayNc?.close();
  await sys?.stop();
});

const ledgerCost = (ids: string[]) => ids.reduce((n, id) => n + getTask(sys.db, id)!.actualCost!, 0);
function find(nodes: TaskTreeNode[], id: string): TaskTreeNode | undefined {
  for (const n of nodes) { if (n.taskId === id) return n; const inner = find(n.children, id); if (inner) return inner; }
  return undefined;
}

describe.each(['nats', 'sqlite'] as const)('dashboard with figures from %s', (source) => {
  it('GET /api/sessions: a session\'s turns in one group, with its ask, tier, count and cost, named by an opaque id', async () => {
    const { text, body: groups } = await json<TaskGroup[]>(`${urls[source]}api/sessions`);
    const mine = groups.find((g) => g.taskIds.includes(turns[0]!))!;
    const firstEvents = await sys.events(turns[0]!);
    const lastTier = (await sys.finalEvent(turns[1]!)).tier;
    expect(mine).toMatchObject({ kind: 'session', taskCount: 2, taskIds: turns, ask: firstEvents.at(-1)!.promptSummary, tier: lastTier });
    expect(mine.ask).toContain('dependency injection');
    expect(mine.tier).not.toBe('local');
    expect(mine.costUsd).toBeGreaterThan(0);
    expect(mine.costUsd).toBeCloseTo(ledgerCost(turns), 12);
    expect(mine.id).toMatch(/^s-[0-9a-f]{24}$/);
    expect(mine.group).toBe(`session:${mine.id}`);
    // The other session is a group of its own; the client's session name never reaches the dashboard.
    expect(groups.find((g) => g.taskIds.includes(other))).toMatchObject({ kind: 'session', taskCount: 1 });
    expect(groups.find((g) => g.taskIds.includes(other))!.id).not.toBe(mine.id);
    expect(text).not.toContain(THREAD);
    // The task list names each task's group, and filters by it.
    const { body: listed } = await json<{ taskId: string; group: string; session: string }[]>(`${urls[source]}api/tasks?group=${encodeURIComponent(mine.group)}`);
    expect(listed.map((t) => t.taskId).sort()).toEqual([...turns].sort());
    expect(listed.every((t) => t.session === mine.id)).toBe(true);
  });

  it('GET /api/tasks/:id: a parent task shows the ledger\'s tree of its children, spend rolled up as koubou costs --tree does', async () => {
    const { body } = await json<{ tree: TaskTreeView }>(`${urls[source]}api/tasks/${parent}`);
    const ledger = find(spendTrees(sys.db, 24 * 7), parent)!;
    expect(body.tree).toMatchObject({ taskId: parent, status: 'completed', totalUsd: ledger.totalUsd, costUsd: ledger.costUsd });
    expect(body.tree.totalUsd).toBeCloseTo(ledgerCost([parent, ...children]), 12);
    expect(body.tree.children.map((c) => c.taskId).sort()).toEqual([...children].sort());
    for (const c of body.tree.children) {
      const row = getTask(sys.db, c.taskId)!;
      expect(c).toMatchObject({ status: row.status, tier: row.tier, escalations: [], tests: null, children: [] });
      expect(c.promptSummary).toBe((await sys.finalEvent(c.taskId)).promptSummary);
    }
    // A task with no children heads no tree; every tree is listed.
    expect((await json(`${urls[source]}api/tasks/${other}`)).body.tree).toBeNull();
    const { body: trees } = await json<TaskTreeView[]>(`${urls[source]}api/trees`);
    expect(trees.find((t) => t.taskId === parent)?.children).toHaveLength(2);
  });

  it('groups a koubou mcp master\'s subtasks under its session, and shows its tree with the ledger\'s total', async () => {
    const { body: groups } = await json<TaskGroup[]>(`${urls[source]}api/sessions`);
    // The master's session is no task with events of its own: the group has its children and no ask.
    expect(groups.find((g) => g.group === `parent:${masterSession}`)).toMatchObject({ kind: 'parent', id: masterSession, ask: null, taskCount: 2, taskIds: subtasks });
    const { body } = await json<{ summary: unknown; tree: TaskTreeView }>(`${urls[source]}api/tasks/${masterSession}`);
    const ledger = find(spendTrees(sys.db, 24 * 7), masterSession)!;
    expect(body.tree).toMatchObject({ taskId: masterSession, totalUsd: ledger.totalUsd, promptSummary: null });
    expect(body.tree.totalUsd).toBeGreaterThan(0);
    expect(body.tree.children.map((c) => [c.taskId, c.tier, c.status])).toEqual(subtasks.map((id) => [id, getTask(sys.db, id)!.tier, 'completed']));
  });

  it('GET /api/status: the ledger\'s pass rates per tier and task type, as koubou status shows them', async () => {
    const { body } = await json<{ passRates: unknown }>(`${urls[source]}api/status`);
    expect(body.passRates).toEqual(passRates(sys.db));
    expect(body.passRates).toEqual([
      { tier: 'gpt5_medium', taskType: 'code_generation', runs: 2, passed: 2 },
      { tier: 'local', taskType: 'code_generation', runs: 1, passed: 0 },
    ]);
  });
});
