/**
 * Verified attempts and the pass rates they add up to, per tier and task type (the seed's
 * performance factors, for quality rather than speed).
 */
import { statementCache, type LedgerDb } from './sql.ts';

export interface TestOutcomeRecord {
  taskId: string;
  attempt: number;
  tier: string;
  taskType: string;
  passed: boolean;
}

export interface PassRate {
  tier: string;
  taskType: string;
  /** Verified attempts. */
  runs: number;
  passed: number;
}

const stmts = statementCache((db) => ({
  insert: db.prepare('INSERT OR IGNORE INTO test_outcomes (task_id, attempt, tier, task_type, passed) VALUES (?, ?, ?, ?, ?)'),
  rates: db.prepare<[], PassRate>(`SELECT tier, task_type AS taskType, COUNT(*) AS runs, SUM(passed) AS passed
    FROM test_outcomes GROUP BY tier, task_type ORDER BY tier, task_type`),
}));

/**
 * Records one attempt's test outcome, once per (task, attempt): a redelivered event changes nothing.
 * @example recordTestOutcome(db, { taskId: 't1', attempt: 1, tier: 'local', taskType: 'code_generation', passed: false });
 */
export function recordTestOutcome(db: LedgerDb, r: TestOutcomeRecord): void {
  stmts(db).insert.run(r.taskId, r.attempt, r.tier, r.taskType, r.passed ? 1 : 0);
}

/** @example passRates(db) // => [{ tier: 'local', taskType: 'code_generation', runs: 4, passed: 1 }] */
export function passRates(db: LedgerDb): PassRate[] {
  return stmts(db).rates.all();
}
