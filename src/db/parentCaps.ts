/**
 * A parent task's money cap: a master's session (`koubou mcp`) opens itself as a parent task with
 * a cap, and every reservation of its children, and of their children (an agent's model requests
 * name their agent task), counts against it. Decided like the month's budget and a gateway key's
 * (reservations.ts): inside the reservation's IMMEDIATE transaction, with the same rule
 * (`canReserve`), so children reserving in parallel never overshoot the cap together.
 */
import { canReserve } from '../policy/index.ts';
import type { MonthBudget } from './budget.ts';
import { HELD_USD_SQL } from './heldSql.ts';
import { statementCache, type LedgerDb } from './sql.ts';
import { sqlTimestamp } from './time.ts';
import { FINAL_TASK_STATUSES, getTask, updateTask, upsertTask } from './tasks.ts';

/** How far up a task's parents the cap is looked for (a session, its agent task, the agent's requests). */
const MAX_DEPTH = 8;

export interface ParentCapState { parentTaskId: string; capUsd: number | null; spentUsd: number; reservedUsd: number }

const stmts = statementCache((db) => ({
  cap: db.prepare<[string], { cap_usd: number | null }>('SELECT cap_usd FROM parent_caps WHERE parent_task_id = ?'),
  parentOf: db.prepare<[string], { parent_task_id: string | null }>('SELECT parent_task_id FROM task_master WHERE task_id = ?'),
  // A task's own reservation, granted under a capped parent: the link the ledger wrote in the same
  // transaction as that reservation's check (task_master's link waits for the task's events).
  reservedUnder: db.prepare<[string], { capped_parent: string }>('SELECT capped_parent FROM budget_reservations WHERE task_id = ? AND capped_parent IS NOT NULL LIMIT 1'),
  open: db.prepare<{ id: string; cap: number | null; now: string }>(`INSERT INTO parent_caps (parent_task_id, cap_usd, opened_at)
    VALUES (@id, @cap, @now) ON CONFLICT(parent_task_id) DO UPDATE SET cap_usd = @cap`),
  spend: db.prepare<[string], { spent: number; reserved: number }>(`SELECT
      COALESCE(SUM(CASE WHEN status = 'settled' THEN actual_usd ELSE 0 END), 0) AS spent,
      COALESCE(SUM(${HELD_USD_SQL}), 0) AS reserved
    FROM budget_reservations WHERE capped_parent = ?`),
}));

/**
 * Opens (or reopens, with a new cap) a parent task: its row in task_master, in progress, and its
 * cap. A session that has ended is not opened again (its children's ids would be used twice).
 *
 * @returns false when the task has ended (nothing written).
 * @example
 * openParent(db, 'mcp-1a2b', 2.5); // the session's children may reserve $2.50 in all
 */
export function openParent(db: LedgerDb, parentTaskId: string, capUsd: number | null, opts: { now?: Date } = {}): boolean {
  return db.transaction(() => {
    // The status rules refuse a move out of a final status: an ended session stays ended.
    const opened = upsertTask(db, { taskId: parentTaskId, taskType: 'general', difficulty: 'low', sensitivity: 'internal', status: 'in_progress', reason: 'a master\'s session (koubou mcp)' }, opts);
    if (!opened.applied) return false;
    stmts(db).open.run({ id: parentTaskId, cap: capUsd, now: sqlTimestamp(opts.now) });
    return true;
  }).immediate();
}

/** Why a master's session ended, as `koubou mcp` reports it. */
export type ParentEnd = 'client_closed' | 'server_stopped';

const END_REASONS: Record<ParentEnd, string> = {
  client_closed: 'a master\'s session (koubou mcp): ended, its client closed the connection',
  server_stopped: 'a master\'s session (koubou mcp): ended, the server was stopped',
};

/**
 * Marks a parent task (a master's session) ended: `completed`, its `updated_at` the time it ended,
 * its reason saying how. Only a task opened with {@link openParent} is closed; its children are
 * not touched (they run on, and their reservations still count against the session's cap).
 *
 * @returns false when no such parent was opened; true when it has ended (now, or before: the first end stays).
 * @example
 * closeParent(db, 'mcp-1a2b', 'client_closed'); // koubou costs --tree shows it completed
 */
export function closeParent(db: LedgerDb, parentTaskId: string, end: ParentEnd, opts: { now?: Date } = {}): boolean {
  return db.transaction(() => {
    if (!stmts(db).cap.get(parentTaskId)) return false;
    // Ended already: its end (and its time) stays the first one.
    if (FINAL_TASK_STATUSES.includes(getTask(db, parentTaskId)?.status ?? 'pending')) return true;
    return updateTask(db, parentTaskId, { status: 'completed', reason: END_REASONS[end] }, opts)?.applied === true;
  }).immediate();
}

/**
 * The nearest ancestor with a cap row, starting at `parentTaskId` itself; null when none has one.
 * A task's way up is its reservation's capped parent, or else its task_master parent. The first is
 * what keeps the cap whole with children in parallel: a child's reservation (its router reserves
 * every cloud attempt before dispatching it, an agent's at $0) records its capped parent in the
 * same transaction as its check, so its agent's model requests, which reserve only after that,
 * find the cap even before the ledger has applied the child's events and written its parent.
 *
 * @example
 * cappedParentOf(db, 'mcp-1a2b-1'); // 'mcp-1a2b' for a request of the session's first child's agent
 */
export function cappedParentOf(db: LedgerDb, parentTaskId: string | undefined): string | null {
  const s = stmts(db);
  let id: string | null = parentTaskId ?? null;
  for (let depth = 0; id !== null && depth < MAX_DEPTH; depth++) {
    if (s.cap.get(id)) return id;
    const reserved = s.reservedUnder.get(id)?.capped_parent;
    if (reserved !== undefined) return reserved;
    id = s.parentOf.get(id)?.parent_task_id ?? null;
  }
  return null;
}

/** What a capped parent's tree has spent and holds reserved; null when it has no cap row. */
export function parentCapState(db: LedgerDb, parentTaskId: string): ParentCapState | null {
  const s = stmts(db);
  const row = s.cap.get(parentTaskId);
  if (!row) return null;
  const { spent, reserved } = s.spend.get(parentTaskId)!;
  return { parentTaskId, capUsd: row.cap_usd, spentUsd: spent, reservedUsd: reserved };
}

/**
 * True when the capped parent can afford `amountUsd` more. Call inside the reservation's
 * transaction (which holds the write lock).
 */
export function parentCanReserve(db: LedgerDb, month: MonthBudget, cappedParent: string, amountUsd: number): { ok: boolean; state: ParentCapState } {
  const state = parentCapState(db, cappedParent)!;
  if (state.capUsd === null) return { ok: true, state };
  return { ok: canReserve({ ...month, limitUsd: state.capUsd, spentUsd: state.spentUsd, reservedUsd: state.reservedUsd }, amountUsd), state };
}
