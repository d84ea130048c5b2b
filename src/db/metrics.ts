/**
 * worker_metrics: one row per executed task per worker, and the seed's statistics over them.
 */
import { assertCount, statementCache, type LedgerDb } from './sql.ts';
import { sinceTimestamp, sqlTimestamp } from './time.ts';

export interface WorkerMetric {
  workerId: string;
  /** Must exist in task_master (FOREIGN KEY). */
  taskId: string;
  executionTimeMs: number;
  success: boolean;
  tokensProcessed?: number | null;
  promptLength?: number | null;
  outputLength?: number | null;
  errorType?: string | null;
}

/** The seed's `get_worker_stats`. Averages are null when the window holds no rows. */
export interface WorkerStats {
  totalTasks: number;
  successfulTasks: number;
  avgExecutionTimeMs: number | null;
  minExecutionTimeMs: number | null;
  maxExecutionTimeMs: number | null;
  successRate: number | null;
}

export interface WorkerExecutionAverage {
  workerId: string;
  location: string;
  tasks: number;
  avgExecutionTimeMs: number;
}

/** What the performance factors are measured from: one worker's successful executions in a window. */
export interface WorkerSpeedSample {
  workerId: string;
  location: string;
  /** Successful executions. */
  tasks: number;
  /** Output tokens they produced. */
  tokens: number;
  executionTimeMs: number;
}

const stmts = statementCache((db) => ({
  speeds: db.prepare<[string], WorkerSpeedSample>(`SELECT w.worker_id AS workerId,
      COALESCE(w.location, 'local') AS location, COUNT(*) AS tasks,
      COALESCE(SUM(wm.tokens_processed), 0) AS tokens, SUM(wm.execution_time_ms) AS executionTimeMs
    FROM workers w JOIN worker_metrics wm ON wm.worker_id = w.worker_id
    WHERE wm.measured_at > ? AND wm.success AND w.worker_type = 'local'
    GROUP BY w.worker_id, w.location ORDER BY w.worker_id`),
  insert: db.prepare(`INSERT INTO worker_metrics (worker_id, task_id, execution_time_ms,
      tokens_processed, prompt_length, output_length, success, error_type, measured_at)
    VALUES (@workerId, @taskId, @executionTimeMs, @tokensProcessed, @promptLength, @outputLength,
      @success, @errorType, @now)`),
  stats: db.prepare<[string, string], WorkerStats>(`SELECT
      COUNT(*) AS totalTasks,
      COALESCE(SUM(CASE WHEN success THEN 1 ELSE 0 END), 0) AS successfulTasks,
      AVG(execution_time_ms) AS avgExecutionTimeMs,
      MIN(execution_time_ms) AS minExecutionTimeMs,
      MAX(execution_time_ms) AS maxExecutionTimeMs,
      AVG(CASE WHEN success THEN 1.0 ELSE 0.0 END) AS successRate
    FROM worker_metrics WHERE worker_id = ? AND measured_at > ?`),
  // The seed wrote this as a LEFT JOIN whose WHERE on wm.measured_at made it an inner join anyway
  // (and grouped a non-aggregated w.location); this states that intent directly.
  averages: db.prepare<[string], WorkerExecutionAverage>(`SELECT w.worker_id AS workerId,
      COALESCE(w.location, 'local') AS location, COUNT(*) AS tasks,
      AVG(wm.execution_time_ms) AS avgExecutionTimeMs
    FROM workers w JOIN worker_metrics wm ON wm.worker_id = w.worker_id
    WHERE wm.measured_at > ? GROUP BY w.worker_id, w.location ORDER BY w.worker_id`),
}));

/**
 * Records how one task went on one worker.
 *
 * @returns the new metric_id.
 * @example
 * recordWorkerMetric(db, { workerId: 'local_001', taskId: 't1', executionTimeMs: 8200, success: true });
 */
export function recordWorkerMetric(db: LedgerDb, m: WorkerMetric, opts: { now?: Date } = {}): number {
  assertCount('executionTimeMs', m.executionTimeMs);
  const result = stmts(db).insert.run({
    ...m,
    tokensProcessed: m.tokensProcessed ?? null,
    promptLength: m.promptLength ?? null,
    outputLength: m.outputLength ?? null,
    errorType: m.errorType ?? null,
    success: m.success ? 1 : 0, // SQLite has no boolean; the seed's BOOLEAN column stores 0/1
    now: sqlTimestamp(opts.now),
  });
  return Number(result.lastInsertRowid);
}

/**
 * One worker's statistics over the last `hours` (the seed's query).
 *
 * @example
 * workerStats(db, 'local_001', 24) // => { totalTasks: 12, successfulTasks: 11, successRate: 0.9166…, ... }
 */
export function workerStats(
  db: LedgerDb, workerId: string, hours = 24, opts: { now?: Date } = {},
): WorkerStats {
  const row = stmts(db).stats.get(workerId, sinceTimestamp(hours, opts.now));
  return row ?? { totalTasks: 0, successfulTasks: 0, avgExecutionTimeMs: null, minExecutionTimeMs: null, maxExecutionTimeMs: null, successRate: null };
}

/**
 * Average execution time per worker (with its location) over the last `hours`, for workers that
 * ran anything — the input of the seed's performance-factor update (local average ÷ worker average).
 *
 * @example
 * averageExecutionTimes(db, 24) // => [{ workerId: 'local_001', location: 'local', tasks: 5, avgExecutionTimeMs: 8000 }, ...]
 */
export function averageExecutionTimes(
  db: LedgerDb, hours = 24, opts: { now?: Date } = {},
): WorkerExecutionAverage[] {
  return stmts(db).averages.all(sinceTimestamp(hours, opts.now));
}

/**
 * Successful executions of local-tier workers over the last `hours`, with the tokens they
 * produced and the time they took: the input of the performance factors (see src/pool/performance.ts).
 *
 * @example
 * workerSpeedSamples(db, 24) // => [{ workerId: 'remote_lan_001', location: 'gpu-box', tasks: 9, tokens: 5400, executionTimeMs: 61000 }]
 */
export function workerSpeedSamples(db: LedgerDb, hours = 24, opts: { now?: Date } = {}): WorkerSpeedSample[] {
  return stmts(db).speeds.all(sinceTimestamp(hours, opts.now));
}
