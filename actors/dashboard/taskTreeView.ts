/**
 * A master's tree as the dashboard shows it: the ledger's tree (`spendTrees`, the same roll-up
 * `koubou costs --tree` prints: status, tier, own cost, the total under each task), each task
 * told apart by what the event stream says of it (its ask, type, escalations, test outcome).
 * The ledger decides the tree and its totals; nothing here adds money up again.
 */
import type { TaskTreeNode } from '../../src/db/index.ts';
import type { TaskSummary } from './taskSummary.ts';

/** One task of a tree, with its children. */
export interface TaskTreeView extends Omit<TaskTreeNode, 'children'> {
  /** Its summary (for confidential work only size and categories); null when its events are not in the window. */
  promptSummary: string | null;
  type: string | null;
  escalations: TaskSummary['escalations'];
  tests: TaskSummary['tests'];
  children: TaskTreeView[];
}

/**
 * The tree under `taskId` among the ledger's trees (at any depth), decorated; null when it heads none.
 * @example treeOf(await ledger.trees(24 * 7), 'mcp-1a2b', (id) => index.get(id))?.totalUsd
 */
export function treeOf(trees: TaskTreeNode[], taskId: string, summaryOf: (taskId: string) => TaskSummary | undefined): TaskTreeView | null {
  const found = find(trees, taskId);
  return found && found.children.length ? decorate(found, summaryOf) : null;
}

/** Every tree, decorated. */
export function treeViews(trees: TaskTreeNode[], summaryOf: (taskId: string) => TaskSummary | undefined): TaskTreeView[] {
  return trees.map((t) => decorate(t, summaryOf));
}

function find(nodes: TaskTreeNode[], taskId: string): TaskTreeNode | null {
  for (const n of nodes) {
    if (n.taskId === taskId) return n;
    const inside = find(n.children, taskId);
    if (inside) return inside;
  }
  return null;
}

function decorate(n: TaskTreeNode, summaryOf: (taskId: string) => TaskSummary | undefined): TaskTreeView {
  const s = summaryOf(n.taskId);
  return {
    taskId: n.taskId, status: n.status, tier: n.tier, costUsd: n.costUsd, totalUsd: n.totalUsd,
    promptSummary: s?.promptSummary ?? null, type: s?.type ?? null, escalations: s?.escalations ?? [], tests: s?.tests ?? null,
    children: n.children.map((c) => decorate(c, summaryOf)),
  };
}
