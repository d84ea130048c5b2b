/**
 * A koubou task's outcome in the shapes OpenAI clients read: a Chat Completion (or its SSE
 * chunks) and a Responses API response (or its SSE events). Pure: the gateway writes them.
 */
import type { Usage } from '../../core/types.ts';

export interface Answer {
  id: string;
  /** What the client asked for (e.g. `koubou`). */
  model: string;
  text: string;
  usage: Usage;
  createdAt: number;
}

const chatUsage = (u: Usage) => ({
  prompt_tokens: u.promptTokens, completion_tokens: u.completionTokens, total_tokens: u.promptTokens + u.completionTokens,
  prompt_tokens_details: { cached_tokens: u.cachedPromptTokens }, completion_tokens_details: { reasoning_tokens: u.reasoningTokens },
});

/** A `chat.completion`. */
export function chatCompletion(a: Answer) {
  return {
    id: `chatcmpl-${a.id}`, object: 'chat.completion', created: a.createdAt, model: a.model,
    choices: [{ index: 0, message: { role: 'assistant', content: a.text, refusal: null }, logprobs: null, finish_reason: 'stop' }],
    usage: chatUsage(a.usage),
  };
}

/** The `chat.completion.chunk` events of a streamed answer, `[DONE]` last. */
export function chatChunks(a: Answer, includeUsage: boolean): string[] {
  const chunk = (choices: unknown[], usage?: unknown) => `data: ${JSON.stringify({
    id: `chatcmpl-${a.id}`, object: 'chat.completion.chunk', created: a.createdAt, model: a.model, choices, ...(includeUsage ? { usage: usage ?? null } : {}),
  })}\n\n`;
  const delta = (d: Record<string, unknown>, finish: string | null = null) => ({ index: 0, delta: d, logprobs: null, finish_reason: finish });
  return [
    chunk([delta({ role: 'assistant', content: '' })]),
    chunk([delta({ content: a.text })]),
    chunk([delta({}, 'stop')]),
    ...(includeUsage ? [chunk([], chatUsage(a.usage))] : []),
    'data: [DONE]\n\n',
  ];
}

const responsesUsage = (u: Usage) => ({
  input_tokens: u.promptTokens, input_tokens_details: { cached_tokens: u.cachedPromptTokens },
  output_tokens: u.completionTokens, output_tokens_details: { reasoning_tokens: u.reasoningTokens },
  total_tokens: u.promptTokens + u.completionTokens,
});

function responseObject(a: Answer, status: 'in_progress' | 'completed', output: unknown[], usage: unknown) {
  return {
    id: `resp_${a.id}`, object: 'response', created_at: a.createdAt, status, error: null, incomplete_details: null,
    model: a.model, output, parallel_tool_calls: true, tools: [], usage, metadata: {},
  };
}

const messageItem = (a: Answer) => ({
  id: `msg_${a.id}`, type: 'message', status: 'completed', role: 'assistant',
  content: [{ type: 'output_text', text: a.text, annotations: [] }],
});

/** A completed Responses API `response`. */
export function responsesResponse(a: Answer) {
  return responseObject(a, 'completed', [messageItem(a)], responsesUsage(a.usage));
}

/** The SSE events of a streamed Responses API answer, in the order clients build output from. */
export function responsesEvents(a: Answer): string[] {
  let sequence = 0;
  const event = (type: string, fields: Record<string, unknown>) => `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: sequence++, ...fields })}\n\n`;
  const started = responseObject(a, 'in_progress', [], null);
  const item = messageItem(a);
  const part = { type: 'output_text', text: '', annotations: [] };
  const at = { item_id: item.id, output_index: 0, content_index: 0 };
  return [
    event('response.created', { response: started }),
    event('response.in_progress', { response: started }),
    event('response.output_item.added', { output_index: 0, item: { ...item, status: 'in_progress', content: [] } }),
    event('response.content_part.added', { ...at, part }),
    event('response.output_text.delta', { ...at, delta: a.text }),
    event('response.output_text.done', { ...at, text: a.text }),
    event('response.content_part.done', { ...at, part: { ...part, text: a.text } }),
    event('response.output_item.done', { output_index: 0, item }),
    event('response.completed', { response: responsesResponse(a) }),
  ];
}
