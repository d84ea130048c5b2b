/**
 * The gateway's conversations with tools, over real HTTP all the way: the `openai` SDK → the
 * gateway → NATS → a worker → the simulator (OpenAI's face for the cloud tiers, Ollama's for the
 * local tier, each its own server so that what reaches the cloud is known exactly). Tool calls
 * round trip in both APIs and across backends, output streams in pieces as the backend sends
 * it, `koubou/<tier>` pins a tier, and a conversation once confidential stays local.
 */
import { createHash } from 'node:crypto';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Gateway, keyDigest } from '../actors/gateway/index.ts';
import type { SimServer } from '../src/llm/sim/index.ts';
import { startGatewayRig, type GatewayRig } from './support/gatewayRig.ts';
import type { TestSystem } from './support/system.ts';

const KEY = 'kb-test-gateway-tools';
const SECRET = 'Hx9!qLm2#Zr7vQ';
let sys: TestSystem;
let cloud: SimServer;
let local: SimServer;
let rig: GatewayRig;
let client: OpenAI;

const WEATHER_ARGS = '{"city":"Kyoto"}';
const weatherChat: OpenAI.Chat.ChatCompletionTool = {
  type: 'function', function: { name: 'get_weather', description: 'weather of a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
};
const weatherResponses: OpenAI.Responses.FunctionTool = {
  type: 'function', name: 'get_weather', description: 'weather of a city', strict: false, parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};

beforeAll(async () => {
  // 200 tokens/s: an answer of 24 tokens takes ~120 ms to stream, in many pieces.
  const sim = { toolCalls: { get_weather: WEATHER_ARGS }, tokensPerSecond: 200 };
  rig = await startGatewayRig(KEY, { cloud: sim, local: sim });
  ({ sys, cloud, local } = rig);
  const { url } = rig;
  client = new OpenAI({ apiKey: KEY, baseURL: `${url}/v1`, maxRetries: 0 });
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

const cloudBodies = () => JSON.stringify(cloud.stats.log.map((r) => r.body ?? null));

describe('the gateway with tools', () => {
  it('carries the conversation alone (no flat prompt beside it) to a queue, and puts the model\'s output on the bus only for a client that asked for a stream', async () => {
    const nc = await sys.nats.connect('router');
    const seen: { subject: string; body: Record<string, unknown> }[] = [];
    const sub = nc.subscribe('>', {
      callback: (_e, m) => { if (/^koubou\.(stream|work|task\.submit)\./.test(m.subject)) seen.push({ subject: m.subject, body: m.json() }); },
    });
    try {
      await nc.flush();
      const messages = [{ role: 'user' as const, content: 'rename the helper to parseConfig' }];
      // The local tier's work goes to its queue (the gateway calls only cloud tiers itself).
      const whole = await client.chat.completions.create({ model: 'koubou/local', messages }).withResponse();
      const streamed = await client.chat.completions.create({ model: 'koubou/local', messages, stream: true }).withResponse();
      let text = '';
      for await (const chunk of streamed.data) text += chunk.choices[0]?.delta.content ?? '';
      expect(text).toBe(whole.data.choices[0]!.message.content);
      const [wholeId, streamedId] = [whole.response, streamed.response].map((r) => r.headers.get('x-koubou-task-id')!);
      const of = (taskId: string, kind: string) => seen.filter((m) => m.subject.startsWith(`koubou.${kind}.`) && m.body.taskId === taskId).map((m) => m.body);
      for (let i = 0; i < 100 && of(streamedId!, 'stream').length === 0; i++) await new Promise((r) => setTimeout(r, 50));
      expect(of(streamedId!, 'stream').length).toBeGreaterThan(1);
      // Published before its task's report, on the same worker's connection: none came, none will.
      expect(of(wholeId!, 'stream')).toEqual([]);
      for (const [taskId, stream] of [[wholeId!, false], [streamedId!, true]] as const) {
        // Routed in the gateway (the interactive path): no submission went to the routers.
        expect(of(taskId, 'task.submit')).toEqual([]);
        const [item] = of(taskId, 'work');
        expect(item).toMatchObject({ conversation: { messages }, stream });
        expect(item).not.toHaveProperty('prompt');
      }
    } finally {
      sub.unsubscribe();
      await nc.close();
    }
  });

  it('lists koubou and one pinned model per tier', async () => {
    expect((await client.models.list()).data.map((m) => m.id)).toEqual(['koubou', 'koubou/gpt5_high', 'koubou/gpt5_medium', 'koubou/local']);
  });

  it('round-trips a chat tool call on a cloud tier: the call, then the answer to its output, each charged as the client was told', async () => {
    const messages: OpenAI.Chat.ChatCompletionMessageParam[] = [{ role: 'user', content: 'refactor this module to use dependency injection, then tell me the weather' }];
    const first = await client.chat.completions.create({ model: 'koubou', messages, tools: [weatherChat] }).withResponse();
    expect(first.response.headers.get('x-koubou-tier')).toBe('gpt5_medium');
    const choice = first.data.choices[0]!;
    expect(choice.finish_reason).toBe('tool_calls');
    const call = choice.message.tool_calls![0]! as OpenAI.Chat.ChatCompletionMessageFunctionToolCall;
    expect(call.function).toEqual({ name: 'get_weather', arguments: WEATHER_ARGS });
    // The tool reached the model in Chat Completions' shape.
    const sent = cloud.stats.log.at(-1)!.body as { tools: unknown[] };
    expect(sent.tools).toEqual([{ type: 'function', function: weatherChat.function }]);

    const second = await client.chat.completions.create({
      model: 'koubou', tools: [weatherChat],
      messages: [...messages, choice.message, { role: 'tool', tool_call_id: call.id, content: 'sunny, 21°C' }],
    }).withResponse();
    expect(second.data.choices[0]!.finish_reason).toBe('stop');
    expect(second.data.choices[0]!.message.content!.length).toBeGreaterThan(0);
    const row = await ledgerRow(second.response.headers.get('x-koubou-task-id')!);
    expect(row).toMatchObject({ prompt_tokens: second.data.usage!.prompt_tokens, completion_tokens: second.data.usage!.completion_tokens });
  });

  it('streams a chat tool call in pieces the SDK assembles', async () => {
    const stream = client.chat.completions.stream({ model: 'koubou/gpt5_high', messages: [{ role: 'user', content: 'weather?' }], tools: [weatherChat] });
    const done = await stream.finalChatCompletion();
    expect(done.choices[0]!.message.tool_calls).toEqual([expect.objectContaining({ type: 'function', function: { name: 'get_weather', arguments: WEATHER_ARGS } })]);
  });

  it('streams text as the backend sends it, many pieces before the end, the same text as the whole answer', async () => {
    const stream = await client.chat.completions.create({ model: 'koubou/gpt5_high', messages: [{ role: 'user', content: 'fix the typo in the README' }], stream: true, stream_options: { include_usage: true } });
    const pieces: string[] = [];
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      const piece = chunk.choices[0]?.delta.content;
      if (piece) pieces.push(piece);
      if (chunk.usage) usage = chunk.usage;
    }
    expect(pieces.length).toBeGreaterThan(5);
    expect(usage!.completion_tokens).toBeGreaterThan(0);
  });

  it('passes the client\'s reasoning effort on to a tier that reasons', async () => {
    await client.chat.completions.create({ model: 'koubou/gpt5_medium', reasoning_effort: 'high', messages: [{ role: 'user', content: 'think hard about the typo' }] });
    expect((cloud.stats.log.filter((r) => r.path === '/v1/chat/completions').at(-1)!.body as { reasoning_effort: string }).reasoning_effort).toBe('high');
    await client.responses.create({ model: 'koubou/gpt5_medium', reasoning: { effort: 'low' }, input: 'and now briefly' });
    expect((cloud.stats.log.filter((r) => r.path === '/v1/chat/completions').at(-1)!.body as { reasoning_effort: string }).reasoning_effort).toBe('low');
  });

  it('answers 504 when the task outlasts the gateway\'s time-out, and cancels the task', async () => {
    const impatient = new Gateway({ ...await sys.nats.gatewayBus(), keyDigests: [keyDigest(KEY)], port: 0, timeoutMs: 500 });
    const base = `${(await impatient.start()).url}/v1`;
    cloud.setOptions({ latencyMs: 5000 });
    try {
      const err = await new OpenAI({ apiKey: KEY, baseURL: base, maxRetries: 0 }).chat.completions
        .create({ model: 'koubou/gpt5_high', messages: [{ role: 'user', content: 'fix the typo' }] }).catch((e: unknown) => e) as InstanceType<typeof OpenAI.APIError>;
      expect(err.status).toBe(504);
      expect(err.message).toMatch(/did not end within 0\.5 s/);
      const taskId = err.headers?.get('x-koubou-task-id');
      expect(taskId).toMatch(/^gw-/);
      expect((await sys.finalEvent(taskId!)).status).toBe('cancelled');
    } finally {
      cloud.setOptions({ latencyMs: 0 });
      await impatient.stop();
    }
  }, 30_000);

  it('pins a tier by model name: easy work on koubou/gpt5_high runs there, and the routing says why', async () => {
    const { response } = await client.chat.completions.create({ model: 'koubou/gpt5_high', messages: [{ role: 'user', content: 'fix the typo' }] }).withResponse();
    expect(response.headers.get('x-koubou-tier')).toBe('gpt5_high');
    const events = await sys.events(response.headers.get('x-koubou-task-id')!);
    expect(events.find((e) => e.state === 'RouteByDifficulty')?.reason).toMatch(/^pinned by the client to gpt5_high/);
  });

  it('runs a Responses request with tools on the local tier (Ollama\'s API) and answers with a function_call item, streamed', async () => {
    const stream = client.responses.stream({ model: 'koubou/local', input: 'what is the weather in Kyoto?', tools: [weatherResponses] });
    const types: string[] = [];
    stream.on('event', (e) => types.push(e.type));
    const final = await stream.finalResponse();
    const call = final.output.find((i) => i.type === 'function_call') as OpenAI.Responses.ResponseFunctionToolCall;
    expect(call).toMatchObject({ name: 'get_weather', arguments: WEATHER_ARGS });
    expect(types).toContain('response.function_call_arguments.delta');
    expect(types.at(-1)).toBe('response.completed');
    // It went to Ollama's chat API with the tool in Ollama's shape.
    const sent = local.stats.log.filter((r) => r.path === '/api/chat').at(-1)!.body as { tools: { function: { name: string } }[] };
    expect(sent.tools[0]!.function.name).toBe('get_weather');

    const answer = await client.responses.create({
      model: 'koubou/local', tools: [weatherResponses],
      input: [{ role: 'user', content: 'what is the weather in Kyoto?' }, call, { type: 'function_call_output', call_id: call.call_id, output: 'rain' }],
    });
    expect(answer.output_text.length).toBeGreaterThan(0);
  });

  it('keeps a conversation local from the turn a tool output brought a secret, also once that output is gone from the history', async () => {
    const session = { 'x-koubou-session': `s-${Date.now()}` };
    const before = cloud.stats.log.length;
    const first = await client.responses.create({
      model: 'koubou/gpt5_high',
      input: [
        { role: 'user', content: 'design a distributed, lock-free architecture for the deploy service' },
        { type: 'function_call', call_id: 'call_1', name: 'exec_command', arguments: '{"cmd":"cat .env"}' },
        { type: 'function_call_output', call_id: 'call_1', output: `DB_PASSWORD=${SECRET}\n` },
      ],
    }, { headers: session }).withResponse();
    expect(first.response.headers.get('x-koubou-tier')).toBe('local');
    // The next turn, compacted: the secret is no longer in it, the session still is.
    const second = await client.responses.create({
      model: 'koubou/gpt5_high', input: [{ role: 'user', content: 'design a distributed, lock-free architecture for the deploy service, part two' }],
    }, { headers: session }).withResponse();
    expect(second.response.headers.get('x-koubou-tier')).toBe('local');
    const events = await sys.events(second.response.headers.get('x-koubou-task-id')!);
    expect(events.find((e) => e.state === 'AnalyzeSensitivity')?.reason).toMatch(/^confidential session \(s-\d+ has been confidential since task gw-/);
    expect(cloud.stats.log.length).toBe(before);
    expect(cloudBodies()).not.toContain(SECRET);
  });

  it('keeps a request local when a function tool carries a secret, and names the tool, never the secret', async () => {
    // A token made at run time, in the shape of a GitHub token.
    const token = `ghp_${createHash('sha256').update('gateway.tools tool secret').digest('hex').slice(0, 36)}`;
    const before = cloud.stats.log.length;
    const deploy: OpenAI.Chat.ChatCompletionTool = {
      type: 'function', function: { name: 'deploy', description: `Deploys the service; authenticate with ${token}`, parameters: { type: 'object', properties: { env: { type: 'string' } } } },
    };
    const { response } = await client.chat.completions.create({
      model: 'koubou', tools: [weatherChat, deploy], messages: [{ role: 'user', content: 'design a distributed, lock-free architecture for the deploy service' }],
    }, { headers: { 'x-koubou-session': `tools-secret-${Date.now()}` } }).withResponse();
    expect(response.headers.get('x-koubou-tier')).toBe('local');
    const reason = (await sys.events(response.headers.get('x-koubou-task-id')!)).find((e) => e.state === 'AnalyzeSensitivity')?.reason;
    expect(reason).toMatch(/^confidential \(api_key: api_key in tool "deploy":2\): stays local/);
    expect(reason).not.toContain(token);
    expect(cloud.stats.log.length).toBe(before);
    // The same request with clean tools, in a session of its own (that one is marked now), goes to the cloud.
    const clean = await client.chat.completions.create({
      model: 'koubou', tools: [weatherChat], messages: [{ role: 'user', content: 'design a distributed, lock-free architecture for the deploy service' }],
    }, { headers: { 'x-koubou-session': `tools-clean-${Date.now()}` } }).withResponse();
    expect(clean.response.headers.get('x-koubou-tier')).not.toBe('local');
  });
});
