/**
 * What the gateway reads from OpenAI-API requests (Chat Completions and Responses), as pure
 * functions: the conversation in koubou's neutral form (messages with their tool calls and
 * tool outputs, the function tools), and the same conversation as one text — every message,
 * tool call and tool output included — which is what routing scans for secrets.
 */
import { InputError } from '../../core/errors.ts';
import type { Conversation, ConversationMessage, ToolCall, ToolDefinition } from '../../core/types.ts';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);
const bad = (message: string): InputError => new InputError(message, { code: 'invalid_value' });

/** Text of a string or of content parts (`input_text`, `output_text`, `text`). */
const textOf = (content: unknown): string => (typeof content === 'string' ? content
  : Array.isArray(content) ? content.map((p) => (isObj(p) && typeof p.text === 'string' ? p.text : '')).join('') : '');

/** `developer` is the newer name of `system`; anything unknown is the user's. */
const roleOf = (role: unknown): ConversationMessage['role'] =>
  role === 'system' || role === 'developer' ? 'system' : role === 'assistant' ? 'assistant' : role === 'tool' ? 'tool' : 'user';

const EFFORTS = ['minimal', 'low', 'medium', 'high'] as const;
const effortOf = (v: unknown): Conversation['reasoningEffort'] | undefined =>
  (EFFORTS as readonly unknown[]).includes(v) ? (v as Conversation['reasoningEffort']) : undefined;

function functionTool(name: unknown, description: unknown, parameters: unknown): ToolDefinition | null {
  if (typeof name !== 'string' || !name) return null;
  return { name, ...(typeof description === 'string' ? { description } : {}), ...(isObj(parameters) ? { parameters } : {}) };
}

/**
 * A Chat Completions request's conversation: `messages` (with `tool_calls` and `tool` replies),
 * function `tools`, `reasoning_effort`.
 *
 * @example
 * chatConversation({ messages: [{ role: 'user', content: 'hi' }] }).messages; // [{ role: 'user', content: 'hi' }]
 */
export function chatConversation(body: Obj): Conversation {
  const { messages } = body;
  if (!Array.isArray(messages) || messages.length === 0) throw bad("'messages' must be a non-empty array");
  const out = messages.map((m, i): ConversationMessage => {
    if (!isObj(m) || typeof m.role !== 'string') throw bad(`'messages[${i}]' must be an object with a role`);
    const role = roleOf(m.role);
    const calls: ToolCall[] = Array.isArray(m.tool_calls)
      ? m.tool_calls.filter(isObj).map((c) => ({ id: String(c.id ?? ''), name: String((c.function as Obj | undefined)?.name ?? ''), arguments: String((c.function as Obj | undefined)?.arguments ?? '') }))
      : [];
    return {
      role, content: textOf(m.content),
      ...(calls.length ? { toolCalls: calls } : {}),
      ...(role === 'tool' && typeof m.tool_call_id === 'string' ? { toolCallId: m.tool_call_id } : {}),
    };
  });
  const tools = Array.isArray(body.tools)
    ? body.tools.filter(isObj).map((t) => (isObj(t.function) ? functionTool(t.function.name, t.function.description, t.function.parameters) : null))
    : [];
  const effort = effortOf(body.reasoning_effort);
  return { messages: out, tools: tools.filter((t): t is ToolDefinition => t !== null), ...(effort ? { reasoningEffort: effort } : {}) };
}

/**
 * A Responses request's conversation: `instructions`, `input` (a string, or items: messages,
 * `function_call`, `function_call_output`), function `tools`, `reasoning.effort`. Tools the
 * model behind koubou cannot run itself (web search, namespaces, custom tools) are left out.
 */
export function responsesConversation(body: Obj): Conversation {
  const messages: ConversationMessage[] = typeof body.instructions === 'string' && body.instructions ? [{ role: 'system', content: body.instructions }] : [];
  const { input } = body;
  if (typeof input === 'string' && input.length > 0) messages.push({ role: 'user', content: input });
  else if (!Array.isArray(input) || input.length === 0) throw bad("'input' must be a string or a non-empty array of items");
  else {
    input.forEach((item, i) => {
      if (!isObj(item)) throw bad(`'input[${i}]' must be an object`);
      const type = item.type ?? 'message';
      if (type === 'message') messages.push({ role: roleOf(item.role), content: textOf(item.content) });
      else if (type === 'function_call') {
        const call = { id: String(item.call_id ?? ''), name: String(item.name ?? ''), arguments: String(item.arguments ?? '') };
        // Calls made in one turn belong to one assistant message.
        const last = messages.at(-1);
        if (last?.role === 'assistant' && last.toolCalls && !last.content) last.toolCalls.push(call);
        else messages.push({ role: 'assistant', content: '', toolCalls: [call] });
      } else if (type === 'function_call_output') {
        messages.push({ role: 'tool', content: textOf(item.output), toolCallId: String(item.call_id ?? '') });
      }
      // reasoning items carry nothing a model behind koubou can read.
    });
  }
  if (messages.length === 0) throw bad("'input' holds no message");
  const tools = Array.isArray(body.tools)
    ? body.tools.filter(isObj).map((t) => (t.type === 'function' ? functionTool(t.name, t.description, t.parameters) : null))
    : [];
  const effort = effortOf((body.reasoning as Obj | undefined)?.effort);
  return { messages, tools: tools.filter((t): t is ToolDefinition => t !== null), ...(effort ? { reasoningEffort: effort } : {}) };
}

/** The conversation as one task prompt (kept with the task's prompt, in src/core/taskPrompt.ts). */
export { conversationPrompt } from '../../core/taskPrompt.ts';

/** The text a conversation starts with (its first user message), for sessions keyed by their prefix. */
export function conversationStart(conversation: Conversation): string {
  return conversation.messages.find((m) => m.role === 'user')?.content ?? '';
}
