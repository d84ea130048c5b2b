/**
 * task_master: one row per task, its classification, tier, status and running totals.
 *
 * Status rules enforced here (SQLite only checks the value set):
 * - `pending` is the entry state only — a redelivered submission must not reset a task's progress;
 * - `completed`, `failed`, `cancelled` are final — later writes may fill in fields but not move it.
 * Moves among routing/assigned/in_progress are free, because fallback re-routes running tasks.
 */
import type {
  DifficultyLevel,
  SensitivityLevel,
  TaskStatus,
  TaskType,
  Tier,
} from '../core/types.ts';
import { FINAL_TASK_STATUSES, TASK_STATUSES } from '../core/types.ts';
import { sinceTimestamp, sqlTimestamp } from './time.ts';
import { atomicWrite, statementCache, type LedgerDb } from './sql.ts';

export { FINAL_TASK_STATUSES };

/** What a caller writes. Optional fields left `undefined` keep their stored value on update. */
export interface TaskWrite {
  taskId: string;
  taskType: TaskType;
  difficulty: DifficultyLevel;
  sensitivity: SensitivityLevel;
  status: TaskStatus;
  /** 1..10, default 5. */
  priority?: number;
  tier?: Tier | null;
  estimatedTokens?: number | null;
  estimatedCost?: number | null;
  parentTaskId?: string | null;
  reason?: string | null;
  error?: string | null;
  resultSummary?: string | null;
  /** What was asked: the user's words a client wrapped; for confidential work only its size and categories (migration 11). */
  askSummary?: string | null;
}

/** A stored task. `actualTokens`/`actualCost` are accumulated by `recordUsage`. */
export interface TaskRecord extends Required<Omit<TaskWrite, 'priority'>> {
  priority: number;
  actualTokens: number | null;
  actualCost: number | null;
  createdAt: string;
  updatedAt: string;
}

/** Outcome of a write: `applied` is false when the status rules refused it (row untouched). */
export interface TaskWriteResult {
  created: boolean;
  applied: boolean;
  previousStatus: TaskStatus | null;
  /** The status now stored. */
  status: TaskStatus;
  /** Why the status rules refused the write (null when applied). */
  refused: string | null;
}

interface TaskRow {
  task_id: string;
  task_type: TaskType;
  difficulty_level: DifficultyLevel;
  sensitivity_level: SensitivityLevel;
  assigned_worker_type: Tier | null;
  status: TaskStatus;
  priority: number;
  estimated_tokens: number | null;
  actual_tokens: number | null;
  estimated_cost: number | null;
  actual_cost: number | null;
  parent_task_id: string | null;
  reason: string | null;
  error: string | null;
  result_summary: string | null;
  ask_summary: string | null;
  created_at: string;
  updated_at: string;
}

const toRecord = (r: TaskRow): TaskRecord => ({
  taskId: r.task_id,
  taskType: r.task_type,
  difficulty: r.difficulty_level,
  sensitivity: r.sensitivity_level,
  tier: r.assigned_worker_type,
  status: r.status,
  priority: r.priority,
  estimatedTokens: r.estimated_tokens,
  actualTokens: r.actual_tokens,
  estimatedCost: r.estimated_cost,
  actualCost: r.actual_cost,
  parentTaskId: r.parent_task_id,
  reason: r.reason,
  error: r.error,
  resultSummary: r.result_summary,
  askSummary: r.ask_summary,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

const COLUMNS = `task_type = @taskType, difficulty_level = @difficulty, sensitivity_level = @sensitivity,
  assigned_worker_type = @tier, status = @status, priority = @priority,
  estimated_tokens = @estimatedTokens, estimated_cost = @estimatedCost, parent_task_id = @parentTaskId,
  reason = @reason, error = @error, result_summary = @resultSummary, ask_summary = @askSummary, updated_at = @now`;

const stmts = statementCache((db) => ({
  get: db.prepare<[string], TaskRow>('SELECT * FROM task_master WHERE task_id = ?'),
  insert: db.prepare(`INSERT INTO task_master (task_id, task_type, difficulty_level, sensitivity_level,
      assigned_worker_type, status, priority, estimated_tokens, estimated_cost, parent_task_id,
      reason, error, result_summary, ask_summary, created_at, updated_at)
    VALUES (@taskId, @taskType, @difficulty, @sensitivity, @tier, @status, @priority,
      @estimatedTokens, @estimatedCost, @parentTaskId, @reason, @error, @resultSummary, @askSummary, @now, @now)`),
  update: db.prepare(`UPDATE task_master SET ${COLUMNS} WHERE task_id = @taskId`),
  countByStatus: db.prepare<[string], { status: TaskStatus; n: number }>(
    'SELECT status, COUNT(*) AS n FROM task_master WHERE created_at > ? GROUP BY status',
  ),
  recent: db.prepare<{ since: string; status: TaskStatus | null; limit: number }, TaskRow>(
    `SELECT * FROM task_master WHERE created_at > @since AND (@status IS NULL OR status = @status)
     ORDER BY created_at DESC, rowid DESC LIMIT @limit`,
  ),
}));

/** Why a status move is refused, or null if allowed. */
function refusal(from: TaskStatus, to: TaskStatus): string | null {
  if (from === to) return null;
  if (FINAL_TASK_STATUSES.includes(from)) return `task is ${from}`;
  if (to === 'pending') return 'a task cannot return to pending';
  return null;
}

function assertPriority(priority: number): void {
  if (!Number.isInteger(priority) || priority < 1 || priority > 10) {
    throw new RangeError(`priority must be an integer 1..10, got ${String(priority)}`);
  }
}

/** Merges `patch` over `row`; `undefined` keeps the stored value, `null` clears it. */
function merged(row: TaskRecord, patch: Partial<TaskWrite>): Required<TaskWrite> {
  const pick = <K extends keyof TaskWrite>(k: K): Required<TaskWrite>[K] =>
    (patch[k] !== undefined ? patch[k] : row[k]) as Required<TaskWrite>[K];
  return {
    taskId: row.taskId, taskType: pick('taskType'), difficulty: pick('difficulty'),
    sensitivity: pick('sensitivity'), status: pick('status'), priority: pick('priority'),
    tier: pick('tier'), estimatedTokens: pick('estimatedTokens'), estimatedCost: pick('estimatedCost'),
    parentTaskId: pick('parentTaskId'), reason: pick('reason'), error: pick('error'),
    resultSummary: pick('resultSummary'), askSummary: pick('askSummary'),
  };
}

const writeTask = atomicWrite((db: LedgerDb, taskId: string, patch: Partial<TaskWrite>, insert: TaskWrite | null, now: string): TaskWriteResult | null => {
  const s = stmts(db);
  const row = s.get.get(taskId);
  if (!row) {
    if (!insert) return null;
    s.insert.run({ ...nullDefaults(insert), now });
    return { created: true, applied: true, previousStatus: null, status: insert.status, refused: null };
  }
  const current = toRecord(row);
  const next = merged(current, patch);
  const refused = refusal(current.status, next.status);
  if (refused !== null) {
    return { created: false, applied: false, previousStatus: current.status, status: current.status, refused };
  }
  s.update.run({ ...next, now });
  return { created: false, applied: true, previousStatus: current.status, status: next.status, refused: null };
});

function nullDefaults(t: TaskWrite): Required<TaskWrite> {
  return {
    ...t, priority: t.priority ?? 5, tier: t.tier ?? null, estimatedTokens: t.estimatedTokens ?? null,
    estimatedCost: t.estimatedCost ?? null, parentTaskId: t.parentTaskId ?? null,
    reason: t.reason ?? null, error: t.error ?? null, resultSummary: t.resultSummary ?? null,
    askSummary: t.askSummary ?? null,
  };
}

/**
 * Inserts a task, or updates the stored one (fields left `undefined` keep their value) subject to
 * the status rules above. Atomic against other processes.
 *
 * @example
 * upsertTask(db, { taskId: 't1', taskType: 'testing', difficulty: 'low', sensitivity: 'public', status: 'pending' });
 * upsertTask(db, { ...sameTask, status: 'assigned', tier: 'local', reason: 'low difficulty' });
 * // => { created: false, applied: true, previousStatus: 'pending', status: 'assigned', refused: null }
 */
export function upsertTask(db: LedgerDb, task: TaskWrite, opts: { now?: Date } = {}): TaskWriteResult {
  if (task.priority !== undefined) assertPriority(task.priority);
  // Non-null: with an insert fallback the transaction always returns a result.
  return writeTask(db, task.taskId, task, task, sqlTimestamp(opts.now))!;
}

/**
 * Updates some fields of an existing task (same status rules as `upsertTask`).
 *
 * @returns null when no such task exists.
 * @example
 * updateTask(db, 't1', { status: 'failed', error: 'provider timeout' });
 */
export function updateTask(
  db: LedgerDb,
  taskId: string,
  patch: Partial<Omit<TaskWrite, 'taskId'>>,
  opts: { now?: Date } = {},
): TaskWriteResult | null {
  if (patch.priority !== undefined) assertPriority(patch.priority);
  return writeTask(db, taskId, patch, null, sqlTimestamp(opts.now));
}

/**
 * @example
 * getTask(db, 't1')?.status // => 'assigned'
 */
export function getTask(db: LedgerDb, taskId: string): TaskRecord | null {
  const row = stmts(db).get.get(taskId);
  return row ? toRecord(row) : null;
}

/**
 * Tasks created in the last `sinceHours`, counted per status (every status present, 0 if none).
 *
 * @example
 * countTasksByStatus(db, 24) // => { pending: 1, routing: 0, ..., completed: 7, ... }
 */
export function countTasksByStatus(
  db: LedgerDb,
  sinceHours: number,
  opts: { now?: Date } = {},
): Record<TaskStatus, number> {
  const counts = Object.fromEntries(TASK_STATUSES.map((s) => [s, 0])) as Record<TaskStatus, number>;
  for (const { status, n } of stmts(db).countByStatus.all(sinceTimestamp(sinceHours, opts.now))) {
    counts[status] = n;
  }
  return counts;
}

/**
 * Most recently created tasks first.
 *
 * @example
 * listRecentTasks(db, { limit: 20, status: 'failed', sinceHours: 24 });
 */
export function listRecentTasks(
  db: LedgerDb,
  opts: { limit?: number; status?: TaskStatus; sinceHours?: number; now?: Date } = {},
): TaskRecord[] {
  const since = opts.sinceHours === undefined ? '' : sinceTimestamp(opts.sinceHours, opts.now);
  return stmts(db)
    .recent.all({ since, status: opts.status ?? null, limit: opts.limit ?? 50 })
    .map(toRecord);
}

const parentStmt = statementCache((db) => db.prepare<{ taskId: string; parent: string }>(`UPDATE task_master SET parent_task_id = @parent
  WHERE task_id = @taskId AND parent_task_id IS NULL AND @parent <> @taskId AND EXISTS (SELECT 1 FROM task_master WHERE task_id = @parent)`));

/**
 * Records the task a task serves (an agent's model request, its agent task). A parent the ledger
 * does not know is not recorded: the link is for reports, never a reason to lose the event.
 */
export function setTaskParent(db: LedgerDb, taskId: string, parent: string): void {
  parentStmt(db).run({ taskId, parent });
}
