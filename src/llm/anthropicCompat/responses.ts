/**
 * A koubou task's outcome in the shapes Anthropic's Messages API clients read (the
 * `@anthropic-ai/sdk` types `Message`, `Usage`, `ErrorResponse`). Pure: the gateway writes them.
 * Streams are in streams.ts.
 */
import type { ToolCall, Usage } from '../../core/types.ts';
import type { Answer } from '../openaiCompat/index.ts';

/**
 * Anthropic counts cache reads apart from `input_tokens`; koubou's `promptTokens` includes them.
 *
 * @example
 * messagesUsage({ promptTokens: 100, cachedPromptTokens: 60, completionTokens: 5, reasoningTokens: 0 });
 * // { input_tokens: 40, cache_read_input_tokens: 60, cache_creation_input_tokens: 0, output_tokens: 5, … }
 */
export const messagesUsage = (u: Usage) => ({
  input_tokens: u.promptTokens - u.cachedPromptTokens,
  cache_creation_input_tokens: 0,
  cache_read_input_tokens: u.cachedPromptTokens,
  output_tokens: u.completionTokens,
  server_tool_use: null,
  service_tier: 'standard' as const,
});

/** A tool call's arguments as the object `tool_use.input` is; text that is no JSON object becomes `{}`. */
export function toolInput(c: Pick<ToolCall, 'arguments'>): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(c.arguments || '{}');
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

export const textBlock = (text: string) => ({ type: 'text' as const, text, citations: null });
export const toolUseBlock = (c: Pick<ToolCall, 'id' | 'name'>, input: Record<string, unknown>) => ({ type: 'tool_use' as const, id: c.id, name: c.name, input });

/** `tool_use` when the model called a tool, else `end_turn`. */
export const stopReason = (a: Pick<Answer, 'toolCalls'>) => (a.toolCalls.length ? 'tool_use' as const : 'end_turn' as const);

/** The message's fields besides content, stop reason and usage. */
export const messageHead = (a: Pick<Answer, 'id' | 'model'>) => ({ id: `msg_${a.id}`, type: 'message' as const, role: 'assistant' as const, model: a.model, stop_sequence: null });

/** A whole `Message`: its text (if any, or if there is nothing else), then its `tool_use` blocks. */
export function messagesMessage(a: Answer) {
  const content = [
    ...(a.text || a.toolCalls.length === 0 ? [textBlock(a.text)] : []),
    ...a.toolCalls.map((c) => toolUseBlock(c, toolInput(c))),
  ];
  return { ...messageHead(a), content, stop_reason: stopReason(a), usage: messagesUsage(a.usage) };
}

/** Anthropic's error types by HTTP status. */
export function errorTypeOf(status: number): string {
  switch (status) {
    case 400: return 'invalid_request_error';
    case 401: return 'authentication_error';
    case 403: return 'permission_error';
    case 404: return 'not_found_error';
    case 413: return 'request_too_large';
    case 429: return 'rate_limit_error';
    case 529: return 'overloaded_error';
    default: return status >= 500 ? 'api_error' : 'invalid_request_error';
  }
}

/**
 * An error as Anthropic's API answers one.
 *
 * @example
 * messagesError(404, 'no such model'); // { type: 'error', error: { type: 'not_found_error', message: 'no such model' } }
 */
export const messagesError = (status: number, message: string) => ({ type: 'error' as const, error: { type: errorTypeOf(status), message } });
