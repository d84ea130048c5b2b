/**
 * Options of the simulated OpenAI + Ollama server, and their defaults.
 */
import type { ScriptedCall } from './toolScript.ts';

/** One injected failure, served instead of (or in the middle of) a normal answer. */
export type SimFault =
  /** Answer with this HTTP status and the protocol's error body (`code`/`type` for OpenAI's). */
  | { status: number; message?: string; code?: string; type?: string; retryAfterMs?: number }
  /** A 200 whose body (or a stream event/line in it) is not valid JSON. */
  | { malformedJson: true }
  /** Start streaming, then destroy the connection after `afterTokens` tokens (default: half). */
  | { cutStream: true; afterTokens?: number }
  /** Accept the request and never answer (until the client gives up or the server closes). */
  | { hang: true };

export interface SimInjectOptions {
  /** Faults served, in order, to the next chat requests (one each). */
  queue?: SimFault[];
  /** Once the queue is empty, serve `fault` to this fraction (0..1) of chat requests. */
  ratio?: number;
  fault?: SimFault;
  /** Seed of the ratio's pseudo-random draw, so a run is reproducible. Default 1. */
  seed?: number;
}

export interface SimOptions {
  /** Port to listen on; 0 picks a free one. Default 0. */
  port?: number;
  /** Interface to bind. Default `127.0.0.1`. */
  host?: string;
  /** Milliseconds before the first token (time to first token). Default 0. */
  latencyMs?: number;
  /** Output pacing after the first token; 0 = all at once. Default 0. */
  tokensPerSecond?: number;
  /** Visible output tokens per answer, or a function of the prompt (the last user message). Default 24. */
  outputTokens?: number | ((prompt: string) => number);
  /** Models each protocol serves; others get the protocol's 404. */
  models?: { openai?: string[]; ollama?: string[]; anthropic?: string[] };
  /** OpenAI-style limits, enforced as token buckets and reported in `x-ratelimit-*` headers. */
  rateLimit?: { rpm?: number | null; tpm?: number | null };
  /** Failures to inject into chat requests. A plain array is a queue. */
  inject?: SimInjectOptions | SimFault[];
  /** Bearer key the OpenAI protocol requires; none = no auth (like LM Studio). */
  apiKey?: string;
  /** Ollama: chat requests in flight (running or queued) beyond which it answers 503. Default unlimited. */
  maxQueue?: number;
  /** What `GET /api/version` reports. Default `0.12.6`. */
  ollamaVersion?: string;
  /**
   * Scripted tool calls, by function name, with the JSON arguments to call it with: a request
   * offering such a function gets a call to it (one per request) until the conversation holds
   * that call's output; then the answer is text. Default none: the sim never calls a tool.
   */
  toolCalls?: Record<string, string>;
  /**
   * An agent's turns: the calls to make in order, one per request, the n-th to a conversation
   * holding n-1 tool outputs; after the last, the answer is text. Goes before `toolCalls`.
   */
  turns?: ScriptedCall[];
}

export const DEFAULT_OPENAI_MODELS = ['gpt-5', 'gpt-5-mini', 'gpt-5-nano', 'openai/gpt-oss-20b'];
export const DEFAULT_OLLAMA_MODELS = ['gpt-oss:20b'];
/** What the Messages face (Anthropic's API) serves by default. */
export const DEFAULT_ANTHROPIC_MODELS = ['claude-sonnet-4-5', 'claude-haiku-4-5', 'claude-opus-4-1'];
export const DEFAULT_OUTPUT_TOKENS = 24;

/** The options with every default filled in, as the routes read them. */
export interface ResolvedSimOptions {
  latencyMs: number;
  tokensPerSecond: number;
  outputTokens: number | ((prompt: string) => number);
  models: { openai: string[]; ollama: string[]; anthropic: string[] };
  rateLimit: { rpm: number | null; tpm: number | null };
  apiKey: string | undefined;
  maxQueue: number;
  ollamaVersion: string;
  toolCalls: Record<string, string>;
  turns: ScriptedCall[];
}

export function resolveSimOptions(options: SimOptions, base?: ResolvedSimOptions): ResolvedSimOptions {
  const pick = <K extends keyof SimOptions>(key: K): boolean => Object.prototype.hasOwnProperty.call(options, key);
  const prev = base ?? {
    latencyMs: 0,
    tokensPerSecond: 0,
    outputTokens: DEFAULT_OUTPUT_TOKENS,
    models: { openai: DEFAULT_OPENAI_MODELS, ollama: DEFAULT_OLLAMA_MODELS, anthropic: DEFAULT_ANTHROPIC_MODELS },
    rateLimit: { rpm: null, tpm: null },
    apiKey: undefined,
    maxQueue: Infinity,
    ollamaVersion: '0.12.6',
    toolCalls: {},
    turns: [],
  };
  return {
    latencyMs: options.latencyMs ?? prev.latencyMs,
    tokensPerSecond: options.tokensPerSecond ?? prev.tokensPerSecond,
    outputTokens: options.outputTokens ?? prev.outputTokens,
    models: {
      openai: options.models?.openai ?? prev.models.openai,
      ollama: options.models?.ollama ?? prev.models.ollama,
      anthropic: options.models?.anthropic ?? prev.models.anthropic,
    },
    rateLimit: pick('rateLimit')
      ? { rpm: options.rateLimit?.rpm ?? null, tpm: options.rateLimit?.tpm ?? null }
      : prev.rateLimit,
    // `apiKey: undefined` in setOptions turns auth off again.
    apiKey: pick('apiKey') ? options.apiKey : prev.apiKey,
    maxQueue: options.maxQueue ?? prev.maxQueue,
    ollamaVersion: options.ollamaVersion ?? prev.ollamaVersion,
    toolCalls: options.toolCalls ?? prev.toolCalls,
    turns: options.turns ?? prev.turns,
  };
}
