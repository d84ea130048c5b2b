/**
 * The distributed system end to end in one process: router, ledger and tier
 * workers over a real nats-server, recording to a real SQLite ledger.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstream } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { BUCKETS, encode, SUBJECTS } from '../src/bus/index.ts';
import { getTask, listRejections, listRoutingDecisions } from '../src/db/index.ts';
import { startSystem, uniqueId, type TestSystem } from './support/system.ts';

let sys: TestSystem;
beforeAll(async () => { sys = await startSystem(); });
afterAll(async () => { await sys?.stop(); });

const cost = (taskId: string) =>
  sys.db.prepare('SELECT COUNT(*) n, COALESCE(SUM(cost_usd), 0) usd FROM cost_tracking WHERE task_id = ?').get(taskId) as { n: number; usd: number };

async function waitForRow<T>(fn: () => T | undefined | null, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error('timed out waiting for the ledger');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('tasks through router, workers and ledger over NATS', () => {
  it.each([
    ['design a distributed architecture for our event pipeline', 'gpt5_high'],
    ['refactor this module to use dependency injection', 'gpt5_medium'],
    ['fix a typo in the README', 'local'],
  ])('%s → %s, completed, recorded and charged once', async (prompt, tier) => {
    const taskId = uniqueId('t');
    await sys.submit({ taskId, prompt });
    const final = await sys.finalEvent(taskId);
    expect(final).toMatchObject({ status: 'completed', tier });
    expect(final.result?.text).toMatch(/simulated/);
    const row = await waitForRow(() => { const r = getTask(sys.db, taskId); return r?.status === 'completed' ? r : null; });
    expect(row.tier).toBe(tier);
    const charged = await waitForRow(() => { const c = cost(taskId); return c.n > 0 ? c : null; });
    expect(charged.n).toBe(1);
    if (tier === 'local') expect(charged.usd).toBe(0);
    else expect(charged.usd).toBeGreaterThan(0);
  });

  it('publishes every state with its reason, in order, ending in the final one', async () => {
    const taskId = uniqueId('t');
    await sys.submit({ taskId, prompt: 'refactor the billing module' });
    await sys.finalEvent(taskId);
    const events = await sys.events(taskId);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events.map((e) => e.state)).toEqual(
      ['ReceiveTask', 'AnalyzeSensitivity', 'EvaluateDifficulty', 'CheckBudget', 'BudgetCheck', 'RouteByDifficulty', 'RouteToGPT5Medium', 'CheckRateLimit2', 'AssignToGPT5Medium', 'Assigned', 'InProgress', 'Completed'],
    );
    expect(events.at(-1)?.status).toBe('completed');
    for (const e of events) expect(e.reason.length).toBeGreaterThan(0);
    const audit = await waitForRow(() => { const a = listRoutingDecisions(sys.db, { taskId }); return a.length >= events.length ? a : null; });
    expect(audit.length).toBe(events.length);
  });

  it('keeps confidential work local, and its prompt off the event stream', async () => {
    const taskId = uniqueId('t');
    const password = ['hun', 'ter', '2-', 'Xy9'].join('');
    await sys.submit({ taskId, prompt: `design a distributed cache; the db password = "${password}"` });
    const final = await sys.finalEvent(taskId);
    expect(final).toMatchObject({ status: 'completed', tier: 'local', sensitivity: { level: 'confidential' } });
    const events = await sys.events(taskId);
    expect(JSON.stringify(events.map(({ result: _r, ...e }) => e))).not.toContain(password);
    expect(events.some((e) => /CheckRateLimit|GPT5/.test(e.state))).toBe(false);
  });

  it('runs a task id submitted twice once, and records the duplicate', async () => {
    const taskId = uniqueId('dup');
    await sys.submit({ taskId, prompt: 'fix a typo' }, `${taskId}-a`);
    await sys.finalEvent(taskId);
    await sys.submit({ taskId, prompt: 'fix a typo' }, `${taskId}-b`);
    const rejection = await waitForRow(() => listRejections(sys.db, {}).find((r) => r.reason.includes(`duplicate task id ${taskId}`)));
    expect(rejection.subject).toBe('koubou.task.submit');
    expect((await sys.events(taskId)).filter((e) => e.status === 'completed')).toHaveLength(1);
    expect((await waitForRow(() => { const c = cost(taskId); return c.n > 0 ? c : null; })).n).toBe(1);
  });

  it('refuses a poison submission with a reason and keeps the queue moving', async () => {
    await sys.submit({ taskId: 'bad id with spaces', prompt: 'x' }, uniqueId('poison'));
    await sys.submit({ nothing: true }, uniqueId('poison'));
    const taskId = uniqueId('t');
    await sys.submit({ taskId, prompt: 'fix a typo' });
    expect((await sys.finalEvent(taskId)).status).toBe('completed');
    const reasons = await waitForRow(() => {
      const r = listRejections(sys.db, {}).map((x) => `${x.reason} <- ${x.payloadExcerpt}`);
      return r.some((x) => x.includes('bad id with spaces')) && r.some((x) => x.includes('nothing')) ? r : null;
    });
    expect(reasons.find((r) => r.includes('bad id with spaces'))).toMatch(/koubou\.task\.submit: taskId: .*must match pattern/);
    expect(reasons.find((r) => r.includes('nothing'))).toMatch(/koubou\.task\.submit: taskId: .*expected string/);
  });

  it('keeps only a small record of a finished task in KV: its prompt and result live in the events and the ledger', async () => {
    const taskId = uniqueId('t');
    const prompt = `refactor the billing module ${'and its helpers '.repeat(200)}`;
    await sys.submit({ taskId, prompt });
    expect((await sys.finalEvent(taskId)).status).toBe('completed');
    const kv = await new Kvm(jetstream(await sys.nats.connect('router'))).open(BUCKETS.tasks);
    let record: { status: string; snapshot: unknown; submitSeq: number } | null = null;
    for (let i = 0; i < 50 && record?.snapshot !== null; i++) {
      record = (await kv.get(taskId))?.json() ?? null;
      if (record?.snapshot !== null) await new Promise((r) => setTimeout(r, 100));
    }
    expect(record).toMatchObject({ status: 'completed', snapshot: null, submitSeq: expect.any(Number) });
    expect(JSON.stringify(record).length).toBeLessThan(1000);
    // A duplicate submission is still known as one.
    await sys.submit({ taskId, prompt }, `${taskId}-again`);
    await waitForRow(() => listRejections(sys.db, {}).find((r) => r.reason.includes(`duplicate task id ${taskId}`)));
  });

  it('takes a result only on the report subject, and a cancel only on the cancel subject', async () => {
    const taskId = uniqueId('t');
    const js = jetstream(await sys.nats.connect('router'));
    await sys.submit({ taskId, prompt: 'fix a typo in the README' });
    const final = await sys.finalEvent(taskId);
    // A completion on the cancel subject (the one submitters may publish) is refused, whoever sent it.
    const forged = { kind: 'completed', taskId, attempt: 1, result: { text: 'forged', model: 'x', workerId: 'x' }, at: new Date().toISOString() };
    await js.publish(SUBJECTS.cancel(taskId), encode(forged));
    const reason = await waitForRow(() => listRejections(sys.db, {}).find((r) => r.subject === SUBJECTS.cancel(taskId))?.reason);
    expect(reason).toMatch(/a "completed" report for task .* does not belong on this subject/);
    expect(getTask(sys.db, taskId)?.status).toBe(final.status);
  });
});
