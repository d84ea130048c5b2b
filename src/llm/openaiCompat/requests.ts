/**
 * What the gateway reads from OpenAI-API requests (Chat Completions and Responses), as pure
 * functions: the conversation, flattened into one task prompt (every message, tool output
 * and attached text included, so the sensitivity scan sees all of it).
 */
import { InputError } from '../../core/errors.ts';

/** A message of either API, reduced to its role and text. */
export interface ConversationTurn {
  role: string;
  text: string;
}

const textOf = (content: unknown): string => (typeof content === 'string' ? content
  : Array.isArray(content) ? content.map((p) => (p && typeof (p as { text?: unknown }).text === 'string' ? (p as { text: string }).text : '')).join('') : '');

/** `messages` of a Chat Completions request; `param` names the field in errors. */
export function chatTurns(messages: unknown): ConversationTurn[] {
  if (!Array.isArray(messages) || messages.length === 0) throw new InputError("'messages' must be a non-empty array", { code: 'invalid_value' });
  return messages.map((m, i) => {
    if (m === null || typeof m !== 'object' || typeof (m as { role?: unknown }).role !== 'string') {
      throw new InputError(`'messages[${i}]' must be an object with a role`, { code: 'invalid_value' });
    }
    const { role, content, tool_calls: calls } = m as { role: string; content?: unknown; tool_calls?: unknown };
    const called = Array.isArray(calls) ? calls.map((c) => { const f = (c as { function?: { name?: unknown; arguments?: unknown } }).function; return `${String(f?.name)}(${String(f?.arguments ?? '')})`; }).join('\n') : '';
    return { role, text: [textOf(content), called].filter(Boolean).join('\n') };
  });
}

/** `instructions` and `input` of a Responses request (a string, or input items). */
export function responsesTurns(instructions: unknown, input: unknown): ConversationTurn[] {
  const turns: ConversationTurn[] = typeof instructions === 'string' && instructions ? [{ role: 'system', text: instructions }] : [];
  if (typeof input === 'string' && input.length > 0) return [...turns, { role: 'user', text: input }];
  if (!Array.isArray(input) || input.length === 0) throw new InputError("'input' must be a string or a non-empty array of items", { code: 'invalid_value' });
  input.forEach((item, i) => {
    if (item === null || typeof item !== 'object') throw new InputError(`'input[${i}]' must be an object`, { code: 'invalid_value' });
    const it = item as { type?: string; role?: unknown; content?: unknown; name?: unknown; arguments?: unknown; output?: unknown };
    const type = it.type ?? 'message';
    if (type === 'message') turns.push({ role: typeof it.role === 'string' ? it.role : 'user', text: textOf(it.content) });
    else if (type === 'function_call') turns.push({ role: 'assistant', text: `${String(it.name)}(${String(it.arguments ?? '')})` });
    else if (type === 'function_call_output') turns.push({ role: 'tool', text: textOf(it.output) });
  });
  return turns;
}

/**
 * The conversation as one task prompt: a lone user turn as it is, anything longer as a
 * transcript whose last turn is what to answer.
 *
 * @example
 * conversationPrompt([{ role: 'user', text: 'fix the typo' }]); // 'fix the typo'
 */
export function conversationPrompt(turns: ConversationTurn[]): string {
  if (turns.length === 1 && turns[0]!.role === 'user') return turns[0]!.text;
  return [
    'Continue this conversation: answer its last message.',
    ...turns.map((t) => `[${t.role}]\n${t.text}`),
  ].join('\n\n');
}
