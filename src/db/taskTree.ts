/**
 * Spend rolled up by parent: a master's session (`koubou mcp`) and its children, an agent task
 * and its model requests. `koubou costs --tree` prints it.
 */
import { statementCache, type LedgerDb } from './sql.ts';
import { sinceTimestamp } from './time.ts';

export interface TaskTreeNode {
  taskId: string;
  status: string;
  tier: string | null;
  /** What this task's own calls cost. */
  costUsd: number;
  /** This task and everything under it. */
  totalUsd: number;
  children: TaskTreeNode[];
}

interface Row { task_id: string; parent_task_id: string | null; status: string; tier: string | null; cost: number }

const stmts = statementCache((db) => ({
  rows: db.prepare<[string], Row>(`SELECT t.task_id, t.parent_task_id, t.status, t.assigned_worker_type AS tier,
      COALESCE((SELECT SUM(c.cost_usd) FROM cost_tracking c WHERE c.task_id = t.task_id), 0) AS cost
    FROM task_master t
    WHERE t.created_at > ? AND (t.parent_task_id IS NOT NULL OR EXISTS (SELECT 1 FROM task_master k WHERE k.parent_task_id = t.task_id))
    ORDER BY t.created_at, t.rowid`),
}));

/**
 * Every task tree with a root created in the last `sinceHours`, its spend added up at each level.
 *
 * @example
 * spendTrees(db, 24)[0]; // { taskId: 'mcp-1a2b', totalUsd: 0.42, children: [{ taskId: 'mcp-1a2b-1', ... }] }
 */
export function spendTrees(db: LedgerDb, sinceHours: number, now = new Date()): TaskTreeNode[] {
  const rows = stmts(db).rows.all(sinceTimestamp(sinceHours, now));
  const nodes = new Map(rows.map((r) => [r.task_id, { taskId: r.task_id, status: r.status, tier: r.tier, costUsd: r.cost, totalUsd: 0, children: [] as TaskTreeNode[] }]));
  const roots: TaskTreeNode[] = [];
  for (const r of rows) {
    const parent = r.parent_task_id ? nodes.get(r.parent_task_id) : undefined;
    if (parent) parent.children.push(nodes.get(r.task_id)!);
    else if (r.parent_task_id === null) roots.push(nodes.get(r.task_id)!);
  }
  const total = (n: TaskTreeNode): number => (n.totalUsd = n.costUsd + n.children.reduce((s, c) => s + total(c), 0));
  roots.forEach(total);
  return roots;
}
