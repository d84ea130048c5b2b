/**
 * Protocol 6: a gateway records a task it ran itself as one message, its events with the
 * executions of its calls. The ledger writes it whole, in one transaction, in the order a
 * router and a worker would have told it (the events up to the end, the charge, the final
 * event), once however often it is delivered, and refuses a record of another task in it.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EventWriter } from '../actors/ledger/EventWriter.ts';
import { encode, MessageError, SUBJECTS, type Execution, type TaskEventMessage } from '../src/bus/index.ts';
import { getTask, openLedgerDb, unreservedReport, type LedgerDb } from '../src/db/index.ts';

let db: LedgerDb;
afterEach(() => db?.close());

const at = new Date().toISOString();
const event = (taskId: string, seq: number, status: TaskEventMessage['status'], state: string, extra: Partial<TaskEventMessage> = {}): TaskEventMessage => ({
  taskId, seq, at, status, state, reason: state, tier: 'gpt5_medium', attempt: 1, type: 'general', priority: 5,
  sensitivity: { level: 'public', categories: [] }, difficulty: { level: 'low', score: 0, tokens: 12 }, promptSummary: 'rename x',
  workerId: null, reservationId: 'r-gw', error: null, ...extra,
});
const usage = { at, usageId: 'gw-1:1:1', attempt: 1, workerId: 'gateway-1', tier: 'gpt5_medium', model: 'gpt-5', promptTokens: 100, cachedPromptTokens: 0, completionTokens: 20, reasoningTokens: 0, costUsd: 0.0003, reservationId: null };
const execution = (taskId: string): Execution => ({
  executionId: `${taskId}:1:gateway-1:1`, taskId, attempt: 1, workerId: 'gateway-1', tier: 'gpt5_medium', success: true, errorType: null,
  executionTimeMs: 3, promptTokens: 100, outputTokens: 20, promptLength: 40, outputLength: 80, calls: [{ ...usage, taskId }], at,
});
const records = (taskId: string, executions: Execution[]) => encode({
  events: [
    event(taskId, 1, 'pending', 'ReceiveTask'),
    event(taskId, 2, 'assigned', 'Assigned'),
    event(taskId, 3, 'in_progress', 'InProgress', { workerId: 'gateway-1' }),
    event(taskId, 4, 'completed', 'Completed', { workerId: 'gateway-1', result: { text: 'done', model: 'gpt-5', workerId: 'gateway-1' } }),
  ],
  executions,
});

describe('a task recorded in one message (protocol 6)', () => {
  it('writes the task, its execution and its charge together, once', () => {
    db = openLedgerDb(join(mkdtempSync(join(tmpdir(), 'koubou-records-')), 'ledger.db'));
    const writer = new EventWriter(db, { monthlyLimitUsd: 100 });
    const data = records('gw-1', [execution('gw-1')]);
    expect(writer.write(SUBJECTS.taskEvent('gw-1'), data)).toBe('applied');
    expect(getTask(db, 'gw-1')?.status).toBe('completed');
    expect(db.prepare('SELECT cost_usd AS usd FROM cost_tracking WHERE task_id = ?').all('gw-1')).toEqual([{ usd: 0.0003 }]);
    expect(db.prepare('SELECT COUNT(*) AS n FROM worker_metrics WHERE task_id = ?').get('gw-1')).toEqual({ n: 1 });
    // Delivered again (a redelivery, a republished message): nothing is written twice.
    expect(writer.write(SUBJECTS.taskEvent('gw-1'), data)).toBe('duplicate');
    expect(db.prepare('SELECT COUNT(*) AS n FROM cost_tracking WHERE task_id = ?').get('gw-1')).toEqual({ n: 1 });
    // Charged without a reservation here (none was granted in this file): the watch says so, once.
    expect(unreservedReport(db).calls).toBe(1);
  });

  it('refuses a message that carries another task\'s execution, and writes nothing of it', () => {
    db = openLedgerDb(join(mkdtempSync(join(tmpdir(), 'koubou-records-')), 'ledger.db'));
    const writer = new EventWriter(db, { monthlyLimitUsd: 100 });
    expect(() => writer.write(SUBJECTS.taskEvent('gw-2'), records('gw-2', [execution('gw-other')]))).toThrow(MessageError);
    expect(getTask(db, 'gw-2')).toBeNull();
    expect(db.prepare('SELECT COUNT(*) AS n FROM cost_tracking').get()).toEqual({ n: 0 });
  });
});
