/**
 * Claude models through the official `@anthropic-ai/sdk`: streamed Messages with tools, usage
 * with cache reads and thinking tokens, Anthropic's rate-limit headers as koubou's rate-limit
 * signal, and every failure mapped to a stable code (429 RATE_LIMITED, 529 overloaded a
 * retryable UPSTREAM_ERROR).
 */
import Anthropic, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from '@anthropic-ai/sdk';
import type { ToolCall } from '../core/types.ts';
import { toolInput } from './anthropicCompat/responses.ts';
import { anthropicRateLimitSignal } from './anthropicRateLimit.ts';
import { CallControl } from './callControl.ts';
import { describeCause, isUnreachable, ProviderFailure, redact, retryAfterMsOf } from './errors.ts';
import { StreamProgress } from './progress.ts';
import type { ChatMessage, GenerateRequest, GenerateResult, Provider } from './Provider.ts';

export interface AnthropicProviderOptions {
  apiKey: string;
  /** Default: the SDK's (`https://api.anthropic.com`). */
  baseURL?: string;
  /** Gives up when no data came for this long (idle, not total). Default 600 000. */
  timeoutMs?: number;
  /** The name this provider reports (`anthropic`; `sim` against `koubou sim`). */
  name?: string;
  progressIntervalMs?: number;
}

const HEALTH_TIMEOUT_MS = 10_000;

/**
 * @example
 * const claude = new AnthropicProvider({ apiKey: key });
 * const r = await claude.generate({ model: 'claude-sonnet-4-5', maxOutputTokens: 8192, messages: [{ role: 'user', content: 'Review …' }] });
 * r.rateLimitHeaders; // { 'x-ratelimit-remaining-requests': '49', 'x-ratelimit-reset-requests': '1200ms', … }
 */
export class AnthropicProvider implements Provider {
  readonly name: string;
  private readonly client: Anthropic;
  private readonly baseURL: string;
  private readonly apiKey: string;
  private readonly timeoutMs: number;

  constructor(private readonly options: AnthropicProviderOptions) {
    this.name = options.name ?? 'anthropic';
    this.apiKey = options.apiKey;
    this.timeoutMs = options.timeoutMs ?? 600_000;
    this.client = new Anthropic({ apiKey: options.apiKey, baseURL: options.baseURL ?? null, maxRetries: 0, timeout: this.timeoutMs, logLevel: 'off' });
    this.baseURL = this.client.baseURL;
  }

  async generate(request: GenerateRequest): Promise<GenerateResult> {
    const call = new CallControl(request.signal, this.timeoutMs, `${this.name} at ${this.baseURL}`);
    const progress = new StreamProgress(request.onProgress, this.options.progressIntervalMs);
    let responded = false;
    try {
      const { data: stream, response } = await this.client.messages.create({ ...this.params(request), stream: true }, { signal: call.signal, maxRetries: 0 }).withResponse();
      responded = true;
      call.touch();
      let text = '';
      let model = request.model;
      const usage = { input: 0, cacheRead: 0, cacheWrite: 0, output: 0, thinking: 0 };
      const calls: ToolCall[] = [];
      /** Which tool call each content block is (by the block's index). */
      const callAt = new Map<number, number>();
      let finished = false;
      for await (const event of stream) {
        call.touch();
        if (event.type === 'message_start') {
          model = event.message.model || model;
          usage.input = event.message.usage.input_tokens;
          usage.cacheRead = event.message.usage.cache_read_input_tokens ?? 0;
          usage.cacheWrite = event.message.usage.cache_creation_input_tokens ?? 0;
        } else if (event.type === 'content_block_start' && event.content_block.type === 'tool_use') {
          const index = calls.push({ id: event.content_block.id, name: event.content_block.name, arguments: '' }) - 1;
          callAt.set(event.index, index);
          request.onDelta?.({ toolCall: { index, id: event.content_block.id, name: event.content_block.name } });
        } else if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') {
          text += event.delta.text;
          progress.add(event.delta.text);
          request.onDelta?.({ text: event.delta.text });
        } else if (event.type === 'content_block_delta' && event.delta.type === 'input_json_delta') {
          const index = callAt.get(event.index);
          if (index === undefined) continue;
          calls[index]!.arguments += event.delta.partial_json;
          progress.add(event.delta.partial_json);
          request.onDelta?.({ toolCall: { index, arguments: event.delta.partial_json } });
        } else if (event.type === 'message_delta') {
          usage.output = event.usage.output_tokens;
          usage.thinking = event.usage.output_tokens_details?.thinking_tokens ?? 0;
          if (event.usage.input_tokens != null) usage.input = event.usage.input_tokens;
          if (event.usage.cache_read_input_tokens != null) usage.cacheRead = event.usage.cache_read_input_tokens;
        } else if (event.type === 'message_stop') finished = true;
      }
      const ended = call.endedError();
      if (ended) throw ended;
      if (!finished) throw new ProviderFailure('MALFORMED_RESPONSE', `${this.name}: the stream ended before message_stop (cut short)`);
      progress.finish();
      return {
        text, model,
        // Anthropic counts cache reads and writes apart from input_tokens; koubou's prompt holds them all.
        usage: { promptTokens: usage.input + usage.cacheRead + usage.cacheWrite, cachedPromptTokens: usage.cacheRead, completionTokens: usage.output, reasoningTokens: usage.thinking },
        rateLimitHeaders: anthropicRateLimitSignal(response.headers),
        // A call whose input is empty streams no JSON: it is `{}`.
        ...(calls.length ? { toolCalls: calls.map((c) => ({ ...c, arguments: c.arguments || '{}' })) } : {}),
      };
    } catch (e) {
      throw this.mapError(e, call, responded, request.model);
    } finally {
      call.dispose();
    }
  }

  /** The server answers and lists `model` (`GET /v1/models`). */
  async health(model: string): Promise<{ ok: true; latencyMs: number }> {
    const call = new CallControl(undefined, Math.min(this.timeoutMs, HEALTH_TIMEOUT_MS), `${this.name} at ${this.baseURL}`);
    const started = performance.now();
    try {
      const ids: string[] = [];
      for await (const m of this.client.models.list({}, { signal: call.signal, maxRetries: 0 })) ids.push(m.id);
      const latencyMs = Math.round(performance.now() - started);
      if (!ids.includes(model)) throw new ProviderFailure('MODEL_NOT_FOUND', `model "${model}" is not available from ${this.name} at ${this.baseURL} with this API key (available: ${ids.slice(0, 10).join(', ')})`);
      return { ok: true, latencyMs };
    } catch (e) {
      throw this.mapError(e, call, false, model);
    } finally {
      call.dispose();
    }
  }

  private params(request: GenerateRequest): Omit<Anthropic.MessageCreateParamsStreaming, 'stream'> {
    const system = request.messages.filter((m) => m.role === 'system').map((m) => m.content).join('\n\n');
    const effort = request.reasoningEffort === 'minimal' ? 'low' : request.reasoningEffort;
    return {
      model: request.model,
      max_tokens: request.maxOutputTokens,
      ...(system ? { system } : {}),
      messages: toAnthropicMessages(request.messages),
      ...(request.tools?.length ? {
        tools: request.tools.map((t) => ({ name: t.name, ...(t.description ? { description: t.description } : {}), input_schema: { type: 'object' as const, ...(t.parameters ?? {}) } })),
      } : {}),
      ...(effort ? { output_config: { effort } } : {}),
      ...(request.temperature !== undefined && request.temperature !== null ? { temperature: request.temperature } : {}),
      ...(request.topP !== undefined && request.topP !== null ? { top_p: request.topP } : {}),
    };
  }

  private mapError(e: unknown, call: CallControl, responded: boolean, model: string): unknown {
    if (e instanceof ProviderFailure) return e;
    const ended = call.endedError(e);
    if (ended) return ended;
    const where = `${this.name} at ${this.baseURL}`;
    if (e instanceof APIUserAbortError) return new ProviderFailure('ABORTED', `${where}: the call was aborted`, { cause: e });
    if (e instanceof APIConnectionTimeoutError) return new ProviderFailure('TIMEOUT', `${where}: no response in time`, { cause: e });
    // A connection lost after the answer began is a broken stream, not an unreachable server.
    if (e instanceof APIConnectionError && responded) return new ProviderFailure('MALFORMED_RESPONSE', `${where}: the stream broke off (${describeCause(e)})`, { cause: e });
    if (e instanceof APIConnectionError) return new ProviderFailure('UNREACHABLE', `${where} is unreachable: ${describeCause(e)}`, { cause: e });
    if (e instanceof APIError) {
      const status = e.status;
      const upstream = redact(e.message, this.apiKey);
      const details = { cause: e, ...(status === undefined ? {} : { status }) };
      if (status === 401) return new ProviderFailure('AUTH_FAILED', `${where} rejected the API key (401): check KOUBOU_ANTHROPIC_API_KEY or run \`koubou keys set anthropic\``, { status });
      if (status === 403) return new ProviderFailure('PERMISSION_DENIED', `${where} refused (403): ${upstream}`, details);
      if (status === 404) return new ProviderFailure('MODEL_NOT_FOUND', `model "${model}" is not available from ${where} (404): ${upstream}`, details);
      if (status === 429) {
        const headers = anthropicRateLimitSignal(e.headers, Date.now(), true);
        const retryAfterMs = retryAfterMsOf(headers);
        const after = retryAfterMs === undefined ? '' : `; retry after ${(retryAfterMs / 1000).toFixed(1)} s`;
        return new ProviderFailure('RATE_LIMITED', `${where}: rate limited (429)${after}`, { ...details, headers, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) });
      }
      // 529: Anthropic is overloaded; 5xx, 408, 409 and a failure mid-stream may pass.
      if (status === undefined || status === 408 || status === 409 || status >= 500) {
        return new ProviderFailure('UPSTREAM_ERROR', `${where} failed${status ? ` (${status})` : ' mid-stream'}: ${upstream}`, details);
      }
      return new ProviderFailure('BAD_REQUEST', `${where} rejected the request (${status}): ${upstream}`, details);
    }
    if (e instanceof SyntaxError) return new ProviderFailure('MALFORMED_RESPONSE', `${where} sent a response that is not valid JSON`, { cause: e });
    if (responded) return new ProviderFailure('MALFORMED_RESPONSE', `${where}: the stream broke off (${describeCause(e)})`, { cause: e });
    if (isUnreachable(e)) return new ProviderFailure('UNREACHABLE', `${where} is unreachable: ${describeCause(e)}`, { cause: e });
    return e;
  }
}

/**
 * koubou's messages in Anthropic's shape: the system apart (see params), an assistant's tool
 * calls as `tool_use` blocks, tool outputs as `tool_result` blocks of a user turn, and
 * neighbouring turns of one role merged (the API wants them alternating).
 */
function toAnthropicMessages(messages: readonly ChatMessage[]): Anthropic.MessageParam[] {
  const out: { role: 'user' | 'assistant'; content: Anthropic.ContentBlockParam[] }[] = [];
  for (const m of messages) {
    if (m.role === 'system') continue;
    const role = m.role === 'assistant' ? 'assistant' : 'user';
    const blocks: Anthropic.ContentBlockParam[] = m.role === 'tool'
      ? [{ type: 'tool_result', tool_use_id: m.toolCallId ?? '', content: m.content }]
      : [
        ...(m.content ? [{ type: 'text' as const, text: m.content }] : []),
        ...(m.toolCalls ?? []).map((c) => ({ type: 'tool_use' as const, id: c.id, name: c.name, input: toolInput(c) })),
      ];
    const last = out.at(-1);
    if (last?.role === role) last.content.push(...blocks);
    else out.push({ role, content: blocks });
  }
  return out;
}
