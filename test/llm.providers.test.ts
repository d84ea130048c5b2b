/**
 * One provider test suite, run against every implementation (the way the Vercel
 * AI SDK tests its providers): each test starts `koubou sim` on a free port and
 * talks to it over real HTTP through the real `openai` / `ollama` packages.
 * Capabilities a protocol lacks (auth and rate limits on Ollama, `HOST_BUSY`
 * on OpenAI) are not registered for that subject: not faked, and not counted as skipped.
 */
import { createServer } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { apply429, applyHeaders, createRateLimitState } from '../src/policy/rateLimit.ts';
import { AnthropicProvider, createProvider, LMStudioProvider, OllamaProvider, OpenAIProvider, ProviderFailure, type GenerateRequest, type Provider } from '../src/llm/index.ts';
import { simPromptTokens, simReasoningTokens, startSimServer, type SimOptions, type SimServer } from '../src/llm/sim/index.ts';

const KEY = 'sk-sim-right-key-0001';

interface Subject {
  name: string;
  protocol: 'openai' | 'ollama' | 'anthropic';
  model: string;
  /** Options its sim needs to accept it (the OpenAI subject sends KEY). */
  sim: SimOptions;
  make(url: string, o?: { apiKey?: string; timeoutMs?: number }): Provider;
}

/** Only set what was given: the providers' defaults are part of what is tested. */
const opt = <K extends string, V>(key: K, value: V | undefined) => (value === undefined ? {} : { [key]: value }) as Partial<Record<K, V>>;

const subjects: Subject[] = [
  {
    name: 'OpenAIProvider', protocol: 'openai', model: 'gpt-5', sim: { apiKey: KEY },
    make: (url, o = {}) => new OpenAIProvider({ apiKey: o.apiKey ?? KEY, baseURL: `${url}/v1`, ...opt('timeoutMs', o.timeoutMs) }),
  },
  {
    name: 'LMStudioProvider', protocol: 'openai', model: 'openai/gpt-oss-20b', sim: {},
    make: (url, o = {}) => new LMStudioProvider({ baseURL: `${url}/v1`, ...opt('apiKey', o.apiKey), ...opt('timeoutMs', o.timeoutMs) }),
  },
  {
    name: 'OllamaProvider', protocol: 'ollama', model: 'gpt-oss:20b', sim: {},
    make: (url, o = {}) => new OllamaProvider({ host: url, ...opt('timeoutMs', o.timeoutMs) }),
  },
  {
    name: 'createProvider(sim → OpenAI protocol)', protocol: 'openai', model: 'gpt-5', sim: { apiKey: KEY },
    make: (url, o = {}) => createProvider({ provider: 'sim', model: 'gpt-5', base_url: `${url}/v1` }, { sim: { apiKey: o.apiKey ?? KEY }, ...opt('timeoutMs', o.timeoutMs) }),
  },
  {
    name: 'createProvider(sim → Ollama protocol)', protocol: 'ollama', model: 'gpt-oss:20b', sim: {},
    make: (url, o = {}) => createProvider({ provider: 'sim', model: 'gpt-oss:20b', base_url: url }, opt('timeoutMs', o.timeoutMs)),
  },
  {
    name: 'AnthropicProvider', protocol: 'anthropic', model: 'claude-sonnet-4-5', sim: { apiKey: KEY },
    make: (url, o = {}) => new AnthropicProvider({ apiKey: o.apiKey ?? KEY, baseURL: url, ...opt('timeoutMs', o.timeoutMs) }),
  },
  {
    name: 'createProvider(anthropic kind)', protocol: 'anthropic', model: 'claude-sonnet-4-5', sim: { apiKey: KEY },
    make: (url, o = {}) => createProvider({ provider: 'anthropic', model: 'claude-sonnet-4-5', base_url: url }, { apiKey: o.apiKey ?? KEY, ...opt('timeoutMs', o.timeoutMs) }),
  },
];
/** Protocols with API keys and rate-limit headers (Ollama has neither). */
const keyed = (s: Subject) => s.protocol !== 'ollama';

/** Registers a test only for subjects that have the capability. */
const itWhen = (applies: boolean) => (applies ? it : ((() => undefined) as unknown as typeof it));

const servers: SimServer[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

const messages = (task = 'Fix the off-by-one in parser.ts') => [
  { role: 'system' as const, content: 'You are a careful engineer.' },
  { role: 'user' as const, content: task },
];

/** The error a promise rejects with (fails the test if it resolves). */
async function failure(p: Promise<unknown>): Promise<ProviderFailure> {
  const e = await p.then(() => undefined, (err: unknown) => err);
  expect(e, 'expected the call to fail').toBeInstanceOf(ProviderFailure);
  return e as ProviderFailure;
}

/** A port that was free a moment ago and that nobody listens on now. */
async function freePortNobodyListensOn(): Promise<number> {
  const srv = createServer().listen(0, '127.0.0.1');
  await new Promise((r) => srv.once('listening', r));
  const { port } = srv.address() as { port: number };
  await new Promise((r) => srv.close(r));
  return port;
}

describe.each(subjects)('$name', (subject) => {
  const start = async (extra: SimOptions = {}): Promise<{ sim: SimServer; provider: Provider }> => {
    const sim = await startSimServer({ ...subject.sim, ...extra });
    servers.push(sim);
    return { sim, provider: subject.make(sim.url) };
  };
  const request = (over: Partial<GenerateRequest> = {}): GenerateRequest => ({
    model: subject.model, messages: messages(), maxOutputTokens: 4000, ...over,
  });
  const lastChatBody = (sim: SimServer) => sim.stats.log.filter((r) => /chat|messages/.test(r.path)).at(-1)?.body;

  it('completes a task and reports its usage', async () => {
    const { sim, provider } = await start({ outputTokens: 30 });
    const r = await provider.generate(request({ reasoningEffort: null }));
    expect(r.text).toContain(`[simulated ${subject.model}]`);
    expect(r.text).toContain('Fix the off-by-one in parser.ts');
    expect(r.model).toBe(subject.model);
    expect(r.usage.promptTokens).toBe(simPromptTokens(messages()));
    // gpt-5 reasons at medium by default, gpt-oss on Ollama thinks at medium; LM Studio's gpt-oss reasons only when asked.
    // Claude thinks only when asked.
    const reasoning = subject.model === 'openai/gpt-oss-20b' || subject.protocol === 'anthropic' ? 0 : simReasoningTokens('medium', 30);
    expect(r.usage).toMatchObject({ completionTokens: 30 + reasoning, reasoningTokens: reasoning, cachedPromptTokens: 0 });
    const body = lastChatBody(sim)!;
    if (subject.protocol === 'openai') {
      expect(body).toMatchObject({ stream: true, stream_options: { include_usage: true }, max_completion_tokens: 4000 });
      expect(body).not.toHaveProperty('temperature');
      expect(body).not.toHaveProperty('reasoning_effort');
    } else if (subject.protocol === 'anthropic') {
      expect(body).toMatchObject({ stream: true, max_tokens: 4000, system: 'You are a careful engineer.' });
      expect(body).not.toHaveProperty('temperature');
      expect(body).not.toHaveProperty('output_config');
    } else {
      expect(body).toMatchObject({ stream: true, options: { num_predict: 4000 } });
      expect(body).not.toHaveProperty('think');
    }
  });

  it('sends reasoning effort and sampling parameters only when given', async () => {
    const { sim, provider } = await start();
    if (subject.model === 'gpt-5') {
      // GPT-5 rejects temperature: a tier that sets one gets a clear, final error.
      const e = await failure(provider.generate(request({ temperature: 0.3 })));
      expect(e).toMatchObject({ code: 'BAD_REQUEST', retryable: false, message: expect.stringMatching(/temperature/) });
    } else {
      await provider.generate(request({ temperature: 0.3, topP: 0.9 }));
      const body = lastChatBody(sim)!;
      if (subject.protocol === 'ollama') expect(body).toMatchObject({ options: { temperature: 0.3, top_p: 0.9 } });
      else expect(body).toMatchObject({ temperature: 0.3, top_p: 0.9 });
    }
    await provider.generate(request({ reasoningEffort: 'high' }));
    const asked = { openai: { reasoning_effort: 'high' }, ollama: { think: 'high' }, anthropic: { output_config: { effort: 'high' } } }[subject.protocol];
    expect(lastChatBody(sim)).toMatchObject(asked);
  });

  it('calls onProgress while the answer streams, before it resolves', async () => {
    const { provider } = await start({ outputTokens: 40, tokensPerSecond: 400 });
    const seen: { tokens: number; resolved: boolean }[] = [];
    let resolved = false;
    const r = await provider.generate(request({ reasoningEffort: null, onProgress: (p) => seen.push({ tokens: p.tokens, resolved }) }));
    resolved = true;
    expect(seen.length).toBeGreaterThan(1);
    expect(seen.every((s) => !s.resolved)).toBe(true);
    // The first report comes with the first piece, long before the whole answer.
    expect(seen[0]!.tokens).toBeLessThan(seen.at(-1)!.tokens);
    expect(seen.map((s) => s.tokens)).toEqual([...seen.map((s) => s.tokens)].sort((a, b) => a - b));
    expect(seen.at(-1)!.tokens).toBeGreaterThanOrEqual(40);
    expect(r.text).toContain('[simulated');
  });

  it('reports reasoning tokens exactly, by effort', async () => {
    const { provider } = await start({ outputTokens: 20 });
    const high = await provider.generate(request({ reasoningEffort: 'high' }));
    const low = await provider.generate(request({ reasoningEffort: 'low' }));
    expect(high.usage).toMatchObject({ reasoningTokens: simReasoningTokens('high', 20), completionTokens: 20 + simReasoningTokens('high', 20) });
    expect(low.usage).toMatchObject({ reasoningTokens: simReasoningTokens('low', 20), completionTokens: 20 + simReasoningTokens('low', 20) });
    expect(high.usage.reasoningTokens).toBeGreaterThan(low.usage.reasoningTokens);
  });

  itWhen(keyed(subject))('reports cached prompt tokens for a repeated prefix', async () => {
    const { provider } = await start();
    const longSystem = 'Project rules: keep functions small and name things plainly. '.repeat(300);
    const msgs = (task: string) => [{ role: 'system' as const, content: longSystem }, { role: 'user' as const, content: task }];
    expect((await provider.generate(request({ messages: msgs('task one') }))).usage.cachedPromptTokens).toBe(0);
    const again = await provider.generate(request({ messages: msgs('task one') }));
    const other = await provider.generate(request({ messages: msgs('a different task') }));
    expect(again.usage.cachedPromptTokens).toBe(Math.floor(again.usage.promptTokens / 1024) * 1024);
    expect(again.usage.cachedPromptTokens).toBeGreaterThan(0);
    // Only the shared system message (its tokens, without the reply priming), in whole 1024-token blocks, is reused.
    const shared = simPromptTokens([{ role: 'system', content: longSystem }]) - 3;
    expect(other.usage.cachedPromptTokens).toBe(Math.floor(shared / 1024) * 1024);
    expect(other.usage.cachedPromptTokens).toBeLessThan(again.usage.cachedPromptTokens + 1024);
  });

  itWhen(keyed(subject))('returns x-ratelimit-* headers (Anthropic\'s normalised to them) that the shared limiter applies', async () => {
    const { provider } = await start({ rateLimit: { rpm: 10, tpm: 50_000 } });
    const r = await provider.generate(request());
    expect(Object.keys(r.rateLimitHeaders ?? {}).sort()).toEqual([
      'x-ratelimit-limit-requests', 'x-ratelimit-limit-tokens', 'x-ratelimit-remaining-requests',
      'x-ratelimit-remaining-tokens', 'x-ratelimit-reset-requests', 'x-ratelimit-reset-tokens',
    ]);
    const now = Date.now();
    const after = applyHeaders(createRateLimitState({ rpm: 10, tpm: 50_000 }), r.rateLimitHeaders!, now);
    expect(after).toMatchObject({ serverLimitRequests: 10, serverRemainingRequests: 9, serverLimitTokens: 50_000 });
    expect(after.serverRemainingTokens).toBeLessThan(50_000);
    expect(after.serverResetRequestsAt).toBeGreaterThan(now);
  });

  itWhen(subject.protocol === 'ollama')('returns no rate-limit headers (Ollama has none)', async () => {
    const { provider } = await start();
    expect((await provider.generate(request())).rateLimitHeaders ?? {}).toEqual({});
  });

  itWhen(keyed(subject))('turns a 429 into RATE_LIMITED with retryAfterMs and the headers', async () => {
    const { provider } = await start({ rateLimit: { rpm: 1 } });
    await provider.generate(request());
    const e = await failure(provider.generate(request()));
    expect(e).toMatchObject({ code: 'RATE_LIMITED', retryable: true, rateLimited: true, status: 429 });
    expect(e.retryAfterMs).toBeGreaterThan(0);
    // OpenAI sends retry-after-ms; Anthropic retry-after, in seconds.
    expect(e.retryAfterMs).toBe(subject.protocol === 'anthropic' ? Number(e.headers!['retry-after']) * 1000 : Number(e.headers!['retry-after-ms']));
    expect(e.headers!['x-ratelimit-remaining-requests']).toBe('0');
    const now = Date.now();
    const blocked = apply429(createRateLimitState({ rpm: 1, tpm: null }), e.headers!['retry-after'], e.headers!['retry-after-ms'], now);
    expect(blocked.blockedUntil).toBe(now + e.retryAfterMs!);
  });

  itWhen(keyed(subject))('turns a 401 into AUTH_FAILED without the key in the message', async () => {
    const sim = await startSimServer({ ...subject.sim, apiKey: KEY });
    servers.push(sim);
    const wrong = 'sk-wrong-key-XYZW9876';
    const e = await failure(subject.make(sim.url, { apiKey: wrong }).generate(request()));
    expect(e).toMatchObject({ code: 'AUTH_FAILED', retryable: false });
    expect(e.message).not.toContain(wrong);
    expect(e.message).not.toContain('9876'); // OpenAI's own 401 message shows the key's last four
    expect(JSON.stringify(e)).not.toContain('9876');
    if (subject.name === 'OpenAIProvider') expect(e.message).toMatch(/OPENAI_API_KEY|koubou keys set openai/);
    if (subject.protocol === 'anthropic') expect(e.message).toMatch(/KOUBOU_ANTHROPIC_API_KEY|koubou keys set anthropic/);
  });

  it('turns an unknown model into MODEL_NOT_FOUND', async () => {
    const { provider } = await start();
    const e = await failure(provider.generate(request({ model: 'nope:1b' })));
    expect(e).toMatchObject({ code: 'MODEL_NOT_FOUND', retryable: false, status: 404 });
    if (subject.protocol === 'ollama') expect(e.message).toContain('ollama pull nope:1b');
  });

  it('turns a 5xx into a retryable UPSTREAM_ERROR', async () => {
    const { sim, provider } = await start({ inject: [{ status: 500 }, { status: 502 }] });
    expect(await failure(provider.generate(request()))).toMatchObject({ code: 'UPSTREAM_ERROR', retryable: true, rateLimited: false, status: 500 });
    expect(await failure(provider.generate(request()))).toMatchObject({ code: 'UPSTREAM_ERROR', status: 502 });
    // The queue is spent: the next call succeeds.
    await expect(provider.generate(request())).resolves.toMatchObject({ model: subject.model });
    expect(sim.stats.faultsInjected).toBe(2);
  });

  itWhen(subject.protocol === 'anthropic')('turns Anthropic\'s 529 overloaded_error into a retryable UPSTREAM_ERROR', async () => {
    const { provider } = await start({ inject: [{ status: 529 }] });
    expect(await failure(provider.generate(request()))).toMatchObject({ code: 'UPSTREAM_ERROR', retryable: true, rateLimited: false, status: 529 });
  });

  itWhen(subject.protocol === 'anthropic')('streams tool calls as tool_use blocks and sends their results back as tool_result blocks', async () => {
    const { sim, provider } = await start({ toolCalls: { get_weather: '{"city":"Kyoto"}' } });
    const tools = [{ name: 'get_weather', description: 'weather of a city', parameters: { type: 'object', properties: { city: { type: 'string' } } } }];
    const deltas: unknown[] = [];
    const first = await provider.generate(request({ tools, onDelta: (d) => deltas.push(d) }));
    expect(first.toolCalls).toEqual([{ id: expect.stringMatching(/^toolu_/), name: 'get_weather', arguments: '{"city":"Kyoto"}' }]);
    expect(deltas).toContainEqual({ toolCall: { index: 0, id: first.toolCalls![0]!.id, name: 'get_weather' } });
    expect((lastChatBody(sim) as { tools: unknown[] }).tools).toEqual([{ name: 'get_weather', description: 'weather of a city', input_schema: tools[0]!.parameters }]);
    const second = await provider.generate(request({
      tools, messages: [...messages(), { role: 'assistant', content: '', toolCalls: first.toolCalls! }, { role: 'tool', content: 'rain', toolCallId: first.toolCalls![0]!.id }],
    }));
    expect(second.toolCalls).toBeUndefined();
    expect((lastChatBody(sim) as { messages: unknown[] }).messages.slice(1)).toEqual([
      { role: 'assistant', content: [{ type: 'tool_use', id: first.toolCalls![0]!.id, name: 'get_weather', input: { city: 'Kyoto' } }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: first.toolCalls![0]!.id, content: 'rain' }] },
    ]);
  });

  it('turns malformed JSON into a retryable MALFORMED_RESPONSE', async () => {
    vi.spyOn(console, 'warn').mockImplementation(() => {}); // ollama-js warns about the bad line
    const { provider } = await start({ inject: [{ malformedJson: true }] });
    expect(await failure(provider.generate(request()))).toMatchObject({ code: 'MALFORMED_RESPONSE', retryable: true });
  });

  it('turns a stream cut mid-way into a retryable MALFORMED_RESPONSE', async () => {
    const { provider } = await start({ outputTokens: 40, inject: [{ cutStream: true, afterTokens: 5 }] });
    const progress: number[] = [];
    const e = await failure(provider.generate(request({ onProgress: (p) => progress.push(p.tokens) })));
    expect(e).toMatchObject({ code: 'MALFORMED_RESPONSE', retryable: true });
    expect(progress.length).toBeGreaterThan(0); // it had started streaming
  });

  it('gives up on a hung server with a retryable TIMEOUT', async () => {
    const sim = await startSimServer({ ...subject.sim, inject: [{ hang: true }] });
    servers.push(sim);
    const e = await failure(subject.make(sim.url, { timeoutMs: 300 }).generate(request()));
    expect(e).toMatchObject({ code: 'TIMEOUT', retryable: true });
    await vi.waitFor(() => expect(sim.stats.clientClosed).toBe(1)); // and it hung up
  });

  it('stops promptly on abort with ABORTED and closes the connection', async () => {
    // 2000 tokens at 20/s would take 100 s: only a real abort ends this within the test's timeout.
    const { sim, provider } = await start({ outputTokens: 2000, tokensPerSecond: 20 });
    const controller = new AbortController();
    const e = await failure(provider.generate(request({ maxOutputTokens: 100_000, signal: controller.signal, onProgress: () => controller.abort() })));
    expect(e).toMatchObject({ code: 'ABORTED', retryable: false });
    await vi.waitFor(() => expect(sim.stats.clientClosed).toBe(1));
    expect(sim.stats.completed).toBe(0);
    // An already aborted signal never reaches the server.
    expect(await failure(provider.generate(request({ signal: AbortSignal.abort() })))).toMatchObject({ code: 'ABORTED' });
    expect(sim.stats.chatRequests).toBe(1);
  });

  itWhen(subject.protocol === 'ollama')('turns a full queue (503) into a retryable HOST_BUSY', async () => {
    const { sim, provider } = await start({ maxQueue: 1, inject: [{ hang: true }] });
    const first = new AbortController();
    const hung = provider.generate(request({ signal: first.signal })).catch((err: unknown) => err);
    await vi.waitFor(() => expect(sim.stats.inFlight).toBe(1));
    const e = await failure(provider.generate(request()));
    expect(e).toMatchObject({ code: 'HOST_BUSY', retryable: true, status: 503 });
    expect(e.message).toMatch(/another host/);
    first.abort();
    expect(await hung).toMatchObject({ code: 'ABORTED' });
  });

  it('turns a refused connection into a retryable UNREACHABLE, in generate() and health()', async () => {
    const port = await freePortNobodyListensOn();
    const provider = subject.make(`http://127.0.0.1:${port}`);
    const e = await failure(provider.generate(request()));
    expect(e).toMatchObject({ code: 'UNREACHABLE', retryable: true });
    expect(e.message).toContain(String(port));
    expect(await failure(provider.health!(subject.model))).toMatchObject({ code: 'UNREACHABLE' });
  });

  it('health() passes for a served model and names the fix for a missing one', async () => {
    const { provider } = await start();
    const ok = await provider.health!(subject.model);
    expect(ok).toMatchObject({ ok: true, latencyMs: expect.any(Number), ...(subject.protocol === 'ollama' ? { version: '0.12.6' } : {}) });
    const e = await failure(provider.health!('gpt-oss:120b'));
    expect(e).toMatchObject({ code: 'MODEL_NOT_FOUND', retryable: false });
    if (subject.protocol === 'ollama') expect(e.message).toContain('ollama pull gpt-oss:120b');
    if (subject.name === 'LMStudioProvider') expect(e.message).toContain('lms load');
  });
});
