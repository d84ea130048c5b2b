/**
 * The interactive path, over real HTTP and a real bus: the `openai` SDK → a gateway that routes
 * the request in its own process and calls the cloud simulator itself → the answer. The task is
 * still a task: its events, its execution and its charge are on the ledger's stream before the
 * client has its answer, the ledger records it with its reservation, and work the gateway does
 * not do (a confidential request: the local tier) is handed to the routers and still answered.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstreamManager } from '@nats-io/jetstream';
import { decodeTaskRecords, STREAMS, SUBJECTS } from '../src/bus/index.ts';
import { Gateway, keyDigest, openInteractivePath } from '../actors/gateway/index.ts';
import { startGatewayRig, type GatewayRig } from './support/gatewayRig.ts';
import { until } from './support/util.ts';

const KEY = 'kb-test-gateway-interactive';
let rig: GatewayRig;
let client: OpenAI;

beforeAll(async () => {
  rig = await startGatewayRig(KEY, { interactive: true });
  client = new OpenAI({ apiKey: KEY, baseURL: `${rig.url}/v1`, maxRetries: 0 });
}, 60_000);
afterAll(async () => {
  await rig?.stop();
});

/** What the stream holds under a subject, counted by the server. */
async function storedOn(subject: string): Promise<number> {
  const jsm = await jetstreamManager(await rig.sys.nats.connect('router'));
  const state = (await jsm.streams.info(STREAMS.events, { subjects_filter: subject })).state;
  return Object.values(state.subjects ?? {}).reduce((a, b) => a + b, 0);
}

async function submissions(): Promise<number> {
  const jsm = await jetstreamManager(await rig.sys.nats.connect('router'));
  return (await jsm.streams.info(STREAMS.submit)).state.messages;
}

describe('the interactive path', () => {
  it('answers a cloud request from the gateway with no submission, no work item and no router step, and the task and its charge are stored before the answer', async () => {
    const before = await submissions();
    const cloudCalls = rig.cloud.stats.log.length;
    const { data, response } = await client.chat.completions.create({
      model: 'koubou/gpt5_medium', messages: [{ role: 'user', content: 'Rename the variable x to count in this loop.' }],
    }).withResponse();
    const taskId = response.headers.get('x-koubou-task-id')!;
    expect(response.headers.get('x-koubou-tier')).toBe('gpt5_medium');
    expect(data.choices[0]!.message.content).toBeTruthy();
    // The gateway called the backend itself: the simulator saw the call, no queue carried it.
    expect(rig.cloud.stats.log.length).toBe(cloudCalls + 1);
    expect(await submissions()).toBe(before);
    // Stored before the answer, as one message: the task's events and its execution with the call's usage.
    expect(await storedOn(SUBJECTS.taskEvent(taskId))).toBe(1);
    const jsm = await jetstreamManager(await rig.sys.nats.connect('router'));
    const stored = decodeTaskRecords((await jsm.streams.getMessage(STREAMS.events, { last_by_subj: SUBJECTS.taskEvent(taskId) }))!.data, SUBJECTS.taskEvent(taskId));
    expect(stored.events.at(-1)!.status).toBe('completed');
    expect(stored.executions?.[0]?.calls?.[0]).toMatchObject({ taskId, tier: 'gpt5_medium' });
    const final = await rig.sys.finalEvent(taskId);
    expect(final.status).toBe('completed');
    expect(final.reservationId).toBeTruthy();
    // The ledger records the task, its usage under its reservation, and nothing unreserved.
    const row = await until(() => rig.sys.db.prepare('SELECT t.status, c.cost_usd, c.reservation_id FROM task_master t JOIN cost_tracking c ON c.task_id = t.task_id WHERE t.task_id = ?').get(taskId) as { status: string; cost_usd: number; reservation_id: string } | undefined);
    expect(row.status).toBe('completed');
    expect(row.cost_usd).toBeGreaterThan(0);
    expect(row.reservation_id).toBe(final.reservationId);
    expect(rig.sys.db.prepare('SELECT COUNT(*) AS n FROM unreserved_usage WHERE task_id = ?').get(taskId)).toEqual({ n: 0 });
  });

  it('streams the model\'s output straight from its call, as the client asked', async () => {
    const stream = await client.chat.completions.create({
      model: 'koubou/gpt5_high', stream: true, messages: [{ role: 'user', content: 'Say hello in three words.' }],
    });
    let text = '';
    let pieces = 0;
    for await (const chunk of stream) {
      const delta = chunk.choices[0]?.delta.content;
      if (delta) { text += delta; pieces++; }
    }
    expect(pieces).toBeGreaterThan(1);
    expect(text.length).toBeGreaterThan(0);
  });

  it('falls back from one cloud tier to another in the gateway, each attempt reserved from its slice and only the call that ran charged', async () => {
    // Refused at once (400: no retry), so the machine falls back to the next tier.
    rig.cloud.setOptions({ inject: [{ status: 400, message: 'injected refusal' }] });
    const { response, data } = await client.chat.completions.create({
      model: 'koubou/gpt5_high', messages: [{ role: 'user', content: 'Explain the race in this lock-free queue.' }],
    }).withResponse();
    expect(data.choices[0]!.message.content).toBeTruthy();
    expect(response.headers.get('x-koubou-tier')).toBe('gpt5_medium');
    expect(response.headers.get('x-koubou-fallbacks')).toBe('gpt5_high>gpt5_medium');
    const taskId = response.headers.get('x-koubou-task-id')!;
    const rows = await until(() => {
      const r = rig.sys.db.prepare('SELECT worker_type AS tier, reservation_id AS rid FROM cost_tracking WHERE task_id = ?').all(taskId) as { tier: string; rid: string }[];
      return r.length ? r : undefined;
    });
    expect(rows.map((r) => r.tier)).toEqual(['gpt5_medium']);
    expect(rig.sys.db.prepare('SELECT COUNT(*) AS n FROM unreserved_usage WHERE task_id = ?').get(taskId)).toEqual({ n: 0 });
  });

  it('has the ledger reserve a paid call it sends to a queue (a tier whose backend the gateway lacks), charged there once', async () => {
    // A second gateway that calls gpt5_medium itself but has no key for gpt5_high.
    const bus = await rig.sys.nats.gatewayBus();
    const { path, notes } = await openInteractivePath({
      nc: bus.nc, config: rig.sys.config, doorKey: bus.doorKey, workerId: 'gateway-test-2', env: {},
      backendFlags: { gpt5_medium: { sim: rig.cloud.url } },
    });
    expect(notes.find((n) => n.startsWith('gpt5_high'))).toMatch(/through its queue/);
    const gateway = new Gateway({ ...bus, keyDigests: [keyDigest(KEY)], port: 0, interactive: path });
    const { url } = await gateway.start();
    try {
      const before = await submissions();
      const second = new OpenAI({ apiKey: KEY, baseURL: `${url}/v1`, maxRetries: 0 });
      const { response } = await second.chat.completions.create({
        model: 'koubou/gpt5_high', messages: [{ role: 'user', content: 'Review this migration plan.' }],
      }).withResponse();
      expect(response.headers.get('x-koubou-tier')).toBe('gpt5_high');
      expect(await submissions()).toBe(before);
      const taskId = response.headers.get('x-koubou-task-id')!;
      const row = await until(() => rig.sys.db.prepare('SELECT reservation_id AS rid FROM cost_tracking WHERE task_id = ?').get(taskId) as { rid: string } | undefined);
      // The task's own reservation, granted by the ledger (not a slice the gateway could free meanwhile), settled by the charge.
      expect(row.rid).toBe(`${taskId}:gpt5_high:1`);
      expect(rig.sys.db.prepare('SELECT status, task_id AS taskId FROM budget_reservations WHERE reservation_id = ?').get(row.rid)).toEqual({ status: 'settled', taskId });
      expect(rig.sys.db.prepare('SELECT COUNT(*) AS n FROM unreserved_usage WHERE task_id = ?').get(taskId)).toEqual({ n: 0 });
    } finally {
      await gateway.stop();
    }
  });

  it('hands a confidential request to the routers: it runs on the local tier and is answered all the same', async () => {
    const cloudCalls = rig.cloud.stats.log.length;
    const { response, data } = await client.chat.completions.create({
      model: 'koubou', messages: [{ role: 'user', content: 'Fix the login: password = "Hx9!qLm2#Zr7vQ" is rejected by the API.' }],
    }).withResponse();
    expect(response.headers.get('x-koubou-tier')).toBe('local');
    expect(data.choices[0]!.message.content).toBeTruthy();
    expect(rig.cloud.stats.log.length).toBe(cloudCalls);
    const taskId = response.headers.get('x-koubou-task-id')!;
    const events = await rig.sys.events(taskId);
    // Every event once, in order, whoever published it (the gateway, then the router).
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events.at(-1)!.status).toBe('completed');
  });
});
