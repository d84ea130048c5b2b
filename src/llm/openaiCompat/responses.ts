/**
 * A koubou task's outcome in the shapes OpenAI clients read: a Chat Completion and a Responses
 * API response, tool calls included. Pure: the gateway writes them. Streams are in streams.ts.
 */
import type { ToolCall, Usage } from '../../core/types.ts';

export interface Answer {
  id: string;
  /** What the client asked for (e.g. `koubou`, `koubou/local`). */
  model: string;
  text: string;
  /** The functions the model called instead of answering. */
  toolCalls: ToolCall[];
  usage: Usage;
  createdAt: number;
}

export const chatUsage = (u: Usage) => ({
  prompt_tokens: u.promptTokens, completion_tokens: u.completionTokens, total_tokens: u.promptTokens + u.completionTokens,
  prompt_tokens_details: { cached_tokens: u.cachedPromptTokens }, completion_tokens_details: { reasoning_tokens: u.reasoningTokens },
});

export const chatToolCall = (c: ToolCall) => ({ id: c.id, type: 'function' as const, function: { name: c.name, arguments: c.arguments } });

/** A `chat.completion`. */
export function chatCompletion(a: Answer) {
  const message = a.toolCalls.length
    ? { role: 'assistant', content: a.text || null, refusal: null, tool_calls: a.toolCalls.map(chatToolCall) }
    : { role: 'assistant', content: a.text, refusal: null };
  return {
    id: `chatcmpl-${a.id}`, object: 'chat.completion', created: a.createdAt, model: a.model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: a.toolCalls.length ? 'tool_calls' : 'stop' }],
    usage: chatUsage(a.usage),
  };
}

export const responsesUsage = (u: Usage) => ({
  input_tokens: u.promptTokens, input_tokens_details: { cached_tokens: u.cachedPromptTokens },
  output_tokens: u.completionTokens, output_tokens_details: { reasoning_tokens: u.reasoningTokens },
  total_tokens: u.promptTokens + u.completionTokens,
});

export function responseObject(a: Pick<Answer, 'id' | 'model' | 'createdAt'>, status: 'in_progress' | 'completed' | 'failed', output: unknown[], usage: unknown, error: unknown = null) {
  return {
    id: `resp_${a.id}`, object: 'response', created_at: a.createdAt, status, error, incomplete_details: null,
    model: a.model, output, parallel_tool_calls: true, tools: [], usage, metadata: {},
  };
}

export const messageItem = (id: string, text: string, status = 'completed') => ({
  id: `msg_${id}`, type: 'message', status, role: 'assistant',
  content: status === 'completed' ? [{ type: 'output_text', text, annotations: [] }] : [],
});

export const functionCallItem = (id: string, c: ToolCall, status = 'completed') => ({
  id: `fc_${id}`, type: 'function_call', status, arguments: status === 'completed' ? c.arguments : '', call_id: c.id, name: c.name,
});

/** The output items of an answer: its message (when it has text), then its function calls. */
export function outputItems(a: Answer): unknown[] {
  return [
    ...(a.text || a.toolCalls.length === 0 ? [messageItem(a.id, a.text)] : []),
    ...a.toolCalls.map((c, i) => functionCallItem(`${a.id}_${i}`, c)),
  ];
}

/** A completed Responses API `response`. */
export function responsesResponse(a: Answer) {
  return responseObject(a, 'completed', outputItems(a), responsesUsage(a.usage));
}
