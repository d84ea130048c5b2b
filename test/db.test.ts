import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { useTempLedger } from './support/util.ts';
import { DEFAULT_TIERS, TASK_TYPES } from '../src/core/types.ts';
import {
  getBudgetStatus, getTask, getWorker, latestVersion, LedgerMigrationRequiredError,
  LedgerVersionError, migrate, MIGRATIONS, openLedgerDb, recordWorkerMetric, upsertTask,
  upsertWorker, type LedgerDb, type TaskWrite,
} from '../src/db/index.ts';

const temp = useTempLedger();
const track = temp.track;

const task = (over: Partial<TaskWrite> = {}): TaskWrite => ({
  taskId: 't1', taskType: 'code_generation', difficulty: 'medium', sensitivity: 'public',
  status: 'pending', ...over,
});
const names = (db: LedgerDb, type: string): string[] =>
  db.prepare<[string], { name: string }>("SELECT name FROM sqlite_master WHERE type = ? ORDER BY name")
    .all(type).map((r) => r.name);

describe('schema', () => {
  it('creates every table and index at the newest version, with WAL and the connection settings', () => {
    const db = track(openLedgerDb(temp.file));
    expect(names(db, 'table')).toEqual(expect.arrayContaining([
      'task_master', 'cost_tracking', 'budget_management', 'workers', 'worker_metrics',
      'budget_reservations', 'fallback_log', 'routing_audit', 'task_rejections', 'gateway_keys', 'test_outcomes',
    ]));
    expect(names(db, 'index')).toEqual(expect.arrayContaining([
      'idx_worker_metrics_worker_id', 'idx_worker_metrics_measured_at', 'idx_cost_tracking_usage_id',
      'idx_cost_tracking_timestamp', 'idx_task_master_created_at', 'idx_routing_audit_task_id', 'idx_task_master_client_key',
    ]));
    expect(db.pragma('user_version', { simple: true })).toBe(latestVersion());
    expect(latestVersion()).toBe(12);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(db.pragma('busy_timeout', { simple: true })).toBe(5000);
    expect(db.pragma('synchronous', { simple: true })).toBe(1); // NORMAL
    expect(migrate(db)).toEqual([]); // already current: nothing to do
  });

  it('builds version 1 with exactly the seed document\'s columns', () => {
    const db = track(openLedgerDb(temp.file, { migrations: MIGRATIONS.slice(0, 1) }));
    const cols = (t: string) => db.prepare<[], { name: string }>(`SELECT name FROM pragma_table_xinfo('${t}')`).all().map((c) => c.name);
    expect(names(db, 'table').filter((n) => n !== 'sqlite_sequence')).toEqual(['budget_management', 'cost_tracking', 'task_master', 'workers']);
    expect(cols('task_master')).toEqual(['task_id', 'task_type', 'difficulty_level', 'sensitivity_level',
      'assigned_worker_type', 'status', 'priority', 'estimated_tokens', 'actual_tokens', 'estimated_cost',
      'actual_cost', 'parent_task_id', 'created_at', 'updated_at']);
    expect(cols('cost_tracking')).toEqual(['tracking_id', 'task_id', 'worker_type', 'model_name',
      'prompt_tokens', 'completion_tokens', 'total_tokens', 'cost_usd', 'timestamp']);
    expect(cols('budget_management')).toEqual(['budget_id', 'year_month', 'budget_limit_usd', 'spent_usd',
      'remaining_usd', 'alert_threshold_percent', 'created_at']);
    expect(cols('workers')).toEqual(['worker_id', 'worker_type', 'model_name', 'api_endpoint', 'process_id',
      'status', 'capabilities', 'rate_limit_remaining', 'rate_limit_reset_at', 'last_heartbeat', 'created_at']);
  });

  it('enforces the CHECK constraints: the value lists, and the shape of a tier name (tiers are data since migration 5)', () => {
    const db = track(openLedgerDb(temp.file));
    const ins = db.prepare(`INSERT INTO task_master (task_id, task_type, difficulty_level,
      sensitivity_level, assigned_worker_type, status, priority) VALUES (?, ?, ?, ?, ?, ?, ?)`);
    TASK_TYPES.forEach((t, i) => ins.run(`ok${i}`, t, 'low', 'public', DEFAULT_TIERS[i % 3], 'pending', 10));
    const bad: unknown[][] = [
      ['b1', 'poetry', 'low', 'public', null, 'pending', 5],
      ['b2', 'general', 'extreme', 'public', null, 'pending', 5],
      ['b3', 'general', 'low', 'secret', null, 'pending', 5],
      ['b4', 'general', 'low', 'public', 'GPT-4 Turbo', 'pending', 5],
      ['b5', 'general', 'low', 'public', null, 'done', 5],
      ['b6', 'general', 'low', 'public', null, 'pending', 11],
      ['b7', 'general', 'low', 'public', null, 'pending', 0],
    ];
    for (const row of bad) expect(() => ins.run(...row), String(row)).toThrow(/CHECK constraint failed/);
    const checks = [
      "INSERT INTO workers (worker_id, worker_type, model_name, api_endpoint, status) VALUES ('w', 'remote worker', 'm', 'e', 'idle')",
      "INSERT INTO workers (worker_id, worker_type, model_name, api_endpoint, status) VALUES ('w', 'local', 'm', 'e', 'sleeping')",
      "INSERT INTO budget_reservations (reservation_id, tier, year_month, amount_usd) VALUES ('r', 'local', '2025-01', -1)",
      "INSERT INTO budget_reservations (reservation_id, tier, year_month, amount_usd, status) VALUES ('r', 'local', '2025-01', 1, 'spent')",
      "INSERT INTO budget_reservations (reservation_id, tier, year_month, amount_usd) VALUES ('r', 'local', 'Jan 2025', 1)",
      "INSERT INTO fallback_log (task_id, from_tier, to_tier, reason, phase) VALUES ('t', 'gpt5_high', 'local', 'x', 'later')",
      "INSERT INTO routing_audit (task_id, state, tier, reasons) VALUES ('t', 's', NULL, '{\"not\":\"an array\"}')",
      "INSERT INTO routing_audit (task_id, state, tier, reasons) VALUES ('t', 's', 'cloud!', '[]')",
    ];
    for (const sql of checks) expect(() => db.exec(sql), sql).toThrow(/CHECK constraint failed/);
  });

  it('computes remaining_usd as a stored generated column', () => {
    const db = track(openLedgerDb(temp.file));
    db.exec("INSERT INTO budget_management (year_month, budget_limit_usd) VALUES ('2025-01', 100)");
    db.exec("UPDATE budget_management SET spent_usd = 37.5 WHERE year_month = '2025-01'");
    const row = db.prepare('SELECT spent_usd, remaining_usd FROM budget_management').get();
    expect(row).toEqual({ spent_usd: 37.5, remaining_usd: 62.5 });
    expect(() => db.exec('UPDATE budget_management SET remaining_usd = 1')).toThrow(/generated column/);
    const cols = db.prepare<[], { name: string; hidden: number }>("PRAGMA table_xinfo('budget_management')").all();
    expect(cols.find((c) => c.name === 'remaining_usd')?.hidden).toBe(3); // 3 = STORED generated
  });

  it('enforces foreign keys, including worker_metrics → task_master (the seed said "tasks")', () => {
    const db = track(openLedgerDb(temp.file));
    expect(() => db.exec("INSERT INTO cost_tracking (task_id, worker_type, model_name, prompt_tokens, completion_tokens, total_tokens, cost_usd) VALUES ('nope', 'local', 'm', 1, 1, 2, 0)"))
      .toThrow(/FOREIGN KEY/);
    upsertWorker(db, { workerId: 'w1', workerType: 'local', modelName: 'm', apiEndpoint: 'e', status: 'idle' });
    expect(() => recordWorkerMetric(db, { workerId: 'w1', taskId: 'nope', executionTimeMs: 1, success: true }))
      .toThrow(/FOREIGN KEY/);
    upsertTask(db, task());
    expect(recordWorkerMetric(db, { workerId: 'w1', taskId: 't1', executionTimeMs: 1, success: true })).toBe(1);
  });
});

describe('migrations and versions', () => {
  it('migrates a version-1 database and keeps its data', () => {
    const v1 = openLedgerDb(temp.file, { migrations: MIGRATIONS.slice(0, 1) });
    expect(v1.pragma('user_version', { simple: true })).toBe(1);
    v1.exec(`INSERT INTO task_master (task_id, task_type, difficulty_level, sensitivity_level, status)
        VALUES ('old', 'general', 'low', 'public', 'completed');
      INSERT INTO cost_tracking (task_id, worker_type, model_name, prompt_tokens, completion_tokens, total_tokens, cost_usd)
        VALUES ('old', 'gpt5_medium', 'gpt-5', 10, 5, 15, 0.5);
      INSERT INTO budget_management (year_month, budget_limit_usd, spent_usd) VALUES ('2024-12', 100, 0.5);
      INSERT INTO workers (worker_id, worker_type, model_name, api_endpoint, status) VALUES ('w', 'local', 'm', 'e', 'idle');`);
    expect(names(v1, 'table')).not.toContain('worker_metrics');
    v1.close();

    const db = track(openLedgerDb(temp.file));
    expect(db.pragma('user_version', { simple: true })).toBe(latestVersion());
    expect(getTask(db, 'old')).toMatchObject({ status: 'completed', reason: null, resultSummary: null });
    expect(db.prepare('SELECT cost_usd, cached_prompt_tokens, reasoning_tokens, usage_id FROM cost_tracking').get())
      .toEqual({ cost_usd: 0.5, cached_prompt_tokens: 0, reasoning_tokens: 0, usage_id: null });
    expect(getBudgetStatus(db, '2024-12')).toMatchObject({ spentUsd: 0.5, remainingUsd: 99.5 });
    expect(getWorker(db, 'w')).toMatchObject({ location: 'local', performanceFactor: 1 });
    expect(names(db, 'table')).toEqual(expect.arrayContaining(['worker_metrics', 'budget_reservations']));
  });

  it('rolls back a failing migration entirely, leaving the previous version', () => {
    const broken = [...MIGRATIONS.slice(0, 2), { version: 3, name: 'broken', up: 'CREATE TABLE half (a); SELECT no_such_function();' }];
    expect(() => openLedgerDb(temp.file, { migrations: broken })).toThrow(/no_such_function/);
    const raw = track(new Database(temp.file));
    expect(raw.pragma('user_version', { simple: true })).toBe(2);
    expect(names(raw, 'table')).not.toContain('half');
    expect(() => openLedgerDb(temp.file, { migrations: [MIGRATIONS[1]!] })).toThrow(/numbered 1..n/);
  });

  it('refuses a database from a newer koubou with a typed error, leaving the file untouched', () => {
    const raw = new Database(temp.file);
    raw.pragma('user_version = 99');
    raw.close();
    let err: unknown;
    try { openLedgerDb(temp.file); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(LedgerVersionError);
    const e = err as LedgerVersionError;
    expect(e.code).toBe('LEDGER_TOO_NEW');
    expect(e).toMatchObject({ file: temp.file, foundVersion: 99, supportedVersion: latestVersion() });
    expect(e.message).toContain(temp.file);
    expect(e.message).toMatch(/version 99\b/);
    expect(e.message).toContain(`up to ${latestVersion()}`);
    expect(e.message).toMatch(/upgrade koubou/i);
    const after = track(new Database(temp.file));
    expect(after.pragma('journal_mode', { simple: true })).toBe('delete'); // not switched to WAL
    expect(names(after, 'table')).toEqual([]);
    expect(() => openLedgerDb(temp.file, { readonly: true })).toThrow(LedgerVersionError);
  });

  it('opens read-only without writing, and refuses a read-only open that would need migrating', () => {
    track(openLedgerDb(temp.file)).close();
    const ro = track(openLedgerDb(temp.file, { readonly: true }));
    expect(getTask(ro, 'x')).toBeNull();
    expect(() => upsertTask(ro, task())).toThrow(/readonly/);
    const old = path.join(temp.dir, 'old.db');
    openLedgerDb(old, { migrations: MIGRATIONS.slice(0, 1) }).close();
    expect(() => openLedgerDb(old, { readonly: true })).toThrow(LedgerMigrationRequiredError);
    expect(() => openLedgerDb(path.join(temp.dir, 'missing.db'), { readonly: true })).toThrow();
  });
});

