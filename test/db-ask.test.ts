/**
 * Migration 11: task_master keeps each task's ask (its events' prompt summary), written by the
 * ledger's EventWriter and answered by the ledger's status and task queries. A real SQLite file.
 */
import { describe, expect, it } from 'vitest';
import { EventWriter, statusReply, taskReply, type TaskReply } from '../actors/ledger/index.ts';
import type { TaskEventMessage, UsageEvent } from '../src/bus/index.ts';
import { getTask, MIGRATIONS, openLedgerDb } from '../src/db/index.ts';
import { useTempLedger } from './support/util.ts';

const temp = useTempLedger();
const budget = { monthlyLimitUsd: 100, alertThresholdPercent: 80 };

function event(taskId: string, seq: number, over: Partial<TaskEventMessage> = {}): TaskEventMessage {
  return {
    taskId, seq, at: new Date().toISOString(), status: 'routing', state: `State${seq}`, reason: `step ${seq}`, tier: null,
    attempt: 0, type: 'documentation', priority: 5, sensitivity: { level: 'public', categories: [] },
    difficulty: { level: 'low', score: 0, tokens: 40 }, promptSummary: 'fix a typo in README.md', workerId: null,
    reservationId: null, error: null, ...over,
  };
}

describe('migration 11: the ask of each task', () => {
  it('adds ask_summary to a version-10 database, its rows kept with no ask', () => {
    const v10 = openLedgerDb(temp.file, { migrations: MIGRATIONS.slice(0, 10) });
    v10.exec(`INSERT INTO task_master (task_id, task_type, difficulty_level, sensitivity_level, status, result_summary)
      VALUES ('old', 'general', 'low', 'public', 'completed', 'done')`);
    v10.close();
    const db = temp.track(openLedgerDb(temp.file, { migrations: MIGRATIONS.slice(0, 11) }));
    expect(db.pragma('user_version', { simple: true })).toBe(11);
    expect(getTask(db, 'old')).toMatchObject({ status: 'completed', resultSummary: 'done', askSummary: null });
    const cols = db.prepare<[], { name: string }>("SELECT name FROM pragma_table_xinfo('task_master')").all().map((c) => c.name);
    expect(cols.at(-1)).toBe('ask_summary');
  });
});

describe('EventWriter: the ask', () => {
  it('is written from the task events and answered by the status and task queries', () => {
    const db = temp.track(openLedgerDb(temp.file));
    const writer = new EventWriter(db, budget);
    expect(writer.taskEvents([event('t1', 1, { status: 'pending', state: 'ReceiveTask' }), event('t1', 2)])).toBe('applied');
    expect(getTask(db, 't1')?.askSummary).toBe('fix a typo in README.md');
    expect((taskReply(db, 't1') as TaskReply).task.askSummary).toBe('fix a typo in README.md');
    const status = statusReply(db, budget);
    expect(status.recentTasks).toEqual([expect.objectContaining({ taskId: 't1', status: 'routing', askSummary: 'fix a typo in README.md' })]);
  });

  it('follows the newest event: work found confidential later keeps only its size and categories; a late older event does not bring the text back', () => {
    const db = temp.track(openLedgerDb(temp.file));
    const writer = new EventWriter(db, budget);
    writer.taskEvents([event('t2', 1, { status: 'pending', state: 'ReceiveTask', promptSummary: 'rotate the key sk-live-1234' })]);
    const redacted = '[confidential: 27 characters; credential]';
    writer.taskEvents([event('t2', 2, { status: 'assigned', tier: 'local', sensitivity: { level: 'confidential', categories: ['credential'] }, promptSummary: redacted })]);
    expect(getTask(db, 't2')?.askSummary).toBe(redacted);
    // A redelivery of the first event, after the second was written.
    writer.taskEvents([event('t2', 1, { status: 'pending', state: 'ReceiveTask', promptSummary: 'rotate the key sk-live-1234' })]);
    expect(getTask(db, 't2')?.askSummary).toBe(redacted);
  });

  it('fills the ask of a row a usage created before the task\'s first event', () => {
    const db = temp.track(openLedgerDb(temp.file));
    const writer = new EventWriter(db, budget);
    const usage: UsageEvent = {
      usageId: 'u1', taskId: 't3', attempt: 1, workerId: 'w', tier: 'gpt5_medium', model: 'gpt-5', promptTokens: 10,
      cachedPromptTokens: 0, completionTokens: 5, reasoningTokens: 0, costUsd: 0.01, reservationId: null, at: new Date().toISOString(),
    };
    expect(writer.usage(usage)).toBe('applied');
    expect(getTask(db, 't3')?.askSummary).toBeNull();
    writer.taskEvents([event('t3', 1, { status: 'in_progress', tier: 'gpt5_medium', promptSummary: 'add a retry to the HTTP client' })]);
    expect(getTask(db, 't3')).toMatchObject({ askSummary: 'add a retry to the HTTP client', actualCost: 0.01 });
  });
});
