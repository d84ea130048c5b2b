/**
 * The simulator's Responses API (`POST /v1/responses`) with the real `openai` SDK over HTTP:
 * JSON and streamed answers with the full event sequence, usage, the model's errors, and a
 * scripted tool call round trip (function_call, then function_call_output, then the answer).
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimServer, type SimServer } from '../src/llm/sim/index.ts';

let sim: SimServer;
let client: OpenAI;

beforeAll(async () => {
  sim = await startSimServer({ apiKey: 'sk-sim-test', toolCalls: { exec_command: '{"cmd":["ls","-a"]}' } });
  client = new OpenAI({ apiKey: 'sk-sim-test', baseURL: `${sim.url}/v1`, maxRetries: 0 });
});
afterAll(async () => { await sim?.close(); });

const EXEC = {
  type: 'function' as const, name: 'exec_command', description: 'run a command', strict: false,
  parameters: { type: 'object', properties: { cmd: { type: 'array', items: { type: 'string' } } }, required: ['cmd'] },
};

describe('the simulator\'s Responses API', () => {
  it('answers with a message item, output_text and usage (reasoning counted for GPT-5)', async () => {
    const r = await client.responses.create({ model: 'gpt-5', instructions: 'be brief', input: 'rename the helper', reasoning: { effort: 'low' } });
    expect(r.status).toBe('completed');
    expect(r.output.map((i) => i.type)).toEqual(['reasoning', 'message']);
    expect(r.output_text.length).toBeGreaterThan(0);
    expect(r.usage).toMatchObject({ input_tokens: expect.any(Number), output_tokens: expect.any(Number) });
    expect(r.usage!.output_tokens_details.reasoning_tokens).toBeGreaterThan(0);
    expect(r.usage!.total_tokens).toBe(r.usage!.input_tokens + r.usage!.output_tokens);
  });

  it('streams the whole event sequence a client builds its output from', async () => {
    const stream = await client.responses.create({ model: 'gpt-5', input: [{ role: 'user', content: 'fix the typo' }], stream: true });
    const types: string[] = [];
    let text = '';
    let final: OpenAI.Responses.Response | undefined;
    for await (const e of stream) {
      types.push(e.type);
      if (e.type === 'response.output_text.delta') text += e.delta;
      if (e.type === 'response.completed') final = e.response;
    }
    expect(types[0]).toBe('response.created');
    expect(types.at(-1)).toBe('response.completed');
    for (const t of ['response.in_progress', 'response.output_item.added', 'response.content_part.added', 'response.output_text.delta',
      'response.output_text.done', 'response.content_part.done', 'response.output_item.done']) expect(types).toContain(t);
    const message = final!.output.find((i) => i.type === 'message') as OpenAI.Responses.ResponseOutputMessage;
    expect((message.content[0] as OpenAI.Responses.ResponseOutputText).text).toBe(text);
    expect(final!.usage!.output_tokens).toBeGreaterThan(0);
  });

  it('calls a scripted tool, then answers once the conversation holds the tool\'s output', async () => {
    const first = await client.responses.create({ model: 'gpt-5', input: 'list the files', tools: [EXEC] });
    const call = first.output.find((i) => i.type === 'function_call') as OpenAI.Responses.ResponseFunctionToolCall;
    expect(call).toMatchObject({ name: 'exec_command', arguments: '{"cmd":["ls","-a"]}' });
    expect(first.output_text).toBe('');
    const second = await client.responses.create({
      model: 'gpt-5', tools: [EXEC],
      input: [
        { role: 'user', content: 'list the files' },
        { type: 'function_call', call_id: call.call_id, name: call.name, arguments: call.arguments },
        { type: 'function_call_output', call_id: call.call_id, output: 'README.md\nsrc' },
      ],
    });
    expect(second.output.some((i) => i.type === 'function_call')).toBe(false);
    expect(second.output_text.length).toBeGreaterThan(0);
  });

  it('streams a tool call as argument deltas inside its output item', async () => {
    const stream = await client.responses.create({ model: 'gpt-5', input: 'list the files', tools: [EXEC], stream: true });
    let args = '';
    let done: OpenAI.Responses.ResponseFunctionToolCall | undefined;
    for await (const e of stream) {
      if (e.type === 'response.function_call_arguments.delta') args += e.delta;
      if (e.type === 'response.output_item.done' && e.item.type === 'function_call') done = e.item;
    }
    expect(args).toBe('{"cmd":["ls","-a"]}');
    expect(done).toMatchObject({ name: 'exec_command', arguments: args, status: 'completed' });
  });

  it('refuses an unknown model, a bad effort and a bad key in OpenAI\'s error shape', async () => {
    await expect(client.responses.create({ model: 'gpt-9', input: 'x' })).rejects.toMatchObject({ status: 404, code: 'model_not_found' });
    await expect(client.responses.create({ model: 'gpt-5', input: 'x', reasoning: { effort: 'extreme' as 'high' } })).rejects.toMatchObject({ status: 400, param: 'reasoning.effort' });
    const wrong = new OpenAI({ apiKey: 'sk-wrong-key-123456', baseURL: `${sim.url}/v1`, maxRetries: 0 });
    await expect(wrong.responses.create({ model: 'gpt-5', input: 'x' })).rejects.toMatchObject({ status: 401, code: 'invalid_api_key' });
  });
});

describe('the simulator\'s scripted agent turns (koubou sim --script)', () => {
  it('makes the calls in order, one per request, then answers; in Chat Completions as in the Responses API', async () => {
    const turns = [{ name: 'exec_command', arguments: '{"cmd":"mkdir src"}' }, { name: 'exec_command', arguments: '{"cmd":"touch src/x.ts"}' }];
    const agent = await startSimServer({ turns });
    try {
      const chat = new OpenAI({ apiKey: 'x', baseURL: `${agent.url}/v1`, maxRetries: 0 });
      const tools = [{ type: 'function' as const, function: { name: 'exec_command', parameters: { type: 'object', properties: { cmd: { type: 'string' } } } } }];
      const messages: OpenAI.Chat.ChatCompletionMessageParam[] = [{ role: 'user', content: 'make a module' }];
      const args: string[] = [];
      for (let i = 0; i < 3; i++) {
        const m = (await chat.chat.completions.create({ model: 'gpt-5', messages, tools })).choices[0]!.message;
        messages.push(m);
        const call = m.tool_calls?.[0] as OpenAI.Chat.ChatCompletionMessageFunctionToolCall | undefined;
        if (!call) break;
        args.push(call.function.arguments);
        messages.push({ role: 'tool', tool_call_id: call.id, content: 'ok' });
      }
      expect(args).toEqual(turns.map((t) => t.arguments));
      expect(messages.at(-1)).toMatchObject({ role: 'assistant', content: expect.any(String) });
      const r = await chat.responses.create({ model: 'gpt-5', input: [{ role: 'user', content: 'again' }, { type: 'function_call', call_id: 'c1', name: 'exec_command', arguments: '{}' }, { type: 'function_call_output', call_id: 'c1', output: 'ok' }], tools: [EXEC] });
      expect(r.output.find((i) => i.type === 'function_call')).toMatchObject({ arguments: turns[1]!.arguments });
    } finally {
      await agent.close();
    }
  });
});
