import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { useTempLedger } from './support/util.ts';
import {
  averageExecutionTimes, costSince, countTasksByStatus, getBudgetStatus, getReservation, getTask,
  listFallbacks, listRecentTasks, listRejections, listRoutingDecisions, listWorkers,
  MAX_PAYLOAD_EXCERPT, monthToDateSpend, openLedgerDb, recordFallback, recordRejection,
  recordRoutingDecision, recordUsage, recordWorkerMetric, reserveBudget, setPerformanceFactor,
  updateTask, upsertTask, upsertWorker, workerStats, type LedgerDb, type TaskWrite, type UsageRecord,
} from '../src/db/index.ts';

const temp = useTempLedger();
const track = temp.track;

const TS = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;
const task = (over: Partial<TaskWrite> = {}): TaskWrite => ({
  taskId: 't1', taskType: 'code_generation', difficulty: 'medium', sensitivity: 'public',
  status: 'pending', ...over,
});
const usage = (over: Partial<UsageRecord> = {}): UsageRecord => ({
  usageId: 'u1', taskId: 't1', tier: 'gpt5_high', model: 'gpt-5', promptTokens: 1000,
  cachedPromptTokens: 200, completionTokens: 500, reasoningTokens: 300, costUsd: 0.25, ...over,
});

describe('tasks', () => {
  it('inserts, updates and keeps unspecified fields', () => {
    const db = track(openLedgerDb(temp.file));
    const now = new Date('2025-05-01T10:00:00Z');
    expect(upsertTask(db, task({ estimatedTokens: 1200, reason: 'submitted' }), { now }))
      .toEqual({ created: true, applied: true, previousStatus: null, status: 'pending', refused: null });
    const later = new Date('2025-05-01T10:00:05Z');
    expect(upsertTask(db, task({ status: 'assigned', tier: 'gpt5_medium', estimatedCost: 0.01 }), { now: later }))
      .toEqual({ created: false, applied: true, previousStatus: 'pending', status: 'assigned', refused: null });
    expect(getTask(db, 't1')).toMatchObject({
      status: 'assigned', tier: 'gpt5_medium', priority: 5, estimatedTokens: 1200, estimatedCost: 0.01,
      reason: 'submitted', createdAt: '2025-05-01 10:00:00', updatedAt: '2025-05-01 10:00:05',
    });
    expect(updateTask(db, 'missing', { status: 'failed' })).toBeNull();
    expect(() => upsertTask(db, task({ taskId: 't2', priority: 11 }))).toThrow(RangeError);
  });

  it('never moves a task back to pending or out of a final status', () => {
    const db = track(openLedgerDb(temp.file));
    upsertTask(db, task());
    updateTask(db, 't1', { status: 'in_progress', tier: 'local' });
    expect(upsertTask(db, task())).toMatchObject({ applied: false, status: 'in_progress', refused: 'a task cannot return to pending' }); // redelivery
    expect(updateTask(db, 't1', { status: 'assigned', tier: 'gpt5_medium' })).toMatchObject({ applied: true });
    expect(updateTask(db, 't1', { status: 'completed', resultSummary: '3 files' })).toMatchObject({ applied: true });
    expect(updateTask(db, 't1', { status: 'failed', error: 'late' })).toMatchObject({ applied: false, status: 'completed', refused: 'task is completed' });
    expect(updateTask(db, 't1', { resultSummary: '4 files' })).toMatchObject({ applied: true, status: 'completed' });
    expect(getTask(db, 't1')).toMatchObject({ status: 'completed', error: null, resultSummary: '4 files', tier: 'gpt5_medium' });
  });

  it('counts by status within a window and lists recent tasks newest first', () => {
    const db = track(openLedgerDb(temp.file));
    const now = new Date('2025-05-02T12:00:00Z');
    upsertTask(db, task({ taskId: 'old' }), { now: new Date('2025-05-01T11:00:00Z') });
    upsertTask(db, task({ taskId: 'a' }), { now: new Date('2025-05-02T09:00:00Z') });
    upsertTask(db, task({ taskId: 'b', status: 'routing' }), { now: new Date('2025-05-02T10:00:00Z') });
    const counts = countTasksByStatus(db, 24, { now });
    expect(counts).toMatchObject({ pending: 1, routing: 1, completed: 0 });
    expect(Object.keys(counts)).toHaveLength(7);
    expect(listRecentTasks(db).map((t) => t.taskId)).toEqual(['b', 'a', 'old']);
    expect(listRecentTasks(db, { status: 'pending', sinceHours: 24, now }).map((t) => t.taskId)).toEqual(['a']);
    expect(listRecentTasks(db, { limit: 1 })).toHaveLength(1);
  });

  it('stores timestamps as UTC text that datetime(\'now\', ...) comparisons understand', () => {
    const db = track(openLedgerDb(temp.file));
    upsertTask(db, task());
    expect(getTask(db, 't1')?.createdAt).toMatch(TS);
    const n = db.prepare("SELECT COUNT(*) AS n FROM task_master WHERE created_at > datetime('now', '-24 hours')").get();
    expect(n).toEqual({ n: 1 });
  });
});

describe('costs', () => {
  it('records usage once per usageId and moves month, task and reservation in one go', () => {
    const db = track(openLedgerDb(temp.file));
    const now = new Date('2025-06-15T08:00:00Z');
    upsertTask(db, task());
    reserveBudget(db, { reservationId: 'r1', taskId: 't1', tier: 'gpt5_high', amountUsd: 1, yearMonth: '2025-06', limitUsd: 10 }, { now });
    const u = usage({ reservationId: 'r1' });
    expect(recordUsage(db, u, { monthlyLimitUsd: 10, now })).toBe(true);
    expect(recordUsage(db, u, { monthlyLimitUsd: 10, now })).toBe(false);
    expect(recordUsage(db, { ...u, costUsd: 99 }, { monthlyLimitUsd: 10, now })).toBe(false);
    expect(db.prepare('SELECT COUNT(*) AS n FROM cost_tracking').get()).toEqual({ n: 1 });
    expect(getBudgetStatus(db, '2025-06')).toMatchObject({ spentUsd: 0.25, reservedUsd: 0, remainingUsd: 9.75 });
    expect(getReservation(db, 'r1')).toMatchObject({ status: 'settled', actualUsd: 0.25, settledAt: '2025-06-15 08:00:00' });
    expect(getTask(db, 't1')).toMatchObject({ actualCost: 0.25, actualTokens: 1500 });
    expect(monthToDateSpend(db, '2025-06')).toBe(0.25);
    expect(monthToDateSpend(db, undefined, { now })).toBe(0.25);
  });

  it('summarises cost by tier and model over a window', () => {
    const db = track(openLedgerDb(temp.file));
    const now = new Date('2025-06-15T08:00:00Z');
    const old = new Date('2025-06-13T08:00:00Z');
    recordUsage(db, usage({ usageId: 'a', taskId: null, costUsd: 0.5 }), { monthlyLimitUsd: 10, now });
    recordUsage(db, usage({ usageId: 'b', taskId: null, costUsd: 0.25 }), { monthlyLimitUsd: 10, now });
    recordUsage(db, usage({ usageId: 'c', taskId: null, tier: 'local', model: 'gpt-oss:20b', costUsd: 0 }), { monthlyLimitUsd: 10, now });
    recordUsage(db, usage({ usageId: 'd', taskId: null, costUsd: 5 }), { monthlyLimitUsd: 10, now: old });
    expect(costSince(db, 24, { now })).toEqual([
      { tier: 'gpt5_high', model: 'gpt-5', requests: 2, promptTokens: 2000, cachedPromptTokens: 400,
        completionTokens: 1000, reasoningTokens: 600, totalTokens: 3000, costUsd: 0.75 },
      { tier: 'local', model: 'gpt-oss:20b', requests: 1, promptTokens: 1000, cachedPromptTokens: 200,
        completionTokens: 500, reasoningTokens: 300, totalTokens: 1500, costUsd: 0 },
    ]);
    expect(getBudgetStatus(db, '2025-06')?.spentUsd).toBeCloseTo(5.75, 9);
    expect(monthToDateSpend(db, '2025-06')).toBeCloseTo(5.75, 9);
  });

  it('charges nothing when the usage row is refused', () => {
    const db = track(openLedgerDb(temp.file));
    const now = new Date('2025-06-15T08:00:00Z');
    expect(() => recordUsage(db, usage({ taskId: 'unknown' }), { monthlyLimitUsd: 10, now })).toThrow(/FOREIGN KEY/);
    expect(() => recordUsage(db, usage({ costUsd: -1 }), { monthlyLimitUsd: 10, now })).toThrow(RangeError);
    expect(getBudgetStatus(db, '2025-06')).toBeNull();
    expect(db.prepare('SELECT COUNT(*) AS n FROM cost_tracking').get()).toEqual({ n: 0 });
  });
});

describe('workers and metrics', () => {
  it('upserts heartbeats without wiping measured values', () => {
    const db = track(openLedgerDb(temp.file));
    const base = { workerId: 'remote_lan_001', workerType: 'local' as const, modelName: 'gpt-oss:20b', apiEndpoint: 'http://192.168.1.100:11434' };
    upsertWorker(db, { ...base, status: 'idle', location: '192.168.1.100', performanceFactor: 0.5, capabilities: ['general', 'testing'] },
      { now: new Date('2025-01-01T00:00:00Z') });
    expect(setPerformanceFactor(db, 'remote_lan_001', 0.42)).toBe(true);
    expect(setPerformanceFactor(db, 'nobody', 1)).toBe(false);
    expect(() => setPerformanceFactor(db, 'remote_lan_001', 0)).toThrow(RangeError);
    const w = upsertWorker(db, { ...base, status: 'busy' }, { now: new Date('2025-01-01T00:00:30Z') });
    expect(w).toMatchObject({ status: 'busy', location: '192.168.1.100', performanceFactor: 0.42,
      capabilities: ['general', 'testing'], lastHeartbeat: '2025-01-01 00:00:30', createdAt: '2025-01-01 00:00:00' });
    upsertWorker(db, { workerId: 'local_001', workerType: 'local', modelName: 'gpt-oss:20b', apiEndpoint: 'http://localhost:11434', status: 'idle' });
    expect(listWorkers(db).map((x) => [x.workerId, x.location, x.performanceFactor]))
      .toEqual([['local_001', 'local', 1], ['remote_lan_001', '192.168.1.100', 0.42]]);
    expect(() => upsertWorker(db, { ...base, status: 'napping' as 'idle' })).toThrow(/CHECK constraint failed/);
  });

  it('computes per-worker stats and average execution times over a window', () => {
    const db = track(openLedgerDb(temp.file));
    const now = new Date('2025-01-02T00:00:00Z');
    const recent = { now: new Date('2025-01-01T12:00:00Z') };
    upsertTask(db, task());
    upsertWorker(db, { workerId: 'local_001', workerType: 'local', modelName: 'm', apiEndpoint: 'e', status: 'idle' });
    upsertWorker(db, { workerId: 'remote', workerType: 'local', modelName: 'm', apiEndpoint: 'e', status: 'idle', location: 'lan' });
    recordWorkerMetric(db, { workerId: 'local_001', taskId: 't1', executionTimeMs: 1000, success: true }, recent);
    recordWorkerMetric(db, { workerId: 'local_001', taskId: 't1', executionTimeMs: 3000, success: false, errorType: 'timeout' }, recent);
    recordWorkerMetric(db, { workerId: 'local_001', taskId: 't1', executionTimeMs: 9999, success: true }, { now: new Date('2024-12-30T00:00:00Z') });
    recordWorkerMetric(db, { workerId: 'remote', taskId: 't1', executionTimeMs: 4000, success: true }, recent);
    expect(workerStats(db, 'local_001', 24, { now })).toEqual({ totalTasks: 2, successfulTasks: 1,
      avgExecutionTimeMs: 2000, minExecutionTimeMs: 1000, maxExecutionTimeMs: 3000, successRate: 0.5 });
    expect(workerStats(db, 'nobody', 24, { now })).toMatchObject({ totalTasks: 0, successfulTasks: 0, avgExecutionTimeMs: null });
    expect(averageExecutionTimes(db, 24, { now })).toEqual([
      { workerId: 'local_001', location: 'local', tasks: 2, avgExecutionTimeMs: 2000 },
      { workerId: 'remote', location: 'lan', tasks: 1, avgExecutionTimeMs: 4000 },
    ]);
  });
});

describe('audit trail', () => {
  it('records routing decisions with reasons, fallbacks and rejections', () => {
    const db = track(openLedgerDb(temp.file));
    recordRoutingDecision(db, 't1', 'AnalyzeSensitivity', null, ['public']);
    recordRoutingDecision(db, 't1', 'RouteByDifficulty', 'gpt5_high', ['architecture keyword', 'score 7']);
    recordRoutingDecision(db, 't2', 'RouteToLocal', 'local', []);
    expect(listRoutingDecisions(db, { taskId: 't1' }).map((d) => [d.state, d.tier, d.reasons])).toEqual([
      ['AnalyzeSensitivity', null, ['public']],
      ['RouteByDifficulty', 'gpt5_high', ['architecture keyword', 'score 7']],
    ]);
    expect(listRoutingDecisions(db, { limit: 1 })[0]).toMatchObject({ taskId: 't2', createdAt: expect.stringMatching(TS) });

    recordFallback(db, { taskId: 't1', fromTier: 'gpt5_high', toTier: 'gpt5_medium', reason: 'rate limited', phase: 'routing' });
    recordFallback(db, { taskId: 't1', fromTier: 'gpt5_medium', toTier: 'local', reason: '500', phase: 'execution' });
    expect(listFallbacks(db, { taskId: 't1' }).map((f) => f.toTier)).toEqual(['gpt5_medium', 'local']);
    expect(listFallbacks(db, { sinceHours: 1 })[0]).toMatchObject({ phase: 'execution' });
    expect(() => recordFallback(db, { taskId: 't1', fromTier: 'local', toTier: 'local', reason: 'x', phase: 'later' as 'routing' }))
      .toThrow(/CHECK constraint failed/);

    recordRejection(db, { subject: 'koubou.tasks.submit', reason: 'invalid JSON', payloadExcerpt: 'x'.repeat(2000) });
    recordRejection(db, { subject: 'koubou.tasks.submit', reason: 'missing taskId' });
    const [latest, first] = listRejections(db);
    expect(latest).toMatchObject({ reason: 'missing taskId', payloadExcerpt: null });
    expect(first?.payloadExcerpt).toHaveLength(MAX_PAYLOAD_EXCERPT);
  });
});
