/**
 * GPT-5 (and any OpenAI-compatible server) through the official `openai` SDK:
 * streaming chat completions with usage in the final chunk, rate-limit headers
 * for the shared limiter, and every failure mapped to a stable code.
 */
import OpenAI, {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  APIUserAbortError,
} from 'openai';
import type { ChatCompletionChunk, ChatCompletionCreateParamsStreaming, ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import type { ToolCall } from '../core/types.ts';
import { countTokens } from '../policy/index.ts';
import { CallControl } from './callControl.ts';
import { describeCause, isUnreachable, ProviderFailure, rateLimitHeadersOf, redact, retryAfterMsOf } from './errors.ts';
import { StreamProgress } from './progress.ts';
import type { ChatMessage, GenerateRequest, GenerateResult, Provider } from './Provider.ts';

export interface OpenAIProviderOptions {
  apiKey: string;
  /** Default: the SDK's (`https://api.openai.com/v1`). */
  baseURL?: string;
  /** Gives up when no data came for this long (idle, not total). Default 600 000 (GPT-5 high may think for minutes). */
  timeoutMs?: number;
  /** Retries belong to the worker's policy; the SDK's own are always off. */
  maxRetries?: 0;
  /** The name this provider reports (`openai`; `sim` against `koubou sim`). */
  name?: string;
  /** Minimum gap between `onProgress` calls. Default 100 ms. */
  progressIntervalMs?: number;
}

const DEFAULT_TIMEOUT_MS = 600_000;
const HEALTH_TIMEOUT_MS = 10_000;

/**
 * @example
 * const gpt5 = new OpenAIProvider({ apiKey: process.env.OPENAI_API_KEY! });
 * const r = await gpt5.generate({
 *   model: 'gpt-5', reasoningEffort: 'high', maxOutputTokens: 128_000,
 *   messages: [{ role: 'user', content: 'Review this diff: …' }],
 *   onProgress: (p) => console.error(`${p.tokens} tokens`),
 * });
 * r.usage;            // { promptTokens, cachedPromptTokens, completionTokens, reasoningTokens }
 * r.rateLimitHeaders; // { 'x-ratelimit-remaining-requests': '9', … }
 */
export class OpenAIProvider implements Provider {
  readonly name: string;
  protected readonly client: OpenAI;
  protected readonly baseURL: string;
  private readonly apiKey: string;
  private readonly timeoutMs: number;
  private readonly progressIntervalMs: number | undefined;

  constructor(options: OpenAIProviderOptions) {
    this.name = options.name ?? 'openai';
    this.apiKey = options.apiKey;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.progressIntervalMs = options.progressIntervalMs;
    // logLevel off: failures are reported once, as ProviderFailures, not also on the console.
    this.client = new OpenAI({ apiKey: options.apiKey, baseURL: options.baseURL, maxRetries: 0, timeout: this.timeoutMs, logLevel: 'off' });
    this.baseURL = this.client.baseURL;
  }

  async generate(request: GenerateRequest): Promise<GenerateResult> {
    const call = new CallControl(request.signal, this.timeoutMs, `${this.name} at ${this.baseURL}`);
    const progress = new StreamProgress(request.onProgress, this.progressIntervalMs);
    let responded = false;
    try {
      const { data: stream, response } = await this.client.chat.completions
        .create(this.params(request), { signal: call.signal, maxRetries: 0 })
        .withResponse();
      responded = true;
      call.touch();
      let text = '';
      let model = request.model;
      let usage: ChatCompletionChunk['usage'] | undefined;
      let finished = false;
      const calls: ToolCall[] = [];
      for await (const chunk of stream) {
        call.touch();
        if (chunk.model) model = chunk.model;
        if (chunk.usage) usage = chunk.usage;
        const choice = chunk.choices[0];
        const piece = choice?.delta?.content;
        if (piece) {
          text += piece;
          progress.add(piece);
          request.onDelta?.({ text: piece });
        }
        // Tool calls stream as pieces keyed by index: the id and name once, the arguments in parts.
        for (const t of choice?.delta?.tool_calls ?? []) {
          const c = (calls[t.index] ??= { id: '', name: '', arguments: '' });
          if (t.id) c.id = t.id;
          if (t.function?.name) c.name += t.function.name;
          if (t.function?.arguments) {
            c.arguments += t.function.arguments;
            progress.add(t.function.arguments);
          }
          request.onDelta?.({ toolCall: { index: t.index, ...(t.id ? { id: t.id } : {}), ...(t.function?.name ? { name: t.function.name } : {}), ...(t.function?.arguments ? { arguments: t.function.arguments } : {}) } });
        }
        if (choice?.finish_reason) finished = true;
      }
      // The SDK ends the loop quietly when its signal aborts: tell why it ended.
      const ended = call.endedError();
      if (ended) throw ended;
      if (!finished) throw new ProviderFailure('MALFORMED_RESPONSE', `${this.name}: the stream ended before its finish chunk (cut short)`);
      progress.finish();
      return {
        text,
        model,
        usage: usage ? {
          promptTokens: usage.prompt_tokens,
          cachedPromptTokens: usage.prompt_tokens_details?.cached_tokens ?? 0,
          completionTokens: usage.completion_tokens,
          reasoningTokens: usage.completion_tokens_details?.reasoning_tokens ?? 0,
        } : {
          // Servers without `stream_options` support (older LM Studio): our own count.
          promptTokens: countTokens(request.messages.map((m) => m.content).join('\n')),
          cachedPromptTokens: 0,
          completionTokens: progress.count,
          reasoningTokens: 0,
        },
        rateLimitHeaders: rateLimitHeadersOf(response.headers),
        ...(calls.length ? { toolCalls: calls.filter(Boolean) } : {}),
      };
    } catch (e) {
      throw this.mapError(e, call, responded, request.model);
    } finally {
      call.dispose();
    }
  }

  /**
   * The server answers and lists `model` (`GET /models`).
   *
   * @example
   * await new OpenAIProvider({ apiKey }).health('gpt-5'); // { ok: true, latencyMs: 212 }
   */
  async health(model: string): Promise<{ ok: true; latencyMs: number }> {
    const call = new CallControl(undefined, Math.min(this.timeoutMs, HEALTH_TIMEOUT_MS), `${this.name} at ${this.baseURL}`);
    const started = performance.now();
    try {
      const ids: string[] = [];
      for await (const m of this.client.models.list({ signal: call.signal, maxRetries: 0 })) ids.push(m.id);
      const latencyMs = Math.round(performance.now() - started);
      if (!ids.includes(model)) throw new ProviderFailure('MODEL_NOT_FOUND', this.missingModelMessage(model, ids));
      return { ok: true, latencyMs };
    } catch (e) {
      throw this.mapError(e, call, false, model);
    } finally {
      call.dispose();
    }
  }

  /** What to tell the user about a 401. Never includes the key. */
  protected authMessage(): string {
    return `${this.name} at ${this.baseURL} rejected the API key (401): check OPENAI_API_KEY or run \`koubou keys set openai\``;
  }

  protected missingModelMessage(model: string, available?: string[]): string {
    const list = available?.length ? ` (available: ${available.slice(0, 10).join(', ')})` : '';
    return `model "${model}" is not available from ${this.name} at ${this.baseURL} with this API key${list}`;
  }

  private params(request: GenerateRequest): ChatCompletionCreateParamsStreaming {
    return {
      model: request.model,
      messages: request.messages.map(toOpenAIMessage),
      ...(request.tools?.length ? {
        tools: request.tools.map((t) => ({ type: 'function' as const, function: { name: t.name, ...(t.description ? { description: t.description } : {}), ...(t.parameters ? { parameters: t.parameters } : {}) } })),
      } : {}),
      stream: true,
      stream_options: { include_usage: true },
      max_completion_tokens: request.maxOutputTokens,
      // GPT-5 rejects sampling parameters: send them only when the tier sets them.
      ...(request.reasoningEffort ? { reasoning_effort: request.reasoningEffort } : {}),
      ...(request.temperature !== undefined && request.temperature !== null ? { temperature: request.temperature } : {}),
      ...(request.topP !== undefined && request.topP !== null ? { top_p: request.topP } : {}),
    };
  }

  /** Any failure as a ProviderFailure with a stable code (unknown bugs pass through unchanged). */
  protected mapError(e: unknown, call: CallControl, responded: boolean, model: string): unknown {
    if (e instanceof ProviderFailure) return e;
    const ended = call.endedError(e);
    if (ended) return ended;
    const where = `${this.name} at ${this.baseURL}`;
    if (e instanceof APIUserAbortError) return new ProviderFailure('ABORTED', `${where}: the call was aborted`, { cause: e });
    if (e instanceof APIConnectionTimeoutError) return new ProviderFailure('TIMEOUT', `${where}: no response in time`, { cause: e });
    if (e instanceof APIConnectionError) {
      return new ProviderFailure('UNREACHABLE', `${where} is unreachable: ${describeCause(e)}`, { cause: e });
    }
    if (e instanceof APIError) return this.mapStatus(e, model, where);
    if (e instanceof SyntaxError) return new ProviderFailure('MALFORMED_RESPONSE', `${where} sent a response that is not valid JSON`, { cause: e });
    if (responded) return new ProviderFailure('MALFORMED_RESPONSE', `${where}: the stream broke off (${describeCause(e)})`, { cause: e });
    if (isUnreachable(e)) return new ProviderFailure('UNREACHABLE', `${where} is unreachable: ${describeCause(e)}`, { cause: e });
    return e;
  }

  private mapStatus(e: APIError, model: string, where: string): ProviderFailure {
    const status = e.status;
    const upstream = redact(e.message, this.apiKey);
    const details = { cause: e, ...(status === undefined ? {} : { status }) };
    if (status === 401) return new ProviderFailure('AUTH_FAILED', this.authMessage(), { ...details, cause: undefined });
    if (status === 403) return new ProviderFailure('PERMISSION_DENIED', `${where} refused (403): ${upstream}`, details);
    if (status === 404) {
      if (e.code === 'model_not_found' || /model/i.test(upstream)) return new ProviderFailure('MODEL_NOT_FOUND', this.missingModelMessage(model), details);
      return new ProviderFailure('BAD_REQUEST', `${where} has no such endpoint (404): check base_url`, details);
    }
    if (status === 429) {
      if (e.code === 'insufficient_quota') return new ProviderFailure('QUOTA_EXCEEDED', `${where}: quota exhausted (429 insufficient_quota); check the account's billing`, details);
      const headers = rateLimitHeadersOf(e.headers, true);
      const retryAfterMs = retryAfterMsOf(headers);
      const after = retryAfterMs === undefined ? '' : `; retry after ${(retryAfterMs / 1000).toFixed(1)} s`;
      return new ProviderFailure('RATE_LIMITED', `${where}: rate limited (429 ${e.type ?? e.code ?? ''})${after}`, {
        ...details, headers, ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      });
    }
    if (status === undefined || status === 408 || status === 409 || status >= 500) {
      return new ProviderFailure('UPSTREAM_ERROR', `${where} failed${status ? ` (${status})` : ' mid-stream'}: ${upstream}`, details);
    }
    return new ProviderFailure('BAD_REQUEST', `${where} rejected the request (${status}): ${upstream}`, details);
  }
}

/** A neutral message in Chat Completions' shape: assistant tool calls and tool outputs included. */
function toOpenAIMessage(m: ChatMessage): ChatCompletionMessageParam {
  if (m.role === 'tool') return { role: 'tool', content: m.content, tool_call_id: m.toolCallId ?? '' };
  if (m.role === 'assistant' && m.toolCalls?.length) {
    return {
      role: 'assistant', content: m.content || null,
      tool_calls: m.toolCalls.map((c) => ({ id: c.id, type: 'function' as const, function: { name: c.name, arguments: c.arguments } })),
    };
  }
  return { role: m.role, content: m.content };
}
