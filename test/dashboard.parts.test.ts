/**
 * The parts of the dashboard that need no server: the statechart computed from the task machine,
 * the inspector's state values, the Prometheus text, and the index built from task events.
 */
import type { AnyStateNode } from 'xstate';
import { describe, expect, it } from 'vitest';
import { feedOfSignal, stateValueOf, TaskIndex, treeOf } from '../actors/dashboard/index.ts';
import type { StatusReply } from '../actors/ledger/index.ts';
import { taskMachine } from '../machines/task.machine.ts';
import type { TaskEventMessage } from '../src/bus/index.ts';
import { prometheusText } from '../src/dashboard/prometheus.ts';
import { statechartOf, type ChartNode } from '../src/dashboard/statechart.ts';

const chart = statechartOf(taskMachine);
const byId = new Map(chart.nodes.map((n) => [n.id, n]));

/** Walked here, independently of the dashboard's code. */
function walk(node: AnyStateNode = taskMachine.root): AnyStateNode[] {
  return (Object.values(node.states) as AnyStateNode[]).flatMap((c) => [c, ...walk(c)]);
}
const id = (n: AnyStateNode) => n.path.join('.');
const inside = (a: ChartNode, b: ChartNode) => a.x >= b.x && a.y >= b.y && a.x + a.width <= b.x + b.width && a.y + a.height <= b.y + b.height;
const overlap = (a: ChartNode, b: ChartNode) => a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;

describe('statechart from the task machine', () => {
  it('has one node per state of the machine, named by its path, nested as in the machine', () => {
    const states = walk();
    expect(chart.nodes.map((n) => n.id).sort()).toEqual(states.map(id).sort());
    for (const s of states) {
      const n = byId.get(id(s))!;
      expect(n.label).toBe(s.key);
      expect(n.type).toBe(s.type);
      expect(n.parent).toBe(s.path.length > 1 ? s.path.slice(0, -1).join('.') : null);
    }
  });

  it('has an edge for every transition of every state, and the machine-wide CANCEL', () => {
    const edges = new Set(chart.edges.map((e) => `${e.source}->${e.target}`));
    for (const s of walk()) {
      for (const t of [...[...s.transitions.values()].flat(), ...(s.always ?? [])]) {
        for (const target of t.target ?? []) expect(edges).toContain(`${id(s)}->${id(target)}`);
      }
    }
    expect(chart.edges.find((e) => e.kind === 'global')).toMatchObject({ source: null, target: 'Cancelled', label: expect.stringContaining('CANCEL') });
    expect(chart.edges.filter((e) => e.kind === 'initial').map((e) => e.target).sort())
      .toEqual(['Assigned.Dispatching', 'Escalate.CheckBudget', 'QueueOrFallback1.Decide', 'QueueOrFallback2.Decide', 'ReceiveTask']);
    for (const e of chart.edges) expect(e.path).toMatch(/^M [\d.-]+ [\d.-]+ C /);
  });

  it('puts children inside their parent, siblings apart, everything inside the drawing', () => {
    for (const n of chart.nodes) {
      if (n.parent) expect(inside(n, byId.get(n.parent)!), `${n.id} inside ${n.parent}`).toBe(true);
      for (const m of chart.nodes) if (m !== n && m.parent === n.parent) expect(overlap(n, m), `${n.id} / ${m.id}`).toBe(false);
      expect(n.x).toBeGreaterThanOrEqual(0);
      expect(n.y).toBeGreaterThanOrEqual(0);
      expect(n.x + n.width).toBeLessThanOrEqual(chart.width);
      expect(n.y + n.height).toBeLessThanOrEqual(chart.height);
    }
  });

  it('layers by BFS from the initial state, final states last, top to bottom', () => {
    const top = chart.nodes.filter((n) => !n.parent);
    expect(chart.initial).toBe('ReceiveTask');
    expect(byId.get('ReceiveTask')!.layer).toBe(0);
    expect(byId.get('AnalyzeSensitivity')!.layer).toBe(1);
    const last = Math.max(...top.map((n) => n.layer));
    for (const n of top) expect(n.layer === last).toBe(n.type === 'final');
    // BFS: a state is at most one layer below any state that leads to it.
    const topOf = (nodeId: string) => nodeId.split('.')[0]!;
    for (const e of chart.edges.filter((x) => x.kind === 'transition')) {
      const [from, to] = [byId.get(topOf(e.source!))!, byId.get(topOf(e.target))!];
      if (from !== to && to.type !== 'final') expect(to.layer, `${e.id}`).toBeLessThanOrEqual(from.layer + 1);
    }
    for (const a of top) for (const b of top) if (a.layer < b.layer) expect(a.y).toBeLessThan(b.y);
  });
});

describe('inspector state values', () => {
  it('resolves event state names through the machine', () => {
    expect(stateValueOf('QueueOrFallback1.Waiting')).toEqual({ QueueOrFallback1: 'Waiting' });
    expect(stateValueOf('Assigned')).toEqual({ Assigned: 'Dispatching' });
    expect(stateValueOf('Completed')).toBe('Completed');
    expect(() => stateValueOf('NoSuchState')).toThrow();
  });
});

describe('Prometheus text', () => {
  it('escapes label values and lists every status, tier and worker status', () => {
    const status = {
      workers: [], at: '', tasksByStatus: { pending: 1, routing: 0, assigned: 0, in_progress: 0, completed: 2, failed: 0, cancelled: 0 },
      cost24h: { totalUsd: 1, requests: 1, avgTokens: 1, byTierModel: [{ tier: 'gpt5_high', model: 'a"b\\c\nd', requests: 1, promptTokens: 0, cachedPromptTokens: 0, completionTokens: 0, reasoningTokens: 0, totalTokens: 0, costUsd: 0.5 }], byKey: [] },
      budget: { yearMonth: '2025-01', limitUsd: 100, spentUsd: 1, reservedUsd: 0, alertThresholdPercent: 80 },
    } satisfies StatusReply;
    const text = prometheusText(status);
    expect(text).toContain('koubou_cost_usd_24h{tier="gpt5_high",model="a\\"b\\\\c\\nd"} 0.5');
    expect(text).toContain('koubou_tasks{status="completed"} 2');
    expect(text).toContain('koubou_workers{tier="local",status="rate_limited"} 0');
    expect(text.endsWith('\n')).toBe(true);
  });
});

describe('task index', () => {
  const event = (seq: number, over: Partial<TaskEventMessage> = {}): TaskEventMessage => ({
    taskId: 't1', seq, at: new Date(Date.now() - 1000 + seq).toISOString(), status: 'routing', state: 'AnalyzeSensitivity', reason: 'r',
    tier: null, attempt: 0, type: 'general', priority: 5, sensitivity: null, difficulty: { level: 'high', score: 3, tokens: 10 },
    promptSummary: 'summary', workerId: null, reservationId: null, error: null, ...over,
  });

  it('applies each (task, seq) once, records fallbacks, and withholds confidential answers', () => {
    const index = new TaskIndex();
    expect(index.addTaskEvent(event(1, { state: 'ReceiveTask', status: 'pending' }))).not.toBeNull();
    expect(index.addTaskEvent(event(1, { state: 'ReceiveTask', status: 'pending' }))).toBeNull();
    const fb = index.addTaskEvent(event(2, { state: 'ExecutionFallback', status: 'in_progress', fallback: { from: 'gpt5_high', to: 'gpt5_medium', reason: 'x', phase: 'execution' } }));
    expect(fb!.feed).toEqual([expect.objectContaining({ kind: 'fallback', from: 'gpt5_high', to: 'gpt5_medium' })]);
    index.addTaskEvent(event(3, {
      state: 'Completed', status: 'completed', sensitivity: { level: 'confidential', categories: ['password'] },
      result: { text: 'the password is hunter2', model: 'm', workerId: 'w' },
    }));
    expect(index.get('t1')).toMatchObject({ status: 'completed', fallbacks: 1, complete: true });
    expect(index.get('t1')!.resultExcerpt).not.toContain('hunter2');
    expect(index.countsByStatusAndDifficulty()).toEqual([{ status: 'completed', difficulty: 'high', count: 1 }]);
    expect(index.events('t1')).toMatchObject({ complete: true });
  });
});

describe('task groups and trees', () => {
  const at = (ms: number) => new Date(Date.now() - 60_000 + ms).toISOString();
  const event = (taskId: string, seq: number, over: Partial<TaskEventMessage> = {}): TaskEventMessage => ({
    taskId, seq, at: at(seq), status: 'routing', state: 'ReceiveTask', reason: 'r', tier: null, attempt: 1, type: 'general', priority: 5,
    sensitivity: null, difficulty: { level: 'low', score: 0, tokens: 10 }, promptSummary: `ask of ${taskId}`, workerId: null, reservationId: null, error: null, ...over,
  });
  const usage = (taskId: string, costUsd: number) => ({
    usageId: `u-${taskId}`, taskId, attempt: 1, workerId: 'w', tier: 'local', model: 'm', promptTokens: 10, cachedPromptTokens: 0,
    completionTokens: 5, reasoningTokens: 0, costUsd, reservationId: null, at: new Date().toISOString(),
  });

  it('groups a session\'s turns, else a parent\'s children, with the first turn\'s ask, the newest tier, the count and the cost', () => {
    const index = new TaskIndex();
    index.addTaskEvent(event('turn-1', 1, { session: 's-a', tier: 'gpt5_medium', status: 'completed' }));
    index.addTaskEvent(event('turn-2', 2, { session: 's-a', tier: 'local', status: 'in_progress', parentTaskId: 'agent-1' }));
    index.addTaskEvent(event('child-1', 3, { parentTaskId: 'mcp-1' }));
    index.addTaskEvent(event('alone', 4));
    index.addUsage(usage('turn-1', 0.25));
    index.addUsage(usage('turn-2', 0.5));
    const groups = index.groups();
    expect(groups.map((g) => g.group).sort()).toEqual(['parent:mcp-1', 'session:s-a']);
    expect(index.groupOf('turn-2')).toMatchObject({
      kind: 'session', id: 's-a', ask: 'ask of turn-1', tier: 'local', tiers: ['gpt5_medium', 'local'], taskCount: 2, costUsd: 0.75, tokens: 30,
      byStatus: { completed: 1, in_progress: 1 }, taskIds: ['turn-1', 'turn-2'],
    });
    // The master's session has no events of its own: its group has no ask.
    expect(index.groupOf('child-1')).toMatchObject({ kind: 'parent', id: 'mcp-1', ask: null, taskCount: 1 });
    expect(index.groupOf('alone')).toBeNull();
    expect(index.list({ group: 'session:s-a' }).map((t) => t.taskId).sort()).toEqual(['turn-1', 'turn-2']);
  });

  it('keeps a task\'s escalations and newest test outcome, and hangs them on the ledger\'s tree without adding money up again', () => {
    const index = new TaskIndex();
    index.addTaskEvent(event('c1', 1, { parentTaskId: 'mcp-1', state: 'Verify', tests: { passed: false, exitCode: 1, attempt: 1 }, tier: 'local' }));
    index.addTaskEvent(event('c1', 2, { parentTaskId: 'mcp-1', state: 'Escalate', escalation: { from: 'local', to: 'gpt5_medium', step: 1, reason: 'tests failed' } }));
    index.addTaskEvent(event('c1', 3, { parentTaskId: 'mcp-1', state: 'Verify', tests: { passed: true, exitCode: 0, attempt: 2 }, tier: 'gpt5_medium', status: 'completed' }));
    expect(index.get('c1')).toMatchObject({ escalations: [{ from: 'local', to: 'gpt5_medium', step: 1 }], tests: { passed: true, attempt: 2 } });
    const trees = [{ taskId: 'mcp-1', status: 'in_progress', tier: null, costUsd: 0, totalUsd: 0.3, children: [
      { taskId: 'c1', status: 'completed', tier: 'gpt5_medium', costUsd: 0.1, totalUsd: 0.3, children: [
        { taskId: 'gw-1', status: 'completed', tier: 'gpt5_medium', costUsd: 0.2, totalUsd: 0.2, children: [] }] }] }];
    const tree = treeOf(trees, 'mcp-1', (id) => index.get(id))!;
    expect(tree).toMatchObject({ taskId: 'mcp-1', totalUsd: 0.3, promptSummary: null, escalations: [], tests: null });
    expect(tree.children[0]).toMatchObject({ taskId: 'c1', totalUsd: 0.3, costUsd: 0.1, promptSummary: 'ask of c1', tests: { passed: true, attempt: 2 }, escalations: [{ step: 1 }] });
    expect(treeOf(trees, 'c1', (id) => index.get(id))?.children.map((c) => c.taskId)).toEqual(['gw-1']);
    // A leaf heads no tree.
    expect(treeOf(trees, 'gw-1', (id) => index.get(id))).toBeNull();
  });
});

describe('feed of rate limits', () => {
  it('turns a 429 or an exhausted limit into a feed item, and ignores ordinary signals', () => {
    const at = new Date().toISOString();
    expect(feedOfSignal({ tier: 'gpt5_high', headers: {}, status: 429, at })?.kind).toBe('provider_429');
    expect(feedOfSignal({ tier: 'gpt5_high', headers: { 'x-ratelimit-remaining-requests': '0' }, status: 200, at })?.kind).toBe('provider_limit_reached');
    expect(feedOfSignal({ tier: 'gpt5_high', headers: { 'x-ratelimit-remaining-requests': '12' }, status: 200, at })).toBeNull();
  });
});
