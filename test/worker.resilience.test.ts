/**
 * What the worker's ack discipline buys, against a real nats-server with a 1 s
 * ack_wait: long calls are not redelivered, a worker that dies mid-task has its
 * task redone elsewhere (charged once), stopping hands work back, and a server
 * restart is ridden out.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { jetstream, jetstreamManager, type JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { Worker, type WorkerOptions } from '../actors/worker/index.ts';
import { encode, MSG_ID, STREAMS, SUBJECTS, type WorkItem } from '../src/bus/index.ts';
import { loadConfig } from '../src/config/index.ts';
import { InProcessSimProvider } from '../src/llm/InProcessSimProvider.ts';
import { startNats, type TestNats } from './support/nats.ts';
import { uniqueId, until } from './support/util.ts';
import { CHARGING_SUBJECTS, chargedCalls } from './support/chargedCalls.ts';

// --- this suite's fixtures (shared helpers are in test/support/util.ts) ---
interface Seen { subject: string; body: any }
let nats: TestNats;
let router: NatsConnection;
let js: JetStreamClient;
const seen: Seen[] = [];
const config = loadConfig({ env: {} });
const workers: Worker[] = [];
const uid = uniqueId;
const item = (over: Partial<WorkItem> = {}): WorkItem => ({
  taskId: uid('t'), attempt: 1, tier: 'gpt5_high', type: 'general', priority: 5, prompt: 'design a cache',
  files: [], reservationId: 'r-test', dispatchedAt: new Date().toISOString(), ...over,
});
const dispatch = (it: WorkItem) => js.publish(SUBJECTS.work(it.tier), encode(it), { msgID: MSG_ID.workItem(it.taskId, it.attempt) });
const reports = (taskId: string) => seen.filter((s) => s.subject === SUBJECTS.report(taskId)).map((s) => s.body);
const has = (taskId: string, kind: string) => reports(taskId).some((r) => r.kind === kind);
async function startWorker(opts: Partial<WorkerOptions> = {}, nc?: NatsConnection) {
  const w = new Worker({
    nc: nc ?? await nats.connect('cloud_worker'), tier: 'gpt5_high', workerId: uid('w'), provider: new InProcessSimProvider(),
    // `started` sent at once (holdStartMs 0): these tests count reports; the folded start is worker.heldstart.test.ts's.
    config, heartbeatMs: 100, holdStartMs: 0, ...opts,
  });
  await w.start();
  workers.push(w);
  return w;
}
/** Messages a stream stores on one subject: what the ledger and the routers will read. */
async function stored(stream: string, subject: string): Promise<number> {
  try {
    const info = await (await jetstreamManager(router)).streams.info(stream, { subjects_filter: subject });
    return info.state.subjects?.[subject] ?? 0;
  } catch {
    return -1; // JetStream not back yet after a restart
  }
}
async function queueEmpty(): Promise<boolean> {
  const info = await (await jetstreamManager(router)).consumers.info(STREAMS.work, 'gpt5_high').catch(() => null);
  return info !== null && info.num_pending + info.num_ack_pending === 0;
}

beforeAll(async () => {
  nats = await startNats();
  await nats.setup({ workAckWaitMs: 1000 });
  router = await nats.connect('router');
  js = jetstream(router);
  for (const s of [SUBJECTS.reportAll, ...CHARGING_SUBJECTS]) {
    router.subscribe(s, { callback: (err, m) => { if (!err) seen.push({ subject: m.subject, body: m.json() }); } });
  }
  await router.flush();
});
afterEach(async () => { await Promise.all(workers.splice(0).map((w) => w.stop({ timeoutMs: 200 }))); });
afterAll(async () => { await nats?.stop(); });

describe('worker resilience (ack_wait 1 s)', () => {
  it('keeps a 3 s call from being redelivered with in-progress acks', async () => {
    // A free second slot would receive a redelivery at once if the acks stopped.
    const w = await startWorker({ maxConcurrent: 2, provider: new InProcessSimProvider({ latencyMs: 3000 }) });
    expect(w.ackWait).toBe(1000);
    const t = item();
    await dispatch(t);
    await until(() => has(t.taskId, 'completed'));
    expect(reports(t.taskId).map((r) => r.kind)).toEqual(['started', 'completed']);
  });

  it('redoes the task of a worker that dies mid-call on another worker, charged once', async () => {
    const dyingNc = await nats.connect('cloud_worker');
    const dying = await startWorker({ provider: new InProcessSimProvider({ latencyMs: 3000 }) }, dyingNc);
    const t = item();
    await dispatch(t);
    await until(() => has(t.taskId, 'started'));
    const survivor = await startWorker();
    // The process "dies": its connection goes away mid-call, nothing is acked.
    await dyingNc.close();
    await until(() => has(t.taskId, 'completed'));
    const usage = chargedCalls(seen, t.taskId);
    expect(usage).toEqual([expect.objectContaining({ usageId: `${t.taskId}:1:1`, workerId: survivor.workerId })]);
    expect(reports(t.taskId).find((r) => r.kind === 'completed').result.workerId).toBe(survivor.workerId);
    // Both deliveries said `started`; the stream kept one (same Nats-Msg-Id), plus `completed`.
    expect(reports(t.taskId).filter((r) => r.kind === 'started').map((r) => r.workerId)).toEqual([dying.workerId, survivor.workerId]);
    expect(await stored(STREAMS.reports, SUBJECTS.report(t.taskId))).toBe(2);
    // The dead worker's call ends later and must neither crash it nor report anything.
    await new Promise((r) => setTimeout(r, 3000));
    expect(reports(t.taskId)).toHaveLength(3);
    await until(queueEmpty);
  });

  it('stores a redone call\'s usage once: its message id comes from the usage id', async () => {
    const t = item();
    const body = { usageId: `${t.taskId}:1:1`, taskId: t.taskId };
    const a = await js.publish(SUBJECTS.usage, encode(body), { msgID: MSG_ID.usage(body.usageId) });
    const b = await js.publish(SUBJECTS.usage, encode({ ...body, costUsd: 2 }), { msgID: MSG_ID.usage(body.usageId) });
    expect([a.duplicate, b.duplicate]).toEqual([false, true]);
  });

  it('lets a task finish on stop, then says offline', async () => {
    const w = await startWorker({ provider: new InProcessSimProvider({ latencyMs: 800 }) });
    const t = item();
    await dispatch(t);
    await until(() => has(t.taskId, 'started'));
    const stoppedAt = Date.now();
    await w.stop();
    // stop() waited for the 800 ms call instead of handing the task back.
    expect(Date.now() - stoppedAt).toBeGreaterThan(500);
    expect(w.status()).toBe('offline');
    await until(() => has(t.taskId, 'completed'), 2000);
    await until(queueEmpty);
  });

  it('hands a task that outlasts the stop timeout back to the queue for another worker', async () => {
    const w = await startWorker({ provider: new InProcessSimProvider({ latencyMs: 20_000 }) });
    const t = item();
    await dispatch(t);
    await until(() => has(t.taskId, 'started'));
    const other = await startWorker();
    const stoppedAt = Date.now();
    await w.stop({ timeoutMs: 300 });
    expect(Date.now() - stoppedAt).toBeLessThan(2000);
    await until(() => has(t.taskId, 'completed'), 5000);
    expect(reports(t.taskId).filter((r) => r.kind === 'failed')).toEqual([]);
    expect(reports(t.taskId).find((r) => r.kind === 'completed').result.workerId).toBe(other.workerId);
  });

  it('rides out a nats-server restart: the task in flight completes and pulling resumes', async () => {
    await startWorker({ provider: new InProcessSimProvider({ latencyMs: 1500 }), pullExpiresMs: 2000 });
    const t = item();
    await dispatch(t);
    await until(() => has(t.taskId, 'started'));
    await nats.server.restart();
    await until(async () => (await stored(STREAMS.reports, SUBJECTS.report(t.taskId))) === 2, 15_000);
    const after = item();
    await dispatch(after);
    await until(async () => (await stored(STREAMS.reports, SUBJECTS.report(after.taskId))) === 2, 15_000);
    await until(queueEmpty, 5000);
  });

  it('cannot pull the local queue with cloud-worker credentials', async () => {
    const w = new Worker({ nc: await nats.connect('cloud_worker'), tier: 'local', workerId: uid('w'), provider: new InProcessSimProvider(), config });
    await expect(w.start()).rejects.toThrow(/Permissions Violation for Publish to "\$JS.API.CONSUMER.INFO.KOUBOU_WORK.local_(local|any|remote)"/);
  });
});
