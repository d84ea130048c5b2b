/**
 * The worker actor against a real nats-server and real JetStream: the happy
 * path, concurrency, heartbeats, and how it refuses poison. Failures, aborts and
 * retries are in worker.failures.test.ts; redelivery and restarts in
 * worker.resilience.test.ts.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { jetstream, jetstreamManager, type JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { Worker, type WorkerOptions } from '../actors/worker/index.ts';
import { encode, STREAMS, SUBJECTS, type WorkItem, MSG_ID } from '../src/bus/index.ts';
import { loadConfig } from '../src/config/index.ts';
import type { Role } from '../src/bus/index.ts';
import { InProcessSimProvider } from '../src/llm/InProcessSimProvider.ts';
import type { Provider } from '../src/llm/Provider.ts';
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
const item = (tier: WorkItem['tier'], over: Partial<WorkItem> = {}): WorkItem => ({
  taskId: uid('t'), attempt: 1, tier, type: 'code_generation', priority: 5, prompt: 'write a function that adds two numbers',
  files: [], reservationId: 'r-test', dispatchedAt: new Date().toISOString(), ...over,
});
const dispatch = (it: WorkItem) => js.publish(SUBJECTS.work(it.tier), encode(it), { msgID: MSG_ID.workItem(it.taskId, it.attempt) });
const reports = (taskId: string) => seen.filter((s) => s.subject === SUBJECTS.report(taskId)).map((s) => s.body);
const of = (subject: string) => seen.filter((s) => s.subject === subject).map((s) => s.body);
async function startWorker(opts: Partial<WorkerOptions> & Pick<WorkerOptions, 'tier'>, role: Role = 'cloud_worker') {
  const w = new Worker({
    // `started` sent at once (holdStartMs 0): these tests pin each report; the folded start is worker.heldstart.test.ts's.
    nc: await nats.connect(role), workerId: uid('w'), provider: new InProcessSimProvider(), config, heartbeatMs: 100, holdStartMs: 0, ...opts,
  });
  await w.start();
  workers.push(w);
  return w;
}
async function consumerIdle(tier: WorkItem['tier']) {
  const info = await (await jetstreamManager(router)).consumers.info(STREAMS.work, tier);
  return info.num_pending === 0 && info.num_ack_pending === 0;
}

beforeAll(async () => {
  nats = await startNats();
  await nats.setup();
  router = await nats.connect('router');
  js = jetstream(router);
  for (const s of [SUBJECTS.reportAll, ...CHARGING_SUBJECTS, SUBJECTS.rejected, SUBJECTS.heartbeatAll, SUBJECTS.progressAll]) {
    router.subscribe(s, { callback: (err, m) => { if (!err) seen.push({ subject: m.subject, body: m.json() }); } });
  }
  await router.flush();
});
afterEach(async () => { await Promise.all(workers.splice(0).map((w) => w.stop({ timeoutMs: 200 }))); });
afterAll(async () => { await nats?.stop(); });

describe('worker', () => {
  it('reports started, usage, completed in that order, priced at gpt-5 rates, and acks', async () => {
    const w = await startWorker({ tier: 'gpt5_high' });
    const it1 = item('gpt5_high', { reservationId: 'r-1', files: [{ path: 'src/a.ts', content: 'export const a = 1;\n' }] });
    await dispatch(it1);
    await until(() => reports(it1.taskId).some((r) => r.kind === 'completed'));
    const charging = (s: Seen) => (s.subject === SUBJECTS.usage || s.subject === SUBJECTS.execution) && s.body.taskId === it1.taskId;
    const mine = seen.filter((s) => s.subject === SUBJECTS.report(it1.taskId) || charging(s));
    expect(mine.map((s) => s.body.kind ?? 'usage')).toEqual(['started', 'usage', 'completed']);
    // One call: its usage rides in the execution message, the only charging message (protocol 4).
    expect(mine[1]!.subject).toBe(SUBJECTS.execution);
    expect(mine[1]!.body.calls).toHaveLength(1);
    const usage = mine[1]!.body.calls[0];
    expect(usage).toMatchObject({ usageId: `${it1.taskId}:1:1`, attempt: 1, workerId: w.workerId, tier: 'gpt5_high', model: 'gpt-5', reservationId: 'r-1' });
    // gpt-5: $1.25 per 1M input tokens, $10 per 1M output tokens; the simulator answers 20 tokens.
    expect(usage.completionTokens).toBe(20);
    expect(usage.promptTokens).toBeGreaterThan(20);
    expect(usage.costUsd).toBeCloseTo((usage.promptTokens * 1.25 + 20 * 10) / 1e6, 12);
    const completed = mine[2]!.body;
    expect(completed.result).toMatchObject({ model: 'gpt-5', workerId: w.workerId, costUsd: usage.costUsd });
    expect(completed.result.text).toMatch(/simulated gpt-5/);
    expect(of(SUBJECTS.progress(it1.taskId))[0]).toMatchObject({ workerId: w.workerId, tokens: 20 });
    await until(() => consumerIdle('gpt5_high'));
  });

  it('charges nothing for the local tier', async () => {
    await startWorker({ tier: 'local' }, 'local_worker');
    const t = item('local');
    await dispatch(t);
    await until(() => reports(t.taskId).some((r) => r.kind === 'completed'));
    expect(chargedCalls(seen, t.taskId)[0]).toMatchObject({ model: 'gpt-oss:20b', costUsd: 0 });
  });

  it('makes no paid call without a reservation, nor one past what its reservation holds: fails the attempt, names why, charges nothing', async () => {
    const provider = new InProcessSimProvider();
    let calls = 0;
    const counting = { name: 'sim', generate: (r: Parameters<InProcessSimProvider['generate']>[0]) => { calls++; return provider.generate(r); } };
    await startWorker({ tier: 'gpt5_high', provider: counting });
    const none = item('gpt5_high', { reservationId: null });
    const short = item('gpt5_high', { reservationId: 'r-short', reservedUsd: 0.01 });
    await dispatch(none);
    await dispatch(short);
    await until(() => [none, short].every((t) => reports(t.taskId).some((r) => r.kind === 'failed')));
    expect(reports(none.taskId).at(-1)).toMatchObject({ kind: 'failed', error: { code: 'UNRESERVED_CALL', message: expect.stringMatching(/no budget reservation for a paid call on gpt5_high/) } });
    // gpt5_high's worst case is $1.28 of output alone: $0.01 covers none of it.
    expect(reports(short.taskId).at(-1)).toMatchObject({ kind: 'failed', error: { code: 'RESERVATION_EXCEEDED', message: expect.stringMatching(/would pass the \$0\.010000 reserved \(r-short\)/) } });
    expect(calls).toBe(0);
    expect(chargedCalls(seen, none.taskId)).toEqual([]);
    expect(chargedCalls(seen, short.taskId)).toEqual([]);
  });

  it('never has more than maxConcurrent tasks started and not finished', async () => {
    await startWorker({ tier: 'gpt5_medium', maxConcurrent: 2, provider: new InProcessSimProvider({ latencyMs: 300 }) });
    const items = Array.from({ length: 6 }, () => item('gpt5_medium'));
    for (const t of items) await dispatch(t);
    const ids = new Set(items.map((t) => t.taskId));
    await until(() => items.every((t) => reports(t.taskId).some((r) => r.kind === 'completed')));
    let open = 0;
    let most = 0;
    for (const s of seen.filter((x) => x.subject.startsWith('koubou.report.') && ids.has(x.body.taskId))) {
      open += s.body.kind === 'started' ? 1 : -1;
      most = Math.max(most, open);
    }
    expect(most).toBe(2);
  });

  it('heartbeats busy with its task, then idle, then offline on stop', async () => {
    const w = await startWorker({ tier: 'gpt5_high', maxConcurrent: 2, provider: new InProcessSimProvider({ latencyMs: 600 }) });
    const t = item('gpt5_high');
    await dispatch(t);
    await until(() => reports(t.taskId).some((r) => r.kind === 'completed'));
    const beats = () => of(SUBJECTS.heartbeat(w.workerId));
    await until(() => beats().at(-1)?.status === 'idle');
    const busy = beats().find((b) => b.status === 'busy');
    expect(busy).toMatchObject({ tier: 'gpt5_high', load: 0.5, currentTasks: [t.taskId], maxConcurrent: 2, model: 'gpt-5', pid: process.pid });
    expect(beats().indexOf(busy)).toBeLessThan(beats().findLastIndex((b) => b.status === 'idle'));
    await w.stop();
    await until(() => beats().at(-1)?.status === 'offline', 2000);
  });

  it('puts a conversation\'s output on koubou.stream only when its item asks (or, from an older router, does not say); refuses an item with neither prompt nor conversation', async () => {
    // A backend that streams its answer in two pieces.
    const streaming: Provider = {
      name: 'streaming',
      async generate(request) {
        for (const text of ['hello ', 'world']) request.onDelta?.({ text });
        return { text: 'hello world', model: request.model, usage: { promptTokens: 5, cachedPromptTokens: 0, completionTokens: 2, reasoningTokens: 0 } };
      },
    };
    const w = await startWorker({ tier: 'gpt5_medium', provider: streaming });
    const deltas: { taskId: string; seq: number; text?: string }[] = [];
    const sub = router.subscribe(SUBJECTS.streamAll, { callback: (err, m) => { if (!err) deltas.push(m.json()); } });
    await router.flush();
    try {
      const conversation = { messages: [{ role: 'user' as const, content: 'say hello' }], tools: [] };
      // The text travels once: these items carry the conversation and no prompt.
      const asked = item('gpt5_medium', { prompt: undefined, conversation, stream: true });
      const notAsked = item('gpt5_medium', { prompt: undefined, conversation, stream: false });
      const older = item('gpt5_medium', { prompt: undefined, conversation });
      const plain = item('gpt5_medium');
      const neither = item('gpt5_medium', { prompt: undefined });
      const before = of(SUBJECTS.rejected).length;
      for (const it of [asked, notAsked, older, plain, neither]) await dispatch(it);
      await until(() => [asked, notAsked, older, plain].every((it) => reports(it.taskId).some((r) => r.kind === 'completed')));
      // Deltas go out before the report, on the same connection: every one that was sent is here.
      const of_ = (taskId: string) => deltas.filter((d) => d.taskId === taskId).map((d) => `${d.seq}:${d.text}`);
      expect(of_(asked.taskId)).toEqual(['0:hello ', '1:world']);
      expect(of_(older.taskId)).toEqual(['0:hello ', '1:world']);
      expect(of_(notAsked.taskId)).toEqual([]);
      expect(of_(plain.taskId)).toEqual([]);
      expect(reports(notAsked.taskId).find((r) => r.kind === 'completed').result.text).toBe('hello world');
      await until(() => of(SUBJECTS.rejected).length > before);
      expect(of(SUBJECTS.rejected).slice(before)).toEqual([expect.objectContaining({ taskId: neither.taskId, by: w.workerId, reason: expect.stringMatching(/prompt: must be given \(or a conversation\)/) })]);
    } finally {
      sub.unsubscribe();
    }
  });

  it('rejects and terminates poison (bad JSON, wrong schema, wrong tier) and still runs the next item', async () => {
    const w = await startWorker({ tier: 'gpt5_medium' });
    const before = of(SUBJECTS.rejected).length;
    await js.publish(SUBJECTS.work('gpt5_medium'), new TextEncoder().encode('{not json'));
    await js.publish(SUBJECTS.work('gpt5_medium'), encode({ taskId: uid('bad'), prompt: 'no tier, no attempt' }));
    const wrongTier = item('local');
    await js.publish(SUBJECTS.work('gpt5_medium'), encode(wrongTier));
    const good = item('gpt5_medium');
    await dispatch(good);
    await until(() => reports(good.taskId).some((r) => r.kind === 'completed'));
    const rejected = of(SUBJECTS.rejected).slice(before);
    expect(rejected.map((r) => r.by)).toEqual([w.workerId, w.workerId, w.workerId]);
    expect(rejected[0].reason).toMatch(/not valid JSON/);
    expect(rejected[1].reason).toMatch(/attempt|tier|type/);
    expect(rejected[2]).toMatchObject({ taskId: wrongTier.taskId, reason: expect.stringMatching(/tier local/) });
    expect(reports(wrongTier.taskId)).toEqual([]);
    await until(() => consumerIdle('gpt5_medium'));
  });
});

describe('prompt assembly', () => {
  // ~140k tokens: over the local tier's 131 072-token window less its 8 192 reserved for output.
  const huge = { path: 'dump.txt', content: 'lorem ipsum '.repeat(70_000) };

  it('fails an oversized prompt with PROMPT_TOO_LARGE under `refuse`, without calling the provider', async () => {
    await startWorker({ tier: 'local' }, 'local_worker');
    const t = item('local', { files: [huge] });
    await dispatch(t);
    await until(() => reports(t.taskId).some((r) => r.kind === 'failed'));
    expect(reports(t.taskId).at(-1)).toMatchObject({
      kind: 'failed', rateLimited: false,
      error: { code: 'PROMPT_TOO_LARGE', message: expect.stringMatching(/tier local \(gpt-oss:20b\) fits 122,880/) },
    });
    expect(chargedCalls(seen, t.taskId)).toEqual([]);
  });

  it('drops the largest file under `drop_files` and completes', async () => {
    const dropping = loadConfig({ env: {}, overrides: { context: { overflow_policy: 'drop_files' } } });
    await startWorker({ tier: 'local', config: dropping }, 'local_worker');
    const t = item('local', { files: [huge, { path: 'small.ts', content: 'export const x = 1;\n' }] });
    await dispatch(t);
    await until(() => reports(t.taskId).some((r) => r.kind === 'completed' || r.kind === 'failed'));
    expect(reports(t.taskId).at(-1).kind).toBe('completed');
    const usage = chargedCalls(seen, t.taskId)[0];
    expect(usage.promptTokens).toBeLessThan(1000);
  });
});
