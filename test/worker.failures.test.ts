/**
 * The worker's failure paths against a real nats-server: provider retries,
 * rate limits, aborts, and exceptions in the worker's own code.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { jetstream, jetstreamManager, type JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { Worker, type WorkerOptions } from '../actors/worker/index.ts';
import { encode, STREAMS, SUBJECTS, type WorkItem, MSG_ID } from '../src/bus/index.ts';
import { loadConfig, type KoubouConfig } from '../src/config/index.ts';
import { KoubouError } from '../src/core/errors.ts';
import type { GenerateRequest, GenerateResult, Provider } from '../src/llm/Provider.ts';
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
const config: KoubouConfig = loadConfig({ env: {} });
config.tiers.gpt5_medium.retry = { delay_seconds: 10, max_retries: 2 };
const workers: Worker[] = [];
const uid = uniqueId;
const item = (over: Partial<WorkItem> = {}): WorkItem => ({
  taskId: uid('t'), attempt: 1, tier: 'gpt5_medium', type: 'general', priority: 5, prompt: 'explain closures',
  files: [], reservationId: 'r-test', dispatchedAt: new Date().toISOString(), ...over,
});
const dispatch = (it: WorkItem) => js.publish(SUBJECTS.work(it.tier), encode(it), { msgID: MSG_ID.workItem(it.taskId, it.attempt) });
const reports = (taskId: string) => seen.filter((s) => s.subject === SUBJECTS.report(taskId)).map((s) => s.body);
const of = (subject: string) => seen.filter((s) => s.subject === subject).map((s) => s.body);
const finished = (taskId: string) => reports(taskId).find((r) => r.kind === 'completed' || r.kind === 'failed');
async function startWorker(opts: Partial<WorkerOptions>) {
  const w = new Worker({
    nc: await nats.connect('cloud_worker'), tier: 'gpt5_medium', workerId: uid('w'), provider: new InProcessSimProvider(),
    config, heartbeatMs: 100, retryDelayScale: 0.001, ...opts,
  });
  await w.start();
  workers.push(w);
  return w;
}
/** A provider that fails its first `failures` calls with `error`, then answers like the simulator. */
function flaky(failures: number, error: () => Error): Provider & { calls: number } {
  const sim = new InProcessSimProvider();
  return {
    name: 'flaky', calls: 0,
    async generate(req: GenerateRequest): Promise<GenerateResult> {
      if (++this.calls <= failures) throw error();
      return sim.generate(req);
    },
  };
}
const retryable = () => new KoubouError('UPSTREAM_503', 'service unavailable', { retryable: true });

beforeAll(async () => {
  nats = await startNats();
  await nats.setup();
  router = await nats.connect('router');
  js = jetstream(router);
  for (const s of [SUBJECTS.reportAll, ...CHARGING_SUBJECTS, SUBJECTS.rateLimitAll, SUBJECTS.heartbeatAll]) {
    router.subscribe(s, { callback: (err, m) => { if (!err) seen.push({ subject: m.subject, body: m.json() }); } });
  }
  await router.flush();
});
afterEach(async () => { await Promise.all(workers.splice(0).map((w) => w.stop({ timeoutMs: 200 }))); });
afterAll(async () => { await nats?.stop(); });

describe('worker failures', () => {
  it('retries retryable errors and completes when a retry succeeds', async () => {
    const provider = flaky(2, retryable);
    await startWorker({ provider });
    const t = item();
    await dispatch(t);
    await until(() => !!finished(t.taskId));
    expect(finished(t.taskId).kind).toBe('completed');
    expect(provider.calls).toBe(3);
  });

  it('reports failed once max_retries are spent, and does not retry non-retryable errors', async () => {
    const always = flaky(Infinity, retryable);
    const w = await startWorker({ provider: always, errorThreshold: 1 });
    const t = item();
    await dispatch(t);
    await until(() => !!finished(t.taskId));
    expect(always.calls).toBe(3); // the first call and max_retries = 2
    expect(finished(t.taskId)).toMatchObject({ kind: 'failed', rateLimited: false, error: { code: 'UPSTREAM_503', message: expect.stringMatching(/3 tries/) } });
    await until(() => of(SUBJECTS.heartbeat(w.workerId)).at(-1)?.status === 'error');
    await w.stop();

    const fatal = flaky(Infinity, () => new KoubouError('BAD_REQUEST', 'context too long'));
    await startWorker({ provider: fatal });
    const t2 = item();
    await dispatch(t2);
    await until(() => !!finished(t2.taskId));
    expect(fatal.calls).toBe(1);
    expect(finished(t2.taskId)).toMatchObject({ kind: 'failed', error: { code: 'BAD_REQUEST', message: 'context too long' } });
  });

  it('reports a rate-limited failure at once and signals the 429', async () => {
    const limited = flaky(Infinity, () => Object.assign(new KoubouError('RATE_LIMITED', '429 too many requests', { retryable: true }), {
      rateLimited: true, headers: { 'x-ratelimit-remaining-requests': '0' },
    }));
    const w = await startWorker({ provider: limited });
    const t = item();
    await dispatch(t);
    await until(() => !!finished(t.taskId));
    expect(limited.calls).toBe(1);
    expect(finished(t.taskId)).toMatchObject({ kind: 'failed', rateLimited: true, error: { code: 'RATE_LIMITED' } });
    expect(of(SUBJECTS.rateLimit('gpt5_medium')).at(-1)).toMatchObject({ tier: 'gpt5_medium', status: 429, headers: { 'x-ratelimit-remaining-requests': '0' } });
    await until(() => of(SUBJECTS.heartbeat(w.workerId)).at(-1)?.status === 'rate_limited');
  });

  it('waits out a 429 whose Retry-After fits routing.max_rate_limit_wait_seconds, signalling it, then completes', async () => {
    const rateLimited = (retryAfterMs: number) => () => Object.assign(new KoubouError('RATE_LIMITED', '429 slow down', { retryable: true }), {
      rateLimited: true, retryAfterMs, headers: { 'retry-after-ms': String(retryAfterMs) },
    });
    const once = flaky(1, rateLimited(2000));
    const first = await startWorker({ provider: once });
    const before = of(SUBJECTS.rateLimit('gpt5_medium')).length;
    const t = item();
    await dispatch(t);
    await until(() => !!finished(t.taskId));
    expect(finished(t.taskId).kind).toBe('completed');
    expect(once.calls).toBe(2);
    expect(of(SUBJECTS.rateLimit('gpt5_medium')).slice(before)[0]).toMatchObject({ status: 429, headers: { 'retry-after-ms': '2000' } });
    await first.stop();

    // Short waits each time, but the tier's max_retries (2) still bound them: then it is reported for a fallback.
    const always = flaky(Infinity, rateLimited(100));
    await startWorker({ provider: always });
    const t2 = item();
    await dispatch(t2);
    await until(() => !!finished(t2.taskId));
    expect(always.calls).toBe(3);
    expect(finished(t2.taskId)).toMatchObject({ kind: 'failed', rateLimited: true, error: { code: 'RATE_LIMITED' } });
  });

  it('passes rate-limit headers of a successful answer on with status 200', async () => {
    const sim = new InProcessSimProvider();
    const provider: Provider = { name: 'headers', generate: async (r) => ({ ...(await sim.generate(r)), rateLimitHeaders: { 'x-ratelimit-remaining-tokens': '12345' } }) };
    await startWorker({ provider });
    const before = of(SUBJECTS.rateLimit('gpt5_medium')).length;
    const t = item();
    await dispatch(t);
    await until(() => of(SUBJECTS.rateLimit('gpt5_medium')).length > before);
    expect(of(SUBJECTS.rateLimit('gpt5_medium')).at(-1)).toMatchObject({ status: 200, headers: { 'x-ratelimit-remaining-tokens': '12345' } });
    expect(finished(t.taskId).kind).toBe('completed');
  });

  it('cancels a call in flight on koubou.ctl.abort and drops work for that task arriving later', async () => {
    await startWorker({ provider: new InProcessSimProvider({ latencyMs: 20_000 }) });
    const t = item();
    await dispatch(t);
    await until(() => reports(t.taskId).some((r) => r.kind === 'started'));
    const abortedAt = Date.now();
    router.publish(SUBJECTS.abort(t.taskId));
    await until(() => !!finished(t.taskId), 3000);
    expect(Date.now() - abortedAt).toBeLessThan(2000);
    expect(finished(t.taskId)).toMatchObject({ kind: 'failed', error: { code: 'CANCELLED' } });
    expect(chargedCalls(seen, t.taskId)).toEqual([]);
  });

  it('drops queued work of an aborted task without a report, and goes on', async () => {
    await startWorker({ provider: new InProcessSimProvider() });
    const t = item({ attempt: 2 });
    router.publish(SUBJECTS.abort(t.taskId));
    await router.flush();
    await new Promise((r) => setTimeout(r, 100));
    const next = item();
    await dispatch(t);
    await dispatch(next);
    await until(() => !!finished(next.taskId));
    expect(reports(t.taskId)).toEqual([]);
    const jsm = await jetstreamManager(router);
    // Acked, not left to be redelivered: the queue empties.
    await until(async () => {
      const info = await jsm.consumers.info(STREAMS.work, 'gpt5_medium');
      return info.num_ack_pending + info.num_pending === 0;
    });
  });

  it('turns an exception in its own code into WORKER_ERROR and keeps working', async () => {
    const sim = new InProcessSimProvider();
    let bad = true;
    // More cached than prompt tokens: pricing throws a RangeError inside the worker.
    const provider: Provider = {
      name: 'odd', generate: async (r) => {
        const res = await sim.generate(r);
        if (!bad) return res;
        bad = false;
        return { ...res, usage: { ...res.usage, cachedPromptTokens: res.usage.promptTokens + 1 } };
      },
    };
    await startWorker({ provider });
    const [t1, t2] = [item(), item()];
    await dispatch(t1);
    await dispatch(t2);
    await until(() => !!finished(t2.taskId));
    expect(finished(t1.taskId)).toMatchObject({ kind: 'failed', error: { code: 'WORKER_ERROR', message: expect.stringMatching(/cachedPromptTokens/) } });
    expect(finished(t2.taskId).kind).toBe('completed');
  });
});
