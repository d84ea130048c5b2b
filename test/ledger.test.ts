import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { Ledger, type StatusReply, type TaskReply } from '../actors/ledger/index.ts';
import {
  CONSUMERS, encode, ensureStreams, MSG_ID, STREAMS, SUBJECTS,
  type Execution, type Heartbeat, type Rejection, type TaskEventMessage, type UsageEvent,
} from '../src/bus/index.ts';
import { loadConfig } from '../src/config/index.ts';
import {
  currentYearMonth, getBudgetStatus, getReservation, getTask, getWorker, listFallbacks, listRejections,
  listRoutingDecisions, openLedgerDb, type LedgerDb,
  latestRateLimitSignals,
} from '../src/db/index.ts';
import { startNats, type TestNats } from './support/nats.ts';
import { sleep, uniqueId } from './support/util.ts';

const config = loadConfig({ env: {} });
let nats: TestNats;
let db: LedgerDb;
let ledgerNc: NatsConnection;
let ledger: Ledger;
let router: NatsConnection;
let worker: NatsConnection;
let js: JetStreamClient;
let jsm: JetStreamManager;

const uid = uniqueId;

beforeAll(async () => {
  nats = await startNats();
  await nats.setup();
  db = openLedgerDb(join(mkdtempSync(join(tmpdir(), 'koubou-ledger-')), 'ledger.db'));
  ledgerNc = await nats.connect('ledger');
  ledger = new Ledger({ nc: ledgerNc, db, config, heartbeatWriteIntervalMs: 100 });
  await ledger.start();
  router = await nats.connect('router');
  worker = await nats.connect('cloud_worker');
  js = jetstream(router);
  jsm = await jetstreamManager(router);
});
afterAll(async () => {
  await ledger?.stop();
  db?.close();
  await nats?.stop();
});

function event(taskId: string, seq: number, status: TaskEventMessage['status'], over: Partial<TaskEventMessage> = {}): TaskEventMessage {
  return {
    taskId, seq, at: new Date().toISOString(), status, state: `State${seq}`, reason: `step ${seq}`, tier: 'gpt5_medium',
    attempt: 1, type: 'refactoring', priority: 5, sensitivity: { level: 'public', categories: [] },
    difficulty: { level: 'medium', score: 1, tokens: 120 }, promptSummary: 'refactor the parser', workerId: null,
    reservationId: null, error: null, ...over,
  };
}

function usage(taskId: string, over: Partial<UsageEvent> = {}): UsageEvent {
  return {
    usageId: uid('usage'), taskId, attempt: 1, workerId: 'gpt5_medium-1', tier: 'gpt5_medium', model: 'gpt-5',
    promptTokens: 1000, cachedPromptTokens: 0, completionTokens: 500, reasoningTokens: 200, costUsd: 0.25,
    reservationId: null, at: new Date().toISOString(), ...over,
  };
}

const publishEvent = (e: TaskEventMessage, msgID = `${e.taskId}:${e.seq}`) =>
  js.publish(SUBJECTS.taskEvent(e.taskId), encode(e), { msgID });
const publishUsage = (u: UsageEvent, msgID = u.usageId) => jetstream(worker).publish(SUBJECTS.usage, encode(u), { msgID });
const ask = async <T>(subject: string, body: unknown): Promise<T> => (await router.request(subject, encode(body), { timeout: 3000 })).json<T>();
const count = (sql: string, ...args: unknown[]) => (db.prepare(sql).get(...args) as { n: number }).n;

/** Resolves once the ledger has acked everything in the stream: every earlier event is committed. */
async function settled(timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const info = await jsm.consumers.info(STREAMS.events, CONSUMERS.ledger);
    if (info.num_pending === 0 && info.num_ack_pending === 0) return;
    if (Date.now() > end) throw new Error(`ledger not settled: ${info.num_pending} pending, ${info.num_ack_pending} unacked`);
    await sleep(20);
  }
}

async function waitFor<T>(what: string, fn: () => T | null | undefined | false, timeoutMs = 5000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

describe('ledger: task events', () => {
  it('writes each state to task_master, one audit row per event, the fallback, and releases the reservation at the end', async () => {
    const id = uid('task');
    const reservationId = `${id}/try-1`;
    const reserve = await ask<{ granted: boolean; reason: string }>(SUBJECTS.budgetReserve, {
      reservationId, taskId: id, tier: 'gpt5_high', amountUsd: 0.5, yearMonth: currentYearMonth(),
    });
    expect(reserve).toEqual({ granted: true, reason: 'granted' });
    const text = 'x'.repeat(150) + 'y'.repeat(350);
    await publishEvent(event(id, 1, 'pending', { tier: null, sensitivity: null, state: 'ReceiveTask' }));
    await publishEvent(event(id, 2, 'routing', { tier: null }));
    await publishEvent(event(id, 3, 'assigned', {
      tier: 'gpt5_medium', reservationId, fallback: { from: 'gpt5_high', to: 'gpt5_medium', reason: 'rate limited', phase: 'routing' },
    }));
    await settled();
    expect(getTask(db, id)).toMatchObject({ status: 'assigned', tier: 'gpt5_medium', sensitivity: 'public' });
    await publishEvent(event(id, 4, 'in_progress', { reservationId, workerId: 'w1' }));
    await publishEvent(event(id, 5, 'completed', {
      reservationId, state: 'Completed', reason: 'done', result: { text, model: 'gpt-5', workerId: 'w1' },
    }));
    await settled();
    expect(getTask(db, id)).toMatchObject({
      status: 'completed', tier: 'gpt5_medium', taskType: 'refactoring', difficulty: 'medium', sensitivity: 'public',
      priority: 5, estimatedTokens: 120, reason: 'done', resultSummary: text.slice(0, 200),
    });
    const audit = listRoutingDecisions(db, { taskId: id });
    expect(audit.map((a) => a.state)).toEqual(['ReceiveTask', 'State2', 'State3', 'State4', 'Completed']);
    expect(audit[2]).toMatchObject({ tier: 'gpt5_medium', reasons: ['step 3'] });
    expect(listFallbacks(db, { taskId: id })).toMatchObject([{ fromTier: 'gpt5_high', toTier: 'gpt5_medium', reason: 'rate limited', phase: 'routing' }]);
    expect(getReservation(db, reservationId)?.status).toBe('released');
  });

  it('records the error of a failed task and keeps the text of a confidential result out of the ledger', async () => {
    const failed = uid('failed');
    const secret = uid('secret');
    await publishEvent(event(failed, 1, 'failed', { error: { code: 'PROVIDER_TIMEOUT', message: 'no answer in 300 s' } }));
    await publishEvent(event(secret, 1, 'completed', {
      tier: 'local', sensitivity: { level: 'confidential', categories: ['credential'] },
      result: { text: 'password = hunter2 and more', model: 'gpt-oss:20b', workerId: 'local-1' },
    }));
    await settled();
    expect(getTask(db, failed)).toMatchObject({ status: 'failed', error: 'PROVIDER_TIMEOUT: no answer in 300 s' });
    expect(getTask(db, secret)).toMatchObject({ sensitivity: 'confidential', resultSummary: '[confidential: 27 characters]' });
  });

  it('writes a redelivered event or usage once, and a late older event does not set the status back', async () => {
    const id = uid('redeliver');
    const month = currentYearMonth();
    const spentBefore = getBudgetStatus(db, month)?.spentUsd ?? 0;
    const duplicatesBefore = ledger.stats.duplicates;
    const u = usage(id);
    await publishEvent(event(id, 1, 'pending'));
    await publishEvent(event(id, 2, 'routing'));
    await publishEvent(event(id, 1, 'pending'), `${id}:1:again`);
    await publishEvent(event(id, 2, 'routing'), `${id}:2:again`);
    await publishUsage(u);
    await publishUsage(u, `${u.usageId}:again`);
    await publishEvent(event(id, 4, 'in_progress'));
    await publishEvent(event(id, 3, 'assigned'));
    await settled();
    expect(listRoutingDecisions(db, { taskId: id }).map((a) => a.state)).toEqual(['State1', 'State2', 'State4', 'State3']);
    expect(getTask(db, id)).toMatchObject({ status: 'in_progress', actualCost: 0.25, actualTokens: 1500 });
    expect(count('SELECT COUNT(*) AS n FROM cost_tracking WHERE usage_id = ?', u.usageId)).toBe(1);
    expect(getBudgetStatus(db, month)!.spentUsd).toBeCloseTo(spentBefore + 0.25, 9);
    expect(ledger.stats.duplicates - duplicatesBefore).toBe(3);
  });

  it('charges a usage that arrives before the task\'s first event, and the event then fills in the task', async () => {
    const id = uid('early');
    await publishUsage(usage(id, { costUsd: 0.1, tier: 'gpt5_high' }));
    await settled();
    expect(getTask(db, id)).toMatchObject({ status: 'pending', actualCost: 0.1, reason: 'usage recorded before any task event' });
    await publishEvent(event(id, 1, 'pending', { type: 'testing', difficulty: { level: 'high', score: 4, tokens: 900 } }));
    await settled();
    expect(getTask(db, id)).toMatchObject({ taskType: 'testing', difficulty: 'high', sensitivity: 'public', actualCost: 0.1, reason: 'step 1' });
  });
});

describe('ledger: an execution carrying its call (protocol 4)', () => {
  it('charges the calls an execution carries once, with its metric, even when the same usage also comes on its own', async () => {
    const id = uid('folded');
    const month = currentYearMonth();
    const spentBefore = getBudgetStatus(db, month)?.spentUsd ?? 0;
    const u = usage(id, { costUsd: 0.2 });
    const execution: Execution = {
      executionId: `${id}:1:gpt5_medium-1:1`, taskId: id, attempt: 1, workerId: 'gpt5_medium-1', tier: 'gpt5_medium',
      success: true, errorType: null, executionTimeMs: 12, promptTokens: 1000, outputTokens: 500,
      promptLength: 4000, outputLength: 2000, calls: [u], at: new Date().toISOString(),
    };
    const publishExecution = (msgID: string) => jetstream(worker).publish(SUBJECTS.execution, encode(execution), { msgID });
    await publishEvent(event(id, 1, 'in_progress'));
    await publishExecution(MSG_ID.execution(execution.executionId));
    // Redelivered under another message id, and the same call charged by an older worker's own message.
    await publishExecution(`${execution.executionId}:again`);
    await publishUsage(u);
    await settled();
    expect(count('SELECT COUNT(*) AS n FROM cost_tracking WHERE usage_id = ?', u.usageId)).toBe(1);
    expect(count('SELECT COUNT(*) AS n FROM worker_metrics WHERE task_id = ?', id)).toBe(1);
    expect(getTask(db, id)).toMatchObject({ actualCost: 0.2, actualTokens: 1500 });
    expect(getBudgetStatus(db, month)!.spentUsd).toBeCloseTo(spentBefore + 0.2, 9);
  });
});

describe('ledger: poison messages', () => {
  it('records invalid messages as rejections, terminates them, and keeps processing the queue', async () => {
    const marker = uid('poison');
    const good = uid('good');
    const refusedBefore = ledger.stats.refused;
    const ignoredBefore = ledger.stats.ignored;
    await js.publish(SUBJECTS.taskEvent(marker), new TextEncoder().encode(`{not json ${marker}`));
    await jetstream(worker).publish(SUBJECTS.usage, encode({ usageId: marker, taskId: good }));
    await js.publish(SUBJECTS.taskEvent(`${marker}-other`), encode(event(marker, 1, 'pending')));
    await js.publish(SUBJECTS.rateLimit('gpt5_high'), encode({ tier: 'gpt5_high', headers: {}, status: 429, at: new Date().toISOString() }));
    await publishEvent(event(good, 1, 'completed'));
    await settled();
    expect(getTask(db, good)?.status).toBe('completed');
    expect(getTask(db, marker)).toBeNull();
    const rows = listRejections(db, { limit: 50 }).filter((r) => r.payloadExcerpt?.includes(marker));
    expect(rows).toHaveLength(3);
    expect(rows.map((r) => r.reason)).toEqual(expect.arrayContaining([
      expect.stringMatching(/^ledger: koubou\.evt\.task\.poison-[^:]*: not valid JSON/),
      expect.stringMatching(/^ledger: koubou\.evt\.task\..*-other: taskId ".*" does not match the subject/),
      expect.stringMatching(/^ledger: koubou\.evt\.usage: \w+: /),
    ]));
    expect(rows.map((r) => r.subject)).toContain(SUBJECTS.usage);
    expect(ledger.stats.refused - refusedBefore).toBe(3);
    // The rate-limit signal is kept for the dry run, not refused.
    expect(ledger.stats.ignored - ignoredBefore).toBe(0);
    expect(latestRateLimitSignals(db).find((s) => s.tier === 'gpt5_high')?.status).toBe(429);
  });

  it('records a rejection published by a router once, even when it is published twice', async () => {
    const marker = uid('rejected');
    const r: Rejection = { subject: SUBJECTS.submit, reason: `duplicate task id ${marker}`, taskId: marker, excerpt: `{"taskId":"${marker}"}`, by: 'router-1', at: new Date().toISOString() };
    await js.publish(SUBJECTS.rejected, encode(r), { msgID: `${marker}-a` });
    await js.publish(SUBJECTS.rejected, encode(r), { msgID: `${marker}-b` });
    await settled();
    const rows = listRejections(db, { limit: 50 }).filter((x) => x.reason.includes(marker));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ subject: SUBJECTS.submit, reason: `router-1: duplicate task id ${marker} [task ${marker}]` });
  });
});

function heartbeat(workerId: string, over: Partial<Heartbeat> = {}): Heartbeat {
  return {
    workerId, tier: 'local', status: 'idle', location: 'remote', host: '192.168.1.100', endpoint: 'http://192.168.1.100:11434',
    model: 'gpt-oss:20b', capabilities: ['general', 'testing'], maxConcurrent: 2, currentTasks: [], load: 0, pid: 4242,
    at: new Date().toISOString(), ...over,
  };
}

describe('ledger: queries', () => {
  it('answers status, costs, budget and task queries with the ledger\'s figures', async () => {
    const id = uid('q');
    const wid = uid('qw');
    worker.publish(SUBJECTS.heartbeat(wid), encode(heartbeat(wid)));
    await publishEvent(event(id, 1, 'completed', { fallback: { from: 'gpt5_medium', to: 'local', reason: 'failed', phase: 'execution' } }));
    await publishUsage(usage(id, { costUsd: 1.5, tier: 'gpt5_high' }));
    await settled();
    await waitFor('worker row', () => getWorker(db, wid));

    const status = await ask<StatusReply>(SUBJECTS.ledgerQuery('status'), {});
    expect(status.workers.map((w) => w.workerId)).toContain(wid);
    expect(status.tasksByStatus.completed).toBe(count("SELECT COUNT(*) AS n FROM task_master WHERE status = 'completed'"));
    expect(status.cost24h.totalUsd).toBeCloseTo((db.prepare('SELECT SUM(cost_usd) AS s FROM cost_tracking').get() as { s: number }).s, 9);
    expect(status.cost24h.requests).toBe(count('SELECT COUNT(*) AS n FROM cost_tracking'));
    expect(status.budget).toEqual({ ...getBudgetStatus(db, currentYearMonth()), remainingUsd: undefined, availableUsd: undefined, alertReached: undefined });
    expect(status.budget.limitUsd).toBe(config.budget.monthly_usd);

    const costs = await ask<{ sinceHours: number; totalUsd: number; byTierModel: { tier: string; costUsd: number }[] }>(SUBJECTS.ledgerQuery('costs'), { sinceHours: 1 });
    expect(costs.sinceHours).toBe(1);
    expect(costs.totalUsd).toBeCloseTo(status.cost24h.totalUsd, 9);
    expect(costs.byTierModel.find((r) => r.tier === 'gpt5_high')?.costUsd).toBeGreaterThanOrEqual(1.5);

    const budget = await ask<StatusReply['budget']>(SUBJECTS.ledgerQuery('budget'), {});
    expect(budget).toEqual(status.budget);

    const task = await ask<TaskReply>(SUBJECTS.ledgerQuery('task'), { taskId: id });
    expect(task.task).toMatchObject({ taskId: id, status: 'completed', actualCost: 1.5 });
    expect(task.routing).toHaveLength(1);
    expect(task.fallbacks).toMatchObject([{ fromTier: 'gpt5_medium', toTier: 'local', phase: 'execution' }]);
  });

  it('answers bad requests with { error } and keeps serving', async () => {
    const raw = async (subject: string, data: string) => (await router.request(subject, new TextEncoder().encode(data), { timeout: 3000 })).json<{ error?: string }>();
    expect((await raw(SUBJECTS.budgetReserve, '{oops')).error).toMatch(/not valid JSON/);
    expect((await ask<{ error?: string }>(SUBJECTS.budgetReserve, { reservationId: 'r' })).error).toMatch(/taskId|tier|amountUsd|yearMonth/);
    expect((await ask<{ error?: string }>(SUBJECTS.ledgerQuery('costs'), { sinceHours: -1 })).error).toMatch(/sinceHours/);
    expect((await ask<{ error?: string }>(SUBJECTS.budgetRelease, {})).error).toMatch(/reservationId/);
    expect((await ask<{ error?: string }>(SUBJECTS.ledgerQuery('task'), { taskId: 'never-seen' })).error).toMatch(/unknown task never-seen/);
    expect((await ask<{ released: boolean }>(SUBJECTS.budgetRelease, { reservationId: 'never-reserved' }))).toEqual({ released: false });
    expect((await raw(SUBJECTS.ledgerQuery('budget'), '')).error).toBeUndefined();
  });
});

describe('ledger: restart and replay', () => {
  it('replays the whole event stream into the same file without changing a row', async () => {
    await settled();
    await ledger.stop();
    const tables = ['task_master', 'routing_audit', 'fallback_log', 'cost_tracking', 'task_rejections', 'budget_reservations'];
    const snapshot = () => ({
      rows: Object.fromEntries(tables.map((t) => [t, count(`SELECT COUNT(*) AS n FROM ${t}`)])),
      spent: getBudgetStatus(db, currentYearMonth())!.spentUsd,
      statuses: db.prepare('SELECT task_id, status, actual_cost FROM task_master ORDER BY task_id').all(),
    });
    const before = snapshot();
    expect(before.rows.routing_audit).toBeGreaterThan(10);
    // A fresh durable delivers the stream from its start: every event comes again.
    await jsm.consumers.delete(STREAMS.events, CONSUMERS.ledger);
    await ensureStreams(router);
    ledger = new Ledger({ nc: ledgerNc, db, config });
    await ledger.start();
    await settled();
    expect(snapshot()).toEqual(before);
    expect(ledger.stats.applied).toBe(0);
    expect(ledger.stats.duplicates).toBeGreaterThan(10);
  });
});

// After the replay: the event refused here would be written by a replay once its fault is gone.
describe('ledger: group commit', () => {
  it('writes a batch in one transaction, and an event that fails half-written is rolled back alone: the others stand', async () => {
    const bad = uid('half');
    const good = [uid('whole'), uid('whole'), uid('whole')];
    // A real SQLite fault in the middle of the bad event's write: its applied-log and task rows are
    // written before its audit row, which the trigger refuses.
    db.exec(`CREATE TRIGGER refuse_half BEFORE INSERT ON routing_audit WHEN NEW.task_id = '${bad}' BEGIN SELECT RAISE(ABORT, 'refused by the test'); END`);
    const appliedBefore = ledger.stats.applied;
    const refusedBefore = ledger.stats.refused;
    try {
      await Promise.all([publishEvent(event(good[0]!, 1, 'pending')), publishEvent(event(bad, 1, 'pending')),
        publishEvent(event(good[1]!, 1, 'pending')), publishEvent(event(good[2]!, 1, 'pending'))]);
      await settled();
    } finally {
      db.exec('DROP TRIGGER refuse_half');
    }
    for (const id of good) expect(getTask(db, id)?.status).toBe('pending');
    // Nothing of the bad event stayed: no task row, no applied mark (a redelivery would write it whole).
    expect(getTask(db, bad)).toBeNull();
    expect(count('SELECT COUNT(*) n FROM routing_audit WHERE task_id = ?', bad)).toBe(0);
    expect(listRejections(db, { limit: 50 }).find((r) => r.payloadExcerpt?.includes(bad))?.reason).toMatch(/could not record it: refused by the test/);
    expect(ledger.stats.applied - appliedBefore).toBe(3);
    expect(ledger.stats.refused - refusedBefore).toBe(1);
  });
});
