/**
 * gpt-oss-20b (or any model) on an Ollama host through the official `ollama`
 * package: streaming `/api/chat`, usage from the final line's counters, a
 * health check that names the `ollama pull` to run, and Ollama's 503 ("queue
 * full") reported as HOST_BUSY so that the caller tries another host.
 */
import { Ollama, type ChatResponse, type Message } from 'ollama';
import type { ToolCall } from '../core/types.ts';
import { countTokens } from '../policy/index.ts';
import { CallControl } from './callControl.ts';
import { describeCause, isUnreachable, ProviderFailure } from './errors.ts';
import { StreamProgress } from './progress.ts';
import type { ChatMessage, GenerateRequest, GenerateResult, Provider } from './Provider.ts';

export interface OllamaProviderOptions {
  /** Default `http://localhost:11434`. */
  host?: string;
  /** Gives up when no data came for this long (idle, not total). Default 300 000 (a cold model load is slow). */
  timeoutMs?: number;
  /** The name this provider reports (`ollama`; `sim` against `koubou sim`). */
  name?: string;
  /** Minimum gap between `onProgress` calls. Default 100 ms. */
  progressIntervalMs?: number;
}

const DEFAULT_TIMEOUT_MS = 300_000;
const HEALTH_TIMEOUT_MS = 10_000;
/** What ollama-js throws when a stream ends without its `done` line. */
const NO_DONE = /did not receive done/i;

/** `gpt-oss` and `gpt-oss:latest` are the same model to Ollama. */
const fullName = (name: string): string => (name.includes(':') ? name : `${name}:latest`);

/**
 * @example
 * const local = new OllamaProvider({ host: 'http://gpu-box:11434' });
 * await local.health('gpt-oss:20b'); // { ok: true, version: '0.12.6', latencyMs: 4 }
 * const r = await local.generate({ model: 'gpt-oss:20b', maxOutputTokens: 8192, messages: [{ role: 'user', content: 'Add docstrings' }] });
 */
export class OllamaProvider implements Provider {
  readonly name: string;
  readonly host: string;
  private readonly timeoutMs: number;
  private readonly progressIntervalMs: number | undefined;

  constructor(options: OllamaProviderOptions = {}) {
    this.name = options.name ?? 'ollama';
    this.host = (options.host ?? 'http://localhost:11434').replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.progressIntervalMs = options.progressIntervalMs;
  }

  async generate(request: GenerateRequest): Promise<GenerateResult> {
    const call = new CallControl(request.signal, this.timeoutMs, `${this.name} at ${this.host}`);
    const progress = new StreamProgress(request.onProgress, this.progressIntervalMs);
    let responded = false;
    try {
      const stream = await this.client(call.signal).chat({
        model: request.model,
        messages: toOllamaMessages(request.messages),
        ...(request.tools?.length ? {
          tools: request.tools.map((t) => ({ type: 'function', function: { name: t.name, description: t.description ?? '', parameters: (t.parameters ?? { type: 'object', properties: {} }) as never } })),
        } : {}),
        stream: true,
        // gpt-oss takes low/medium/high; `minimal` is the least it has.
        ...(request.reasoningEffort ? { think: request.reasoningEffort === 'minimal' ? 'low' : request.reasoningEffort } : {}),
        options: {
          num_predict: request.maxOutputTokens,
          ...(request.temperature !== undefined && request.temperature !== null ? { temperature: request.temperature } : {}),
          ...(request.topP !== undefined && request.topP !== null ? { top_p: request.topP } : {}),
        },
      });
      responded = true;
      call.touch();
      let text = '';
      let thinking = '';
      let last: ChatResponse | undefined;
      const calls: ToolCall[] = [];
      for await (const part of stream) {
        call.touch();
        const piece = part.message?.content ?? '';
        text += piece;
        if (piece) request.onDelta?.({ text: piece });
        // Ollama sends each tool call whole, its arguments as an object, and no call id: koubou gives one.
        for (const t of part.message?.tool_calls ?? []) {
          const index = calls.length;
          const c = { id: `call_${index}_${Math.random().toString(36).slice(2, 10)}`, name: t.function.name, arguments: JSON.stringify(t.function.arguments ?? {}) };
          calls.push(c);
          request.onDelta?.({ toolCall: { index, ...c } });
        }
        // Thinking is output too (eval_count includes it): it counts as progress.
        progress.add(piece + (part.message?.thinking ?? ''));
        thinking += part.message?.thinking ?? '';
        if (part.done) last = part;
      }
      const ended = call.endedError();
      if (ended) throw ended;
      if (!last) throw new ProviderFailure('MALFORMED_RESPONSE', `${this.name} at ${this.host}: the stream ended without its done line`);
      progress.finish();
      const completionTokens = last.eval_count ?? progress.count;
      return {
        text,
        model: last.model || request.model,
        usage: {
          promptTokens: last.prompt_eval_count ?? 0,
          // Ollama reuses its KV cache silently and does not report it: nothing to bill anyway.
          cachedPromptTokens: 0,
          completionTokens,
          reasoningTokens: thinking ? Math.min(countTokens(thinking), completionTokens) : 0,
        },
        ...(calls.length ? { toolCalls: calls } : {}),
      };
    } catch (e) {
      throw this.mapError(e, call, responded, request.model);
    } finally {
      call.dispose();
    }
  }

  /**
   * The host answers (`/api/version`) and has pulled `model` (`/api/tags`).
   * @throws ProviderFailure `MODEL_NOT_FOUND` naming the `ollama pull` to run, `UNREACHABLE`, …
   */
  async health(model: string): Promise<{ ok: true; version?: string; latencyMs: number }> {
    const call = new CallControl(undefined, Math.min(this.timeoutMs, HEALTH_TIMEOUT_MS), `${this.name} at ${this.host}`);
    const client = this.client(call.signal);
    const started = performance.now();
    try {
      const { version } = await client.version();
      const latencyMs = Math.round(performance.now() - started);
      const { models } = await client.list();
      if (!models.some((m) => fullName(m.name) === fullName(model) || fullName(m.model) === fullName(model))) {
        throw new ProviderFailure('MODEL_NOT_FOUND', this.missingModelMessage(model));
      }
      return { ok: true, version, latencyMs };
    } catch (e) {
      throw this.mapError(e, call, false, model);
    } finally {
      call.dispose();
    }
  }

  /**
   * A client whose every request carries `signal`: ollama-js takes no signal
   * per call (only `abort()` of a stream after it started), so it goes in
   * through the `fetch` it lets us supply.
   */
  private client(signal: AbortSignal): Ollama {
    const fetchWithSignal: typeof fetch = (input, init) =>
      fetch(input, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, signal]) : signal });
    return new Ollama({ host: this.host, fetch: fetchWithSignal });
  }

  private missingModelMessage(model: string): string {
    return `model "${model}" is not on the Ollama host ${this.host}: run \`ollama pull ${model}\` there`;
  }

  private mapError(e: unknown, call: CallControl, responded: boolean, model: string): unknown {
    if (e instanceof ProviderFailure) return e;
    const ended = call.endedError(e);
    if (ended) return ended;
    const where = `${this.name} at ${this.host}`;
    const status = (e as { status_code?: unknown }).status_code;
    if (typeof status === 'number') {
      const upstream = (e as Error).message;
      const details = { cause: e, status };
      if (status === 404) return new ProviderFailure('MODEL_NOT_FOUND', this.missingModelMessage(model), details);
      if (status === 503) return new ProviderFailure('HOST_BUSY', `${where} is busy (503: ${upstream}); try another host`, details);
      if (status === 401 || status === 403) return new ProviderFailure('AUTH_FAILED', `${where} refused the request (${status}): check the proxy's credentials`, details);
      if (status >= 500 || status === 408) return new ProviderFailure('UPSTREAM_ERROR', `${where} failed (${status}): ${upstream}`, details);
      return new ProviderFailure('BAD_REQUEST', `${where} rejected the request (${status}): ${upstream}`, details);
    }
    if (e instanceof SyntaxError) return new ProviderFailure('MALFORMED_RESPONSE', `${where} sent a response that is not valid JSON`, { cause: e });
    if (e instanceof Error && NO_DONE.test(e.message)) {
      return new ProviderFailure('MALFORMED_RESPONSE', `${where}: the stream ended without its done line (bad JSON or cut short)`, { cause: e });
    }
    if (responded) {
      // An `{"error": …}` line mid-stream is the server's; anything else is the connection's.
      const broken = e instanceof TypeError || systemLike(e);
      return broken
        ? new ProviderFailure('MALFORMED_RESPONSE', `${where}: the stream broke off (${describeCause(e)})`, { cause: e })
        : new ProviderFailure('UPSTREAM_ERROR', `${where} failed mid-stream: ${describeCause(e)}`, { cause: e });
    }
    if (isUnreachable(e) || (e instanceof TypeError && /fetch failed/i.test(e.message))) {
      return new ProviderFailure('UNREACHABLE', `${where} is unreachable: ${describeCause(e)}`, { cause: e });
    }
    return e;
  }
}

function systemLike(e: unknown): boolean {
  return typeof (e as { code?: unknown })?.code === 'string';
}

/** Neutral messages in Ollama's shape: tool calls carry their arguments as objects, tool outputs the function's name. */
function toOllamaMessages(messages: ChatMessage[]): Message[] {
  const names = new Map<string, string>();
  return messages.map((m) => {
    if (m.role === 'assistant' && m.toolCalls?.length) {
      for (const c of m.toolCalls) names.set(c.id, c.name);
      return { role: 'assistant', content: m.content, tool_calls: m.toolCalls.map((c) => ({ function: { name: c.name, arguments: parseArguments(c.arguments) } })) };
    }
    if (m.role === 'tool') return { role: 'tool', content: m.content, ...(m.toolCallId && names.has(m.toolCallId) ? { tool_name: names.get(m.toolCallId)! } : {}) };
    return { role: m.role, content: m.content };
  });
}

function parseArguments(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text);
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : { value };
  } catch {
    return { raw: text };
  }
}
