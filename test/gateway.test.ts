/**
 * The gateway with the real `openai` SDK, in front of the whole system on a real nats-server
 * and SQLite: chat completions and the Responses API, streamed and not; every request a task
 * that the ledger records with the usage the client was told; secrets keep a conversation
 * local; OpenAI-shaped errors for a bad key, an unknown model and bad JSON.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Gateway, keyDigest } from '../actors/gateway/index.ts';
import { startSystem, type TestSystem } from './support/system.ts';

const KEY = 'kb-test-gateway-key-1';
let sys: TestSystem;
let gateway: Gateway;
let url: string;
let client: OpenAI;

beforeAll(async () => {
  sys = await startSystem();
  gateway = new Gateway({ ...await sys.nats.gatewayBus(), keyDigests: [keyDigest(KEY)], port: 0 });
  ({ url } = await gateway.start());
  client = new OpenAI({ apiKey: KEY, baseURL: `${url}/v1`, maxRetries: 0 });
});
afterAll(async () => {
  await gateway?.stop();
  await sys?.stop();
});

async function ledgerUsage(taskId: string): Promise<{ prompt_tokens: number; completion_tokens: number; worker_type: string }> {
  for (let i = 0; i < 100; i++) {
    const row = sys.db.prepare('SELECT prompt_tokens, completion_tokens, worker_type FROM cost_tracking WHERE task_id = ?').get(taskId) as { prompt_tokens: number; completion_tokens: number; worker_type: string } | undefined;
    if (row) return row;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no usage for ${taskId}`);
}

describe('the OpenAI-compatible gateway', () => {
  it('lists the koubou model and its pinned tiers', async () => {
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual(['koubou', 'koubou/gpt5_high', 'koubou/gpt5_medium', 'koubou/local']);
  });

  it('answers a chat completion through a task, with the usage the ledger charged', async () => {
    const { data, response } = await client.chat.completions.create({ model: 'koubou', messages: [{ role: 'user', content: 'refactor this module to use dependency injection' }] }).withResponse();
    const taskId = response.headers.get('x-koubou-task-id')!;
    expect(response.headers.get('x-koubou-tier')).toBe('gpt5_medium');
    expect(data.choices[0]!.message.content!.length).toBeGreaterThan(0);
    const row = await ledgerUsage(taskId);
    expect(row).toMatchObject({ worker_type: 'gpt5_medium', prompt_tokens: data.usage!.prompt_tokens, completion_tokens: data.usage!.completion_tokens });
  });

  it('streams a chat completion, usage included when asked', async () => {
    const stream = await client.chat.completions.create({ model: 'koubou', messages: [{ role: 'user', content: 'fix the typo in the README' }], stream: true, stream_options: { include_usage: true } });
    let text = '';
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text.length).toBeGreaterThan(0);
    expect(usage!.total_tokens).toBeGreaterThan(0);
  });

  it('answers the Responses API, streamed and not', async () => {
    const r = await client.responses.create({ model: 'koubou', instructions: 'be brief', input: 'design a distributed architecture for the scheduler' });
    expect(r.output_text.length).toBeGreaterThan(0);
    expect(r.usage!.output_tokens).toBeGreaterThan(0);
    const stream = await client.responses.create({ model: 'koubou', input: [{ role: 'user', content: 'rename the helper' }], stream: true });
    const types: string[] = [];
    let text = '';
    for await (const e of stream) {
      types.push(e.type);
      if (e.type === 'response.output_text.delta') text += e.delta;
    }
    expect(types[0]).toBe('response.created');
    expect(types).toContain('response.output_item.done');
    expect(types.at(-1)).toBe('response.completed');
    expect(text.length).toBeGreaterThan(0);
  });

  it('keeps a conversation holding a secret (even only in a tool output) on the local tier', async () => {
    const { response } = await client.responses.create({
      model: 'koubou',
      input: [
        { role: 'user', content: 'design a distributed, lock-free architecture for the deploy service' },
        { type: 'function_call', call_id: 'call_1', name: 'exec_command', arguments: '{"cmd":["cat",".env"]}' },
        { type: 'function_call_output', call_id: 'call_1', output: 'DB_PASSWORD=Hx9!qLm2#Zr7\n' },
      ],
    }).withResponse();
    expect(response.headers.get('x-koubou-tier')).toBe('local');
  });

  it('refuses a wrong key, an unknown model and bad JSON in OpenAI\'s error shape', async () => {
    const wrong = new OpenAI({ apiKey: 'kb-wrong', baseURL: `${url}/v1`, maxRetries: 0 });
    await expect(wrong.chat.completions.create({ model: 'koubou', messages: [{ role: 'user', content: 'x' }] })).rejects.toMatchObject({ status: 401, code: 'invalid_api_key' });
    await expect(client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] })).rejects.toMatchObject({ status: 404, code: 'model_not_found' });
    await expect(client.chat.completions.create({ model: 'koubou/gpt9', messages: [{ role: 'user', content: 'x' }] })).rejects.toMatchObject({ status: 404, code: 'model_not_found', message: expect.stringMatching(/koubou\/local/) });
    const res = await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, body: '{"model":' });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { type: 'invalid_request_error', message: expect.stringMatching(/JSON/) } });
  });
});
