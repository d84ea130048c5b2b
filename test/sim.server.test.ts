/**
 * The simulator's wire formats, checked with plain `fetch` (no SDK in between):
 * SSE framing, NDJSON framing, header names and error bodies, as OpenAI and
 * Ollama send them.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { parseDuration } from '../src/policy/rateLimit.ts';
import {
  OLLAMA_BUSY_MESSAGE,
  simPromptTokens,
  simReasoningTokens,
  startSimServer,
  type SimOptions,
  type SimServer,
} from '../src/llm/sim/index.ts';

const servers: SimServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});
async function sim(options: SimOptions = {}): Promise<SimServer> {
  const s = await startSimServer(options);
  servers.push(s);
  return s;
}

const task = [{ role: 'user', content: 'Rename the helper in utils.ts' }];
const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
const chat = (s: SimServer, body: Record<string, unknown>, headers: Record<string, string> = {}) =>
  post(`${s.url}/v1/chat/completions`, { model: 'gpt-5', messages: task, ...body }, headers);

/** SSE events of a body: each `data: …` block, split on the blank line that ends it. */
function sseEvents(text: string): string[] {
  expect(text.endsWith('\n\n')).toBe(true);
  return text.slice(0, -2).split('\n\n').map((block) => {
    expect(block.startsWith('data: ')).toBe(true);
    return block.slice('data: '.length);
  });
}

describe('OpenAI protocol', () => {
  it('streams SSE chunks, then usage only when asked, then [DONE]', async () => {
    const s = await sim({ outputTokens: 20 });
    const res = await chat(s, { stream: true, stream_options: { include_usage: true }, reasoning_effort: 'low' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = sseEvents(await res.text());
    expect(events.at(-1)).toBe('[DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e));
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
    expect(chunks.every((c) => c.object === 'chat.completion.chunk' && c.model === 'gpt-5')).toBe(true);
    expect(chunks[0].choices[0].delta).toMatchObject({ role: 'assistant', content: '' });
    const usageChunk = chunks.at(-1);
    expect(usageChunk.choices).toEqual([]);
    expect(usageChunk.usage).toEqual({
      prompt_tokens: simPromptTokens(task), completion_tokens: 20 + simReasoningTokens('low', 20), total_tokens: simPromptTokens(task) + 20 + simReasoningTokens('low', 20),
      prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: simReasoningTokens('low', 20), audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
    });
    expect(chunks.slice(0, -1).every((c) => c.usage === null)).toBe(true);
    expect(chunks.at(-2).choices[0]).toMatchObject({ delta: {}, finish_reason: 'stop' });
    const text = chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('');
    expect(text).toMatch(/^\[simulated gpt-5\] re: "Rename the helper in utils\.ts"/);
  });

  it('leaves usage out of every chunk without stream_options.include_usage', async () => {
    const s = await sim();
    const chunks = sseEvents(await (await chat(s, { stream: true })).text()).slice(0, -1).map((e) => JSON.parse(e));
    expect(chunks.some((c) => 'usage' in c)).toBe(false);
    expect(chunks.at(-1).choices[0].finish_reason).toBe('stop');
  });

  it('answers without streaming as one chat.completion', async () => {
    const s = await sim({ outputTokens: 8 });
    const body = await (await chat(s, { reasoning_effort: 'minimal' })).json();
    expect(body).toMatchObject({ object: 'chat.completion', model: 'gpt-5', choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant' } }] });
    expect(body.usage).toMatchObject({ completion_tokens: 8, completion_tokens_details: { reasoning_tokens: 0 } });
  });

  it('spends more reasoning tokens at higher effort and cuts at max_completion_tokens', async () => {
    const s = await sim({ outputTokens: 10 });
    const usage = async (b: Record<string, unknown>) => (await (await chat(s, b)).json()).usage;
    const [low, medium, high] = await Promise.all(['low', 'medium', 'high'].map((e) => usage({ reasoning_effort: e })));
    expect(low.completion_tokens_details.reasoning_tokens).toBeLessThan(medium.completion_tokens_details.reasoning_tokens);
    expect(medium.completion_tokens_details.reasoning_tokens).toBeLessThan(high.completion_tokens_details.reasoning_tokens);
    const capped = await (await chat(s, { reasoning_effort: 'high', max_completion_tokens: 45 })).json();
    expect(capped.usage.completion_tokens).toBe(45);
    expect(capped.usage.completion_tokens_details.reasoning_tokens).toBe(40);
    expect(capped.choices[0].finish_reason).toBe('length');
  });

  it('caches prompt prefixes in 1024-token blocks', async () => {
    const s = await sim();
    const long = [{ role: 'system', content: 'Always write tests first. '.repeat(500) }, ...task];
    const cached = async () => (await (await chat(s, { messages: long })).json()).usage.prompt_tokens_details.cached_tokens;
    expect(await cached()).toBe(0);
    const second = await cached();
    expect(second % 1024).toBe(0);
    expect(second).toBe(Math.floor(simPromptTokens(long) / 1024) * 1024);
    // Other models have their own cache.
    const other = await (await chat(s, { model: 'gpt-5-mini', messages: long })).json();
    expect(other.usage.prompt_tokens_details.cached_tokens).toBe(0);
  });

  it('sends x-ratelimit-* headers in Go duration format, and 429 with retry-after when exceeded', async () => {
    const s = await sim({ rateLimit: { rpm: 2, tpm: 100_000 } });
    const first = await chat(s, {});
    expect(first.headers.get('x-request-id')).toMatch(/^req_[0-9a-f]{32}$/);
    expect(first.headers.get('x-ratelimit-limit-requests')).toBe('2');
    expect(first.headers.get('x-ratelimit-limit-tokens')).toBe('100000');
    expect(first.headers.get('x-ratelimit-remaining-requests')).toBe('1');
    for (const kind of ['requests', 'tokens']) {
      const reset = first.headers.get(`x-ratelimit-reset-${kind}`)!;
      expect(reset).toMatch(/^(\d+h)?(\d+m)?(\d+(\.\d+)?s|\d+ms)$/);
      expect(parseDuration(reset)).toBeGreaterThan(0);
    }
    expect(parseDuration(first.headers.get('x-ratelimit-reset-requests')!)).toBeCloseTo(30_000, -3); // half of a 2 RPM bucket
    await chat(s, {});
    const limited = await chat(s, {});
    expect(limited.status).toBe(429);
    expect(limited.headers.get('x-ratelimit-remaining-requests')).toBe('0');
    const retryAfterMillis = Number(limited.headers.get('retry-after-ms'));
    expect(retryAfterMillis).toBeGreaterThan(0);
    expect(Number(limited.headers.get('retry-after'))).toBe(Math.ceil(retryAfterMillis / 1000));
    expect(await limited.json()).toMatchObject({ error: { type: 'requests', code: 'rate_limit_exceeded', param: null } });
    expect(s.stats.rateLimited).toBe(1);
  });

  it('requires the bearer key when one is configured, with OpenAI error bodies', async () => {
    const s = await sim({ apiKey: 'sk-correct-horse-1234' });
    const missing = await chat(s, {});
    expect(missing.status).toBe(401);
    expect((await missing.json()).error).toMatchObject({ type: 'invalid_request_error', code: null, message: expect.stringContaining("didn't provide an API key") });
    const wrong = await chat(s, {}, { authorization: 'Bearer sk-wrong-9999' });
    const body = await wrong.json();
    expect(body.error).toMatchObject({ code: 'invalid_api_key', param: null });
    expect(body.error.message).not.toContain('sk-wrong-9999');
    expect((await chat(s, {}, { authorization: 'Bearer sk-correct-horse-1234' })).status).toBe(200);
    expect(s.stats.log.map((r) => r.auth)).toEqual(['none', 'bad', 'ok']);
    expect(JSON.stringify(s.stats)).not.toContain('sk-correct-horse-1234');
  });

  it('answers 404 model_not_found and GPT-5 parameter errors like OpenAI', async () => {
    const s = await sim();
    const missing = await chat(s, { model: 'gpt-9' });
    expect(missing.status).toBe(404);
    expect((await missing.json()).error).toMatchObject({ code: 'model_not_found', message: 'The model `gpt-9` does not exist or you do not have access to it.' });
    const temp = await chat(s, { temperature: 0.2 });
    expect(temp.status).toBe(400);
    expect((await temp.json()).error).toMatchObject({ param: 'temperature', code: 'unsupported_value' });
    const maxTokens = await chat(s, { max_tokens: 100 });
    expect((await maxTokens.json()).error).toMatchObject({ param: 'max_tokens', code: 'unsupported_parameter' });
    const models = await (await fetch(`${s.url}/v1/models`)).json();
    expect(models.object).toBe('list');
    expect(models.data.map((m: { id: string }) => m.id)).toContain('gpt-5');
  });
});

describe('Ollama protocol', () => {
  const ochat = (s: SimServer, body: Record<string, unknown>) => post(`${s.url}/api/chat`, { model: 'gpt-oss:20b', messages: task, ...body });

  it('streams NDJSON: thinking, then content, then one done line with the counters', async () => {
    const s = await sim({ outputTokens: 30 });
    const res = await ochat(s, {});
    expect(res.headers.get('content-type')).toBe('application/x-ndjson');
    const text = await res.text();
    expect(text.endsWith('\n')).toBe(true);
    const lines = text.trimEnd().split('\n').map((l) => JSON.parse(l));
    const last = lines.at(-1);
    expect(lines.slice(0, -1).every((l) => l.done === false && l.model === 'gpt-oss:20b')).toBe(true);
    expect(last).toMatchObject({ done: true, done_reason: 'stop', prompt_eval_count: simPromptTokens(task), eval_count: 30 + simReasoningTokens('medium', 30), message: { role: 'assistant', content: '' } });
    for (const k of ['total_duration', 'load_duration', 'prompt_eval_duration', 'eval_duration']) expect(last[k]).toBeGreaterThan(0);
    const thinking = lines.filter((l) => l.message.thinking).length;
    expect(thinking).toBe(simReasoningTokens('medium', 30));
    expect(lines.findIndex((l) => l.message.content)).toBeGreaterThan(lines.findLastIndex((l) => l.message.thinking));
    expect(lines.map((l) => l.message.content).join('')).toContain('[simulated gpt-oss:20b] re: "Rename the helper in utils.ts"');
  });

  it('answers one JSON object with stream: false, and no thinking when think is false', async () => {
    const s = await sim({ outputTokens: 5 });
    const body = await (await ochat(s, { stream: false, think: false })).json();
    expect(body).toMatchObject({ done: true, eval_count: 5, message: { role: 'assistant' } });
    expect(body.message).not.toHaveProperty('thinking');
  });

  it('404s a model that is not pulled, in Ollama\'s words', async () => {
    const s = await sim();
    const res = await ochat(s, { model: 'llama3' });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: 'model "llama3" not found, try pulling it first' });
  });

  it('503s past maxQueue with Ollama\'s busy message', async () => {
    const s = await sim({ maxQueue: 1, latencyMs: 60_000 });
    const slow = new AbortController();
    const pending = fetch(`${s.url}/api/chat`, { method: 'POST', body: JSON.stringify({ model: 'gpt-oss:20b', messages: task }), signal: slow.signal }).catch(() => 'aborted');
    await expect.poll(() => s.stats.inFlight).toBe(1);
    const busy = await ochat(s, {});
    expect(busy.status).toBe(503);
    expect(await busy.json()).toEqual({ error: OLLAMA_BUSY_MESSAGE });
    slow.abort();
    expect(await pending).toBe('aborted');
    await expect.poll(() => s.stats.inFlight).toBe(0);
    s.setOptions({ latencyMs: 0 });
    expect((await ochat(s, { stream: false })).status).toBe(200); // room again once the first left
  });

  it('lists models (/api/tags), its version and loaded models (/api/ps)', async () => {
    const s = await sim({ models: { ollama: ['gpt-oss:20b', 'qwen3'] }, ollamaVersion: '0.12.9' });
    const tags = await (await fetch(`${s.url}/api/tags`)).json();
    expect(tags.models.map((m: { name: string }) => m.name)).toEqual(['gpt-oss:20b', 'qwen3:latest']);
    expect(tags.models[0].details).toMatchObject({ family: 'gptoss', quantization_level: 'MXFP4' });
    expect(await (await fetch(`${s.url}/api/version`)).json()).toEqual({ version: '0.12.9' });
    expect((await (await fetch(`${s.url}/api/ps`)).json()).models).toEqual([]);
    await (await ochat(s, { stream: false })).json();
    const ps = await (await fetch(`${s.url}/api/ps`)).json();
    expect(ps.models.map((m: { name: string }) => m.name)).toEqual(['gpt-oss:20b']);
    expect(Date.parse(ps.models[0].expires_at)).toBeGreaterThan(Date.now());
  });
});
