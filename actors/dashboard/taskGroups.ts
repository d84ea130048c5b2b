/**
 * How the dashboard's task list groups tasks: the turns of one session (the gateway's `session`,
 * an opaque id), else the children of one parent (a `koubou mcp` master's session names itself as
 * every subtask's `parentTaskId`). Pure: the same summaries always give the same groups.
 */
import type { TaskStatus, Tier } from '../../src/core/types.ts';

/** What grouping reads of a task (the index's task summary has it all). */
export interface GroupMember {
  taskId: string;
  createdAt: string;
  updatedAt: string;
  status: TaskStatus;
  tier: Tier | null;
  promptSummary: string;
  costUsd: number;
  tokens: number;
  session: string | null;
  parentTaskId: string | null;
}

/** One group row of the task list. */
export interface TaskGroup {
  /** `session:<id>` or `parent:<taskId>`: what a task's `group` names. */
  group: string;
  kind: 'session' | 'parent';
  /** The session's opaque id, or the parent's task id. */
  id: string;
  /** A session's ask: its first task's summary; a parent's: the parent's own summary, when its events are known. */
  ask: string | null;
  /** The tier of its newest routed task (a session keeps one tier). */
  tier: Tier | null;
  /** Every tier its tasks ran on, in the order first seen. */
  tiers: Tier[];
  taskCount: number;
  /** What its tasks' own calls cost (a parent's whole tree, its children's requests too, is the ledger's roll-up: `GET /api/tasks/:id`'s tree). */
  costUsd: number;
  tokens: number;
  byStatus: Partial<Record<TaskStatus, number>>;
  firstAt: string;
  lastAt: string;
  /** Oldest first. */
  taskIds: string[];
}

/**
 * The group a task belongs to, or null: its session first (the turns of one conversation), else its parent.
 * @example groupKeyOf({ session: 's-1a2b', parentTaskId: null }) // => 'session:s-1a2b'
 */
export function groupKeyOf(t: Pick<GroupMember, 'session' | 'parentTaskId'>): string | null {
  return t.session ? `session:${t.session}` : t.parentTaskId ? `parent:${t.parentTaskId}` : null;
}

/**
 * The groups of these tasks, newest activity first.
 * @example taskGroups(index.list({ limit: 1000 }), (id) => index.get(id))[0]?.taskCount
 */
export function taskGroups(tasks: Iterable<GroupMember>, summaryOf: (taskId: string) => { promptSummary: string } | undefined): TaskGroup[] {
  const members = new Map<string, GroupMember[]>();
  for (const t of tasks) {
    const key = groupKeyOf(t);
    if (key) (members.get(key) ?? members.set(key, []).get(key)!).push(t);
  }
  return [...members].map(([key, list]) => groupOf(key, list, summaryOf)).sort((a, b) => b.lastAt.localeCompare(a.lastAt));
}

function groupOf(key: string, list: GroupMember[], summaryOf: (taskId: string) => { promptSummary: string } | undefined): TaskGroup {
  const tasks = [...list].sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  const kind = key.startsWith('session:') ? 'session' : 'parent';
  const id = key.slice(kind.length + 1);
  const byStatus: Partial<Record<TaskStatus, number>> = {};
  for (const t of tasks) byStatus[t.status] = (byStatus[t.status] ?? 0) + 1;
  const routed = tasks.filter((t) => t.tier !== null);
  return {
    group: key, kind, id,
    ask: kind === 'session' ? tasks[0]!.promptSummary : summaryOf(id)?.promptSummary ?? null,
    tier: routed.at(-1)?.tier ?? null,
    tiers: [...new Set(routed.map((t) => t.tier!))],
    taskCount: tasks.length,
    costUsd: tasks.reduce((n, t) => n + t.costUsd, 0),
    tokens: tasks.reduce((n, t) => n + t.tokens, 0),
    byStatus,
    firstAt: tasks[0]!.createdAt,
    lastAt: tasks.reduce((at, t) => (t.updatedAt > at ? t.updatedAt : at), tasks[0]!.updatedAt),
    taskIds: tasks.map((t) => t.taskId),
  };
}
