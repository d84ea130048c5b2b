/**
 * The gateways' session state lives on the bus, not in a gateway: with the real `openai` SDK in
 * front of the whole system (real nats-server and SQLite), a conversation marked confidential
 * through one gateway stays local through a gateway started after the first one is gone, and
 * through a second gateway running beside it; an agent's token count adds up across gateways.
 */
import { createHash } from 'node:crypto';
import OpenAI from 'openai';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Gateway, keyDigest } from '../actors/gateway/index.ts';
import { parentToken } from '../src/bus/index.ts';
import { openSessionBucket, SessionStore } from '../src/sessions/index.ts';
import { startSystem, uniqueId, type TestSystem } from './support/system.ts';

const KEY = 'kb-test-gateway-sessions';
/** A password made at run time, never a literal of the repository. */
const SECRET = `Q${createHash('sha256').update('gateway.sessions secret').digest('hex').slice(0, 20)}x`;
const ASK = 'design a distributed, lock-free architecture for the deploy service';

let sys: TestSystem;
const running: { gateway: Gateway; nc: NatsConnection }[] = [];

async function startGateway(): Promise<{ client: OpenAI; gateway: Gateway; nc: NatsConnection }> {
  const nc = await sys.nats.connect('gateway');
  const gateway = new Gateway({ nc, doorKey: sys.nats.env.KOUBOU_DOOR_KEY!, keyDigests: [keyDigest(KEY)], port: 0 });
  const { url } = await gateway.start();
  running.push({ gateway, nc });
  return { client: new OpenAI({ apiKey: KEY, baseURL: `${url}/v1`, maxRetries: 0 }), gateway, nc };
}

beforeAll(async () => { sys = await startSystem(); }, 60_000);
afterAll(async () => {
  for (const { gateway } of running) await gateway.stop();
  await sys?.stop();
});

const reasonOf = async (taskId: string, state: string) => (await sys.events(taskId)).find((e) => e.state === state)?.reason;

describe('gateway session state on the bus', () => {
  it('keeps a conversation local after its gateway is gone, once the secret has left the history', async () => {
    const thread = uniqueId('thread');
    const first = await startGateway();
    const turn1 = await first.client.responses.create({
      model: 'koubou', prompt_cache_key: thread,
      input: [
        { role: 'user', content: ASK },
        { type: 'function_call', call_id: 'call_1', name: 'exec_command', arguments: '{"cmd":"cat .env"}' },
        { type: 'function_call_output', call_id: 'call_1', output: `DB_PASSWORD=${SECRET}\n` },
      ],
    }).withResponse();
    expect(turn1.response.headers.get('x-koubou-tier')).toBe('local');
    const markedBy = turn1.response.headers.get('x-koubou-task-id')!;
    // The gateway goes away with its connection: nothing it held in memory survives.
    await first.gateway.stop();
    await first.nc.close();

    const second = await startGateway();
    const compacted = [{ role: 'user' as const, content: `${ASK}: the summary so far is in NOTES.md, carry on` }];
    const turn2 = await second.client.responses.create({ model: 'koubou', prompt_cache_key: thread, input: compacted }).withResponse();
    expect(turn2.response.headers.get('x-koubou-tier')).toBe('local');
    expect(await reasonOf(turn2.response.headers.get('x-koubou-task-id')!, 'AnalyzeSensitivity'))
      .toBe(`confidential session (${thread} has been confidential since task ${markedBy}; this turn: public): stays local`);
    // The same turn in a session never marked goes to a cloud tier: the mark is what kept it local.
    const other = await second.client.responses.create({ model: 'koubou', prompt_cache_key: uniqueId('thread'), input: compacted }).withResponse();
    expect(other.response.headers.get('x-koubou-tier')).not.toBe('local');
  }, 60_000);

  it('shares a mark between two gateways running at once', async () => {
    const [a, b] = [await startGateway(), await startGateway()];
    const session = { 'x-koubou-session': uniqueId('shared') };
    const marked = await a.client.chat.completions.create({
      model: 'koubou', messages: [{ role: 'user', content: `${ASK}; the database password is in DB_PASSWORD=${SECRET}` }],
    }, { headers: session }).withResponse();
    expect(marked.response.headers.get('x-koubou-tier')).toBe('local');
    const next = await b.client.chat.completions.create({ model: 'koubou', messages: [{ role: 'user', content: `${ASK}, part two` }] }, { headers: session }).withResponse();
    expect(next.response.headers.get('x-koubou-tier')).toBe('local');
    expect(await reasonOf(next.response.headers.get('x-koubou-task-id')!, 'AnalyzeSensitivity')).toMatch(/^confidential session/);
  }, 60_000);

  it("adds an agent's tokens up across gateways and holds its limit on either", async () => {
    const [a, b] = [await startGateway(), await startGateway()];
    const parent = uniqueId('agent-task');
    // The token the router gives the agent worker with its task (test/gateway.sessions: the one an agent sends).
    const token = parentToken(sys.nats.env.KOUBOU_DOOR_KEY!, parent);
    const headers = (limit: number) => ({ 'x-koubou-parent-task': parent, 'x-koubou-parent-token': token, 'x-koubou-token-limit': String(limit) });
    let used = 0;
    for (const gw of [a, b, a, b]) {
      const r = await gw.client.chat.completions.create({ model: 'koubou/local', messages: [{ role: 'user', content: 'rename the helper' }] }, { headers: headers(1_000_000) });
      used += r.usage!.prompt_tokens + r.usage!.completion_tokens;
    }
    const store = new SessionStore(await openSessionBucket(await sys.nats.connect('gateway')));
    expect(await store.tokens(parent)).toBe(used);
    for (const gw of [a, b]) {
      await expect(gw.client.chat.completions.create({ model: 'koubou/local', messages: [{ role: 'user', content: 'one more' }] }, { headers: headers(used) }))
        .rejects.toMatchObject({ status: 400, code: 'token_limit_reached', message: expect.stringContaining(`used ${used} tokens of its limit of ${used}`) });
    }
  }, 60_000);

  it("refuses a parent named without the token its agent was handed: a caller who knows a task id cannot spend against it", async () => {
    const { client } = await startGateway();
    const parent = uniqueId('agent-task');
    const ask = { model: 'koubou/local', messages: [{ role: 'user' as const, content: 'rename the helper' }] };
    for (const token of [undefined, 'f'.repeat(64), parentToken(sys.nats.env.KOUBOU_DOOR_KEY!, `${parent}-other`)]) {
      await expect(client.chat.completions.create(ask, { headers: { 'x-koubou-parent-task': parent, ...(token ? { 'x-koubou-parent-token': token } : {}) } }))
        .rejects.toMatchObject({ status: 403, code: 'parent_not_allowed', message: expect.stringContaining('x-koubou-parent-task') });
    }
    const store = new SessionStore(await openSessionBucket(await sys.nats.connect('gateway')));
    expect(await store.tokens(parent)).toBe(0);
  }, 60_000);

  it('answers 503 rather than route a request when it cannot read the session state', async () => {
    // A gateway on a submitter's connection: the bus refuses it the bucket.
    const nc = await sys.nats.connect('submitter');
    const gateway = new Gateway({ nc, doorKey: sys.nats.env.KOUBOU_DOOR_KEY!, keyDigests: [keyDigest(KEY)], port: 0 });
    const { url } = await gateway.start();
    running.push({ gateway, nc });
    const client = new OpenAI({ apiKey: KEY, baseURL: `${url}/v1`, maxRetries: 0 });
    await expect(client.chat.completions.create({ model: 'koubou', messages: [{ role: 'user', content: ASK }] }))
      .rejects.toMatchObject({ status: 503, code: 'session_store_unavailable', message: expect.stringMatching(/session store \(session\)/) });
  }, 60_000);
});
