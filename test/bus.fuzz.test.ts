/**
 * Poison on the bus, fuzzed with fast-check: random bytes, random JSON, and objects with each
 * message schema's own keys holding random values, published on every subject the router, the
 * ledger and the workers read (their JetStream queues and core subjects), against the whole
 * system on a real nats-server and SQLite. Then: every durable consumer has nothing pending or
 * unacknowledged (no poison message blocks a queue), every ledger request got an `{ error }`
 * reply, a good task sent alongside completes, and nothing threw in this process (vitest fails
 * the run on an unhandled error, so an actor that dies fails it).
 *
 * The messages are published with the router's credentials (its role may publish anywhere), so
 * that every subject can be reached; which role may publish what is nats.permissions.test.ts's.
 */
import { jetstream, jetstreamManager, type JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import fc from 'fast-check';
import type { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CONSUMERS, decode, encode, MessageError, executionSchema, heartbeatSchema, performanceSchema, rateLimitSignalSchema, rejectionSchema, reportSchema,
  reserveRequestSchema, STREAMS, submissionSchema, SUBJECTS, taskEventsMessageSchema, usageEventSchema, workItemSchema,
} from '../src/bus/index.ts';
import { workConsumers } from '../src/bus/lanes.ts';
import { getTask } from '../src/db/index.ts';
import { startSystem, uniqueId, type TestSystem } from './support/system.ts';

let sys: TestSystem;
let nc: NatsConnection;
let js: JetStreamClient;

beforeAll(async () => {
  sys = await startSystem();
  nc = await sys.nats.connect('router');
  js = jetstream(nc);
});
afterAll(async () => {
  await nc?.drain().catch(() => {});
  await sys?.stop();
});

/** A schema's top-level keys (a discriminated union: every option's), for objects shaped like its messages. */
function keysOf(schema: z.ZodType): string[] {
  const s = schema as unknown as { shape?: Record<string, unknown>; options?: z.ZodType[] };
  if (s.shape) return Object.keys(s.shape);
  return [...new Set((s.options ?? []).flatMap(keysOf))];
}

const json = fc.jsonValue({ maxDepth: 3 });
/** Random bytes, random JSON, or an object with the schema's keys (some, with random values) and the odd one more. */
function poison(schema: z.ZodType): fc.Arbitrary<Uint8Array> {
  const keys = keysOf(schema);
  const shaped = fc.tuple(
    fc.dictionary(fc.constantFrom(...keys), fc.oneof(json, fc.constantFrom('t-1', 'gpt5_high', 'local', 'completed', 'started', 'cancel', 1, -1, 1e308))),
    fc.dictionary(fc.string({ maxLength: 6 }), json, { maxKeys: 1 }),
  ).map(([known, extra]) => encode({ ...extra, ...known }));
  return fc.oneof(fc.uint8Array({ maxLength: 600 }), json.map((v) => encode(v)), shaped);
}

/** The subjects each actor reads from a stream, with the schema its messages should have. */
const TASK = 'fuzz-t1';
const STREAMED: [subject: string, schema: z.ZodType][] = [
  [SUBJECTS.submit, submissionSchema],
  [SUBJECTS.report(TASK), reportSchema],
  [SUBJECTS.cancel(TASK), reportSchema],
  [SUBJECTS.taskEvent(TASK), taskEventsMessageSchema],
  [SUBJECTS.usage, usageEventSchema],
  [SUBJECTS.execution, executionSchema],
  [SUBJECTS.rateLimit('gpt5_high'), rateLimitSignalSchema],
  [SUBJECTS.rejected, rejectionSchema],
  [SUBJECTS.work('gpt5_high'), workItemSchema],
  [SUBJECTS.work('gpt5_medium'), workItemSchema],
  [SUBJECTS.work('local'), workItemSchema],
];
/** Core subjects: heartbeats (ledger, workers), performance factors and aborts (workers). */
const CORE: [subject: string, schema: z.ZodType][] = [
  [SUBJECTS.heartbeat('fuzz-worker'), heartbeatSchema],
  [SUBJECTS.performance, performanceSchema],
  [SUBJECTS.abort(TASK), heartbeatSchema],
];
const REQUESTS: [subject: string, schema: z.ZodType][] = [
  [SUBJECTS.budgetReserve, reserveRequestSchema],
  [SUBJECTS.budgetRelease, reserveRequestSchema],
  ...(['status', 'costs', 'budget', 'task', 'gatewayKey', 'dashboardKey'] as const).map((q) => [SUBJECTS.ledgerQuery(q), reserveRequestSchema] as [string, z.ZodType]),
];

/** A good task, sent while the poison is in flight: it must still complete, and the ledger record it. */
async function goodTask(): Promise<void> {
  const taskId = uniqueId('good');
  await sys.submit({ taskId, prompt: 'fix a typo in the README' });
  expect((await sys.finalEvent(taskId, 60_000)).status).toBe('completed');
  // The ledger, behind the poison on its stream, still writes.
  for (let i = 0; i < 200 && getTask(sys.db, taskId)?.status !== 'completed'; i++) await new Promise((r) => setTimeout(r, 50));
  expect(getTask(sys.db, taskId)?.status).toBe('completed');
}

/** Every durable consumer of the system, by stream. */
function consumers(): [stream: string, name: string][] {
  return [
    [STREAMS.submit, CONSUMERS.submissions], [STREAMS.reports, CONSUMERS.reports], [STREAMS.events, CONSUMERS.ledger],
    ...workConsumers().map((c) => [STREAMS.work, c.name] as [string, string]),
  ];
}

/** Waits until no consumer has anything pending or unacknowledged; returns what is left after 30 s. */
async function drained(): Promise<Record<string, { pending: number; ackPending: number }>> {
  const jsm = await jetstreamManager(nc);
  let left: Record<string, { pending: number; ackPending: number }> = {};
  for (let i = 0; i < 150; i++) {
    left = {};
    for (const [stream, name] of consumers()) {
      const info = await jsm.consumers.info(stream, name);
      if (info.num_pending || info.num_ack_pending) left[`${stream}/${name}`] = { pending: info.num_pending, ackPending: info.num_ack_pending };
    }
    if (Object.keys(left).length === 0) return left;
    await new Promise((r) => setTimeout(r, 200));
  }
  return left;
}

describe('poison on every subject the router, ledger and workers read', () => {
  it('blocks no queue, kills no actor, and a good task alongside completes', async () => {
    const published = { streamed: 0, core: 0 };
    const publishAll = () => fc.assert(fc.asyncProperty(
      fc.constantFrom(...STREAMED, ...CORE), fc.nat(), async (pick, seed) => {
        const [subject, schema] = pick;
        const [data] = fc.sample(poison(schema), { seed, numRuns: 1 });
        if (CORE.includes(pick)) { nc.publish(subject, data!); published.core++; }
        else { await js.publish(subject, data!); published.streamed++; }
      }), { numRuns: 300 });
    await Promise.all([publishAll(), goodTask()]);
    await nc.flush();
    expect(published.streamed).toBeGreaterThan(100);
    expect(await drained()).toEqual({});
    await goodTask();
    // The ledger kept a row for what it refused, and the router's refusals reached it too.
    const refused = sys.db.prepare("SELECT COUNT(*) AS n FROM task_rejections WHERE reason LIKE 'ledger:%'").get() as { n: number };
    expect(refused.n).toBeGreaterThan(0);
  }, 120_000);

  it('answers every ledger request, however bad, with an error', async () => {
    await fc.assert(fc.asyncProperty(fc.constantFrom(...REQUESTS), fc.uint8Array({ maxLength: 1 }), async ([subject, schema], salt) => {
      const [data] = fc.sample(poison(schema), { seed: salt[0] ?? 7, numRuns: 1 });
      const reply = await nc.request(subject, data!, { timeout: 5000 });
      const body = reply.json<Record<string, unknown>>();
      // A random payload can be a valid request (an empty status query is one): then it is answered, never left without a reply.
      expect(body).toBeTypeOf('object');
      if ('error' in body) expect(body.error).toBeTypeOf('string');
    }), { numRuns: 150 });
    await goodTask();
  }, 120_000);

  it('takes a valid message whose free-form part (a tool\'s parameters) is nested deep without blocking or dying', async () => {
    const depths = fc.integer({ min: 1_000, max: 200_000 });
    const ids: string[] = [];
    await fc.assert(fc.asyncProperty(depths, fc.constantFrom(SUBJECTS.submit, SUBJECTS.work('local')), async (depth, subject) => {
      const taskId = uniqueId('deep');
      ids.push(taskId);
      const parameters = `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
      const conversation = `{"messages":[{"role":"user","content":"hello"}],"tools":[{"name":"t","parameters":${parameters}}]}`;
      const text = subject === SUBJECTS.submit
        ? `{"taskId":"${taskId}","prompt":"hello","conversation":${conversation}}`
        : `{"taskId":"${taskId}","attempt":1,"tier":"local","type":"general","priority":5,"prompt":"hello","files":[],"conversation":${conversation},"reservationId":null,"dispatchedAt":"2026-12-07T00:00:00Z"}`;
      await js.publish(subject, new TextEncoder().encode(text), { msgID: `${taskId}-${subject}` });
    }), { numRuns: 12 });
    await goodTask();
    expect(await drained()).toEqual({});
    // Refused with a reason that says why (the router's refusals reach the ledger's table).
    const deep = () => (sys.db.prepare("SELECT COUNT(*) AS n FROM task_rejections WHERE reason LIKE '%nested deeper than 64 levels%'").get() as { n: number }).n;
    for (let i = 0; i < 100 && deep() === 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(deep()).toBeGreaterThan(0);
  }, 120_000);
});

describe('the message codec', () => {
  it('either returns a valid message or throws MessageError naming the subject, for any bytes and any schema', () => {
    const schemas = [...STREAMED, ...CORE, ...REQUESTS];
    fc.assert(fc.property(fc.constantFrom(...schemas), fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.nat().map((seed) => fc.sample(poison(submissionSchema), { seed, numRuns: 1 })[0]!)),
      ([subject, schema], data) => {
        try {
          decode(schema, data, subject);
        } catch (e) {
          expect(e).toBeInstanceOf(MessageError);
          expect((e as Error).message.startsWith(`${subject}: `)).toBe(true);
        }
      }), { numRuns: 2000 });
  });
});
