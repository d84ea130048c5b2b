/**
 * What the gateway reads from an Anthropic Messages API request (`POST /v1/messages`), as pure
 * functions: the conversation in koubou's neutral form — the system blocks, text blocks,
 * `tool_use` blocks as an assistant's tool calls, `tool_result` blocks as tool messages, the
 * custom tools, `tool_choice`, and the thinking budget as a reasoning effort.
 */
import { InputError } from '../../core/errors.ts';
import type { Conversation, ConversationMessage, ToolCall, ToolDefinition } from '../../core/types.ts';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);
const bad = (message: string): InputError => new InputError(message, { code: 'invalid_value' });

/** Blocks that carry nothing a model behind koubou can read; left out. */
const SKIPPED = new Set(['thinking', 'redacted_thinking', 'server_tool_use', 'web_search_tool_result', 'container_upload']);

/** The text of a string or of text blocks (a `tool_result`'s content, the system prompt). */
function blockText(content: unknown, where: string): string {
  if (typeof content === 'string') return content;
  if (content === undefined || content === null) return '';
  if (!Array.isArray(content)) throw bad(`'${where}' must be a string or an array of content blocks`);
  return content.map((b, i) => {
    if (!isObj(b)) throw bad(`'${where}[${i}]' must be a content block object`);
    if (b.type === 'text') return typeof b.text === 'string' ? b.text : '';
    if (SKIPPED.has(String(b.type))) return '';
    throw bad(`'${where}[${i}]': ${String(b.type)} blocks are not supported here (koubou passes text, tool_use and tool_result blocks)`);
  }).join('');
}

/** One API message as koubou's: tool results first (they answer the previous turn), then the rest. */
function messagesOf(m: unknown, i: number): ConversationMessage[] {
  if (!isObj(m) || (m.role !== 'user' && m.role !== 'assistant' && m.role !== 'system')) throw bad(`'messages[${i}]' must be an object with role user, assistant or system`);
  // A system turn in the conversation (Claude Code sends its environment so).
  if (m.role === 'system') return [{ role: 'system', content: blockText(m.content, `messages[${i}].content`) }];
  const role = m.role;
  if (typeof m.content === 'string') return [{ role, content: m.content }];
  if (!Array.isArray(m.content)) throw bad(`'messages[${i}].content' must be a string or an array of content blocks`);
  const out: ConversationMessage[] = [];
  let text = '';
  const calls: ToolCall[] = [];
  m.content.forEach((b, j) => {
    const where = `messages[${i}].content[${j}]`;
    if (!isObj(b)) throw bad(`'${where}' must be a content block object`);
    if (b.type === 'text') text += typeof b.text === 'string' ? b.text : '';
    else if (b.type === 'tool_use' && role === 'assistant') {
      calls.push({ id: String(b.id ?? ''), name: String(b.name ?? ''), arguments: JSON.stringify(isObj(b.input) ? b.input : {}) });
    } else if (b.type === 'tool_result' && role === 'user') {
      const output = blockText(b.content, `${where}.content`);
      out.push({ role: 'tool', content: b.is_error === true ? `(the tool failed) ${output}` : output, toolCallId: String(b.tool_use_id ?? '') });
    } else if (!SKIPPED.has(String(b.type))) {
      throw bad(`'${where}': ${String(b.type)} blocks ${b.type === 'tool_use' || b.type === 'tool_result' ? `are not allowed in a ${role} message` : 'are not supported (koubou passes text, tool_use and tool_result blocks)'}`);
    }
  });
  if (text || calls.length || out.length === 0) out.push({ role, content: text, ...(calls.length ? { toolCalls: calls } : {}) });
  return out;
}

/** Custom tools (`{ name, description, input_schema }`); Anthropic's server tools are not the model's to run here. */
function toolsOf(tools: unknown, choice: unknown): ToolDefinition[] {
  if (!Array.isArray(tools)) return [];
  const all = tools.filter(isObj).filter((t) => (t.type === undefined || t.type === 'custom') && typeof t.name === 'string' && t.name)
    .map((t): ToolDefinition => ({
      name: t.name as string,
      ...(typeof t.description === 'string' ? { description: t.description } : {}),
      ...(isObj(t.input_schema) ? { parameters: t.input_schema } : {}),
    }));
  // `none` offers no tool; `tool` offers the one named. (`any` and `tool` cannot force a call: backends are asked with the tools offered.)
  if (isObj(choice) && choice.type === 'none') return [];
  if (isObj(choice) && choice.type === 'tool') {
    const named = all.filter((t) => t.name === choice.name);
    if (named.length === 0) throw bad(`'tool_choice.name' names ${JSON.stringify(choice.name)}, which is not one of 'tools'`);
    return named;
  }
  return all;
}

/** Extended thinking's budget as a reasoning effort: under 4k tokens low, under 16k medium, more high. */
function effortOf(body: Obj): Conversation['reasoningEffort'] | undefined {
  const effort = isObj(body.output_config) ? body.output_config.effort : undefined;
  if (effort === 'low' || effort === 'medium' || effort === 'high') return effort;
  const thinking = body.thinking;
  if (!isObj(thinking) || thinking.type !== 'enabled' || typeof thinking.budget_tokens !== 'number') return undefined;
  return thinking.budget_tokens < 4096 ? 'low' : thinking.budget_tokens < 16384 ? 'medium' : 'high';
}

/**
 * A Messages API request's conversation.
 *
 * @example
 * messagesConversation({ system: 'be brief', messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }] }).messages;
 * // [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hi' }]
 */
export function messagesConversation(body: Obj): Conversation {
  const { messages } = body;
  if (!Array.isArray(messages) || messages.length === 0) throw bad("'messages' must be a non-empty array");
  const system = blockText(body.system, 'system');
  const out: ConversationMessage[] = [...(system ? [{ role: 'system' as const, content: system }] : []), ...messages.flatMap(messagesOf)];
  const effort = effortOf(body);
  return { messages: out, tools: toolsOf(body.tools, body.tool_choice), ...(effort ? { reasoningEffort: effort } : {}) };
}
