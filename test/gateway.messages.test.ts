/**
 * Anthropic's Messages API on the gateway, over real HTTP all the way: the official
 * `@anthropic-ai/sdk` → the gateway → NATS → a worker → the simulator (OpenAI's face for the
 * cloud tiers, Ollama's for the local tier, each its own server). Text and tool calls, whole
 * and streamed in the Messages event sequence; Claude model names mapped by the config (haiku
 * to low-difficulty work); usage as the ledger charged it; the key as x-api-key or bearer;
 * errors in Anthropic's shape; a session named by `x-claude-code-session-id` kept local once
 * confidential.
 */
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimServer } from '../src/llm/sim/index.ts';
import { startGatewayRig, type GatewayRig } from './support/gatewayRig.ts';
import type { TestSystem } from './support/system.ts';
import { seededText } from './support/util.ts';

const KEY = `kb-test-messages-${seededText(16, 25)}`;
const SECRET = `sk-proj-${seededText(40, 2501)}`;
const WEATHER_ARGS = { city: 'Kyoto' };
const weather: Anthropic.Tool = {
  name: 'get_weather', description: 'weather of a city', input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};
let sys: TestSystem;
let cloud: SimServer;
let local: SimServer;
let rig: GatewayRig;
let url: string;
let client: Anthropic;

beforeAll(async () => {
  const sim = { toolCalls: { get_weather: JSON.stringify(WEATHER_ARGS) }, tokensPerSecond: 400 };
  rig = await startGatewayRig(KEY, { cloud: sim, local: sim, claude: true });
  ({ sys, cloud, local, url } = rig);
  client = new Anthropic({ apiKey: KEY, baseURL: url, maxRetries: 0 });
}, 60_000);
afterAll(async () => {
  await rig?.stop();
});

async function ledgerRow(taskId: string) {
  for (let i = 0; i < 100; i++) {
    const row = sys.db.prepare('SELECT prompt_tokens, completion_tokens, worker_type FROM cost_tracking WHERE task_id = ?').get(taskId) as { prompt_tokens: number; completion_tokens: number; worker_type: string } | undefined;
    if (row) return row;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no usage for ${taskId}`);
}

describe('the Messages API with the official SDK', () => {
  it('answers HEAD / (Claude Code\'s check) without a key', async () => {
    expect((await fetch(`${url}/`, { method: 'HEAD' })).status).toBe(200);
  });

  it('answers a text message on a cloud tier, its usage what the ledger charged (cache reads apart, as Anthropic counts them)', async () => {
    const { data, response } = await client.messages.create({
      model: 'claude-sonnet-4-5', max_tokens: 1024, system: [{ type: 'text', text: 'You are terse.' }],
      messages: [{ role: 'user', content: [{ type: 'text', text: 'refactor this module to use dependency injection' }] }],
    }).withResponse();
    expect(data).toMatchObject({ type: 'message', role: 'assistant', model: 'claude-sonnet-4-5', stop_reason: 'end_turn', stop_sequence: null });
    expect(data.id).toMatch(/^msg_/);
    expect(data.content).toEqual([expect.objectContaining({ type: 'text', text: expect.any(String) })]);
    expect((data.content[0] as Anthropic.TextBlock).text.length).toBeGreaterThan(0);
    expect(['gpt5_high', 'gpt5_medium']).toContain(response.headers.get('x-koubou-tier'));
    const row = await ledgerRow(response.headers.get('x-koubou-task-id')!);
    expect(row.prompt_tokens).toBe(data.usage.input_tokens + (data.usage.cache_read_input_tokens ?? 0));
    expect(row.completion_tokens).toBe(data.usage.output_tokens);
    // The system block reached the model as its system message.
    const sent = cloud.stats.log.at(-1)!.body as { messages: { role: string; content: string }[] };
    expect(sent.messages[0]).toEqual({ role: 'system', content: 'You are terse.' });
  });

  it('takes the key as a bearer token too (ANTHROPIC_AUTH_TOKEN)', async () => {
    const bearer = new Anthropic({ apiKey: null, authToken: KEY, baseURL: url, maxRetries: 0 });
    const m = await bearer.messages.create({ model: 'koubou/local', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] });
    expect(m.stop_reason).toBe('end_turn');
  });

  it('routes a haiku model as low-difficulty work (the local tier), and koubou/<tier> pins', async () => {
    const haiku = await client.messages.create({ model: 'claude-haiku-4-5-20251001', max_tokens: 64, messages: [{ role: 'user', content: 'a title for this chat' }] }).withResponse();
    expect(haiku.response.headers.get('x-koubou-tier')).toBe('local');
    const pinned = await client.messages.create({ model: 'koubou/gpt5_high', max_tokens: 64, messages: [{ role: 'user', content: 'fix the typo' }] }).withResponse();
    expect(pinned.response.headers.get('x-koubou-tier')).toBe('gpt5_high');
  });

  it('round-trips a tool call: a tool_use block with its input, then the answer to its tool_result', async () => {
    const messages: Anthropic.MessageParam[] = [{ role: 'user', content: 'what is the weather in Kyoto?' }];
    const first = await client.messages.create({ model: 'koubou/gpt5_high', max_tokens: 256, tools: [weather], tool_choice: { type: 'auto' }, messages });
    expect(first.stop_reason).toBe('tool_use');
    const use = first.content.find((b) => b.type === 'tool_use')!;
    expect(use).toMatchObject({ type: 'tool_use', name: 'get_weather', input: WEATHER_ARGS });
    // The tool reached the model in Chat Completions' shape, its input_schema as the parameters.
    expect((cloud.stats.log.at(-1)!.body as { tools: unknown[] }).tools).toEqual([{ type: 'function', function: { name: 'get_weather', description: 'weather of a city', parameters: weather.input_schema } }]);
    const second = await client.messages.create({
      model: 'koubou/gpt5_high', max_tokens: 256, tools: [weather],
      messages: [...messages, { role: 'assistant', content: first.content }, { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: 'sunny, 21°C' }] }],
    });
    expect(second.stop_reason).toBe('end_turn');
    const toolMessage = (cloud.stats.log.at(-1)!.body as { messages: { role: string; content: string; tool_call_id?: string }[] }).messages.at(-1);
    expect(toolMessage).toMatchObject({ role: 'tool', content: 'sunny, 21°C', tool_call_id: use.id });
  });

  it('offers no tool under tool_choice none', async () => {
    const m = await client.messages.create({ model: 'koubou/gpt5_high', max_tokens: 64, tools: [weather], tool_choice: { type: 'none' }, messages: [{ role: 'user', content: 'weather?' }] });
    expect(m.stop_reason).toBe('end_turn');
    expect((cloud.stats.log.at(-1)!.body as { tools?: unknown[] }).tools ?? []).toEqual([]);
  });

  it('streams text in the Messages event sequence, many text_delta pieces, the final usage in message_delta', async () => {
    const stream = client.messages.stream({ model: 'koubou/gpt5_high', max_tokens: 512, messages: [{ role: 'user', content: 'fix the typo in the README' }] });
    const types: string[] = [];
    let pieces = 0;
    stream.on('streamEvent', (e) => {
      types.push(e.type);
      if (e.type === 'content_block_delta' && e.delta.type === 'text_delta') pieces++;
    });
    const final = await stream.finalMessage();
    expect(types[0]).toBe('message_start');
    expect(types.slice(-2)).toEqual(['message_delta', 'message_stop']);
    expect(types.filter((t) => t === 'content_block_start')).toHaveLength(1);
    expect(pieces).toBeGreaterThan(5);
    expect(final.stop_reason).toBe('end_turn');
    const { response } = await stream.withResponse();
    const row = await ledgerRow(response.headers.get('x-koubou-task-id')!);
    expect(row.completion_tokens).toBe(final.usage.output_tokens);
    expect(row.prompt_tokens).toBe(final.usage.input_tokens + (final.usage.cache_read_input_tokens ?? 0));
  });

  it('streams a tool call as a tool_use block with input_json_delta pieces the SDK assembles', async () => {
    const stream = client.messages.stream({ model: 'koubou/local', max_tokens: 256, tools: [weather], messages: [{ role: 'user', content: 'weather in Kyoto?' }] });
    const deltas: string[] = [];
    stream.on('streamEvent', (e) => { if (e.type === 'content_block_delta' && e.delta.type === 'input_json_delta') deltas.push(e.delta.partial_json); });
    const final = await stream.finalMessage();
    expect(final.stop_reason).toBe('tool_use');
    expect(final.content.find((b) => b.type === 'tool_use')).toMatchObject({ name: 'get_weather', input: WEATHER_ARGS });
    expect(JSON.parse(deltas.join(''))).toEqual(WEATHER_ARGS);
  });

  it('counts a request\'s tokens', async () => {
    const short = await client.messages.countTokens({ model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'hi' }] });
    const long = await client.messages.countTokens({ model: 'claude-sonnet-4-5', tools: [weather], messages: [{ role: 'user', content: 'hi '.repeat(200) }] });
    expect(short.input_tokens).toBeGreaterThan(0);
    expect(long.input_tokens).toBeGreaterThan(short.input_tokens + 150);
  });

  it('refuses in Anthropic\'s error shape: a wrong key, an unknown model, an unsupported block', async () => {
    const wrongKey = await new Anthropic({ apiKey: 'not-a-key', baseURL: url, maxRetries: 0 }).messages
      .create({ model: 'koubou', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(wrongKey).toBeInstanceOf(Anthropic.AuthenticationError);
    expect((wrongKey as InstanceType<typeof Anthropic.APIError>).error).toEqual({ type: 'error', error: { type: 'authentication_error', message: expect.stringMatching(/not one of this gateway's keys/) } });
    const unknown = await client.messages.create({ model: 'gpt-4o', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(Anthropic.NotFoundError);
    expect((unknown as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({ type: 'error', error: { type: 'not_found_error', message: expect.stringMatching(/gpt-4o.*koubou/) } });
    const image = await client.messages.create({
      model: 'koubou', max_tokens: 8, messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'AAAA' } }] }],
    }).catch((e: unknown) => e);
    expect(image).toBeInstanceOf(Anthropic.BadRequestError);
    expect((image as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({ error: { type: 'invalid_request_error', message: expect.stringMatching(/messages\[0\]\.content\[0\].*image/) } });
  });

  it('keeps a session named by x-claude-code-session-id local once it has been confidential', async () => {
    const headers = { 'x-claude-code-session-id': `cc-${seededText(12, 99)}` };
    const before = cloud.stats.log.length;
    const first = await client.messages.create({ model: 'claude-opus-4-1', max_tokens: 64, messages: [{ role: 'user', content: `design a distributed architecture; deploy with OPENAI_API_KEY=${SECRET}` }] }, { headers }).withResponse();
    expect(first.response.headers.get('x-koubou-tier')).toBe('local');
    const second = await client.messages.create({ model: 'claude-opus-4-1', max_tokens: 64, messages: [{ role: 'user', content: 'design a distributed, lock-free architecture for the deploy service' }] }, { headers }).withResponse();
    expect(second.response.headers.get('x-koubou-tier')).toBe('local');
    expect(cloud.stats.log.length).toBe(before);
    expect(JSON.stringify(cloud.stats.log.map((r) => r.body ?? null))).not.toContain(SECRET);
  });
});
