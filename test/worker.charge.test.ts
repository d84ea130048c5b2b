/**
 * A one-call execution carries the call's usage (protocol 4), so it must be stored before the
 * outcome is told: a worker that cannot store it reports nothing, gives the attempt back, and the
 * redone attempt is charged once. A call kept for the execution that never reaches it is charged
 * on its own, still before the outcome.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { Worker, type WorkerOptions } from '../actors/worker/index.ts';
import type { Executor } from '../actors/worker/executors/Executor.ts';
import { encode, MSG_ID, STREAMS, SUBJECTS, type WorkItem } from '../src/bus/index.ts';
import { loadConfig } from '../src/config/index.ts';
import { InProcessSimProvider } from '../src/llm/InProcessSimProvider.ts';
import { startNats, type TestNats } from './support/nats.ts';
import { uniqueId, until } from './support/util.ts';

let nats: TestNats;
let router: NatsConnection;
const reports: { kind: string; taskId: string }[] = [];
/** Reports and usage messages, in the order this subscriber saw them. */
const seen: { subject: string; body: any }[] = [];

beforeAll(async () => {
  nats = await startNats();
  await nats.setup();
  router = await nats.connect('router');
  // Reports only: a subscriber on koubou.evt.execution would answer for the missing stream.
  router.subscribe(SUBJECTS.reportAll, { callback: (err, m) => { if (!err) { reports.push(m.json()); seen.push({ subject: m.subject, body: m.json() }); } } });
  router.subscribe(SUBJECTS.usage, { callback: (err, m) => { if (!err) seen.push({ subject: m.subject, body: m.json() }); } });
  await router.flush();
});
afterAll(async () => { await nats?.stop(); });

/** A gpt5_medium worker on the simulator, started; `over` changes what the test is about. */
async function startWorker(over: Partial<WorkerOptions>): Promise<Worker> {
  const worker = new Worker({
    nc: await nats.connect('cloud_worker'), tier: 'gpt5_medium', workerId: uniqueId('w'), provider: new InProcessSimProvider(),
    config: loadConfig({ env: {} }), ...over,
  });
  await worker.start();
  return worker;
}

/** Puts a gpt5_medium work item for a new task on the queue. */
async function dispatch(prefix: string, reservationId: string): Promise<WorkItem> {
  const item: WorkItem = {
    taskId: uniqueId(prefix), attempt: 1, tier: 'gpt5_medium', type: 'general', priority: 5,
    prompt: 'rename the helper to parseConfig', files: [], reservationId, dispatchedAt: new Date().toISOString(),
  };
  await jetstream(router).publish(SUBJECTS.work('gpt5_medium'), encode(item), { msgID: MSG_ID.workItem(item.taskId, 1) });
  return item;
}

describe('a worker that cannot store its execution message', () => {
  it('reports nothing and gives the attempt back; once the stream is back, the task completes charged once', async () => {
    const jsm = await jetstreamManager(router);
    await jsm.streams.delete(STREAMS.events);
    const lines: string[] = [];
    const worker = await startWorker({ publishAttempts: 1, log: (l) => lines.push(l) });
    try {
      const item = await dispatch('charge', 'r-1');
      await until(() => lines.filter((l) => l.includes(`${item.taskId}#1 returned to the queue`)).length >= 2);
      // No outcome told (a `started` may have gone out: the held start does not wait for ever).
      expect(reports.filter((r) => r.taskId === item.taskId && r.kind !== 'started')).toEqual([]);

      await nats.setup();
      await until(() => reports.some((r) => r.taskId === item.taskId && r.kind === 'completed'), 15_000);
      // Stored once it could be: one execution carrying the call, and no usage message of its own.
      const stored: { subject: string; body: any }[] = [];
      const consumer = await jetstream(router).consumers.get(STREAMS.events);
      const info = await jsm.streams.info(STREAMS.events);
      if (info.state.messages > 0) {
        for await (const m of await consumer.fetch({ max_messages: info.state.messages, expires: 2000 })) {
          stored.push({ subject: m.subject, body: m.json() });
          if (m.info.pending === 0) break;
        }
      }
      const mine = stored.filter((s) => s.body.taskId === item.taskId);
      expect(mine.map((s) => s.subject)).toEqual([SUBJECTS.execution]);
      expect(mine[0]!.body.calls).toEqual([expect.objectContaining({ usageId: `${item.taskId}:1:1`, reservationId: 'r-1' })]);
    } finally {
      await worker.stop({ timeoutMs: 200 });
      await nats.setup(); // the stream back for what follows, whatever happened
    }
  });

  it('charges a call kept for the execution on its own, before the failure, when a one-call executor fails after its call', async () => {
    // An executor of one call that makes it, then fails the attempt (say, its answer would not parse).
    const failsAfterItsCall: Executor = {
      name: 'fails_after_call', maxCalls: 1,
      async run(ctx) {
        const call = await ctx.call({ model: ctx.tierConfig.model, messages: ctx.messages, maxOutputTokens: 100 });
        if (!call.ok) return call;
        return { ok: false as const, outcome: await ctx.fail('UNPARSEABLE', 'the answer was not what the executor needed') };
      },
    };
    const worker = await startWorker({ executor: failsAfterItsCall, holdStartMs: 0 });
    try {
      const item = await dispatch('fails', 'r-2');
      await until(() => reports.some((r) => r.taskId === item.taskId && r.kind === 'failed'));
      const mine = seen.filter((s) => s.body.taskId === item.taskId).map((s) => s.body.kind ?? 'usage');
      expect(mine).toEqual(['started', 'usage', 'failed']);
    } finally {
      await worker.stop({ timeoutMs: 200 });
    }
  });
});
