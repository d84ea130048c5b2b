/**
 * One interface for every LLM backend (OpenAI, Ollama, LM Studio, the simulator).
 * Workers only ever talk to a Provider.
 */
import type { ConversationMessage, ToolCall, ToolDefinition, Usage } from '../core/types.ts';
import type { KoubouError } from '../core/errors.ts';

/** A message to the model: system, user, assistant (with its tool calls) or a tool's output. */
export type ChatMessage = ConversationMessage;

/** A piece of streamed output: visible text, or a piece of the index-th tool call. */
export interface OutputDelta {
  text?: string;
  toolCall?: { index: number; id?: string; name?: string; arguments?: string };
}

export interface GenerateRequest {
  model: string;
  messages: ChatMessage[];
  /** GPT-5's reasoning effort; ignored by models without one. */
  reasoningEffort?: 'minimal' | 'low' | 'medium' | 'high' | null;
  maxOutputTokens: number;
  temperature?: number | null;
  topP?: number | null;
  /** Aborts the call (task cancelled, worker stopping). */
  signal?: AbortSignal;
  /** Called as output streams in. */
  onProgress?: (progress: { tokens: number; tokensPerSecond: number }) => void;
  /** Functions the model may call instead of answering. */
  tools?: ToolDefinition[];
  /** Called with each piece of output as it arrives, in order (for streaming it on). */
  onDelta?: (delta: OutputDelta) => void;
}

export interface GenerateResult {
  text: string;
  /** The model that answered, as the provider names it. */
  model: string;
  usage: Usage;
  /** Rate-limit headers of the response (`x-ratelimit-*`), for the shared limiter. */
  rateLimitHeaders?: Record<string, string>;
  /** The functions the model called, when it called any. */
  toolCalls?: ToolCall[];
}

/** Errors a provider throws carry a stable code and whether a retry may help. */
export type ProviderError = KoubouError & { rateLimited?: boolean; retryAfterMs?: number; headers?: Record<string, string> };

export interface Provider {
  /** e.g. `openai`, `ollama`, `lmstudio`, `sim`. */
  readonly name: string;
  generate(request: GenerateRequest): Promise<GenerateResult>;
  /** Server answers and the model is present; throws a clear error when not. */
  health?(model: string): Promise<{ ok: true; version?: string; latencyMs: number }>;
}
