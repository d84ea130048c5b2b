/**
 * What a worker sends the model for a task, in one place: the router counts the same prompt to
 * reserve its worst case, and the worker sends it (and checks it against that reservation).
 */
import { taskPrompt } from '../core/taskPrompt.ts';
import type { ConversationMessage, TaskFile, TaskType, ToolDefinition } from '../core/types.ts';
import type { ChatMessage } from '../llm/Provider.ts';
import { countTokens } from '../policy/index.ts';
import { buildPrompt, type OverflowPolicy, type PromptTier } from './buildPrompt.ts';
import { PER_MESSAGE_OVERHEAD_TOKENS, REPLY_PRIMING_TOKENS } from './messages.ts';

/** The parts of a task (or a work item) that make its prompt. */
export interface PromptSource {
  type: TaskType;
  /** Absent when the conversation carries the task (taskPrompt). */
  prompt?: string | undefined;
  files: readonly TaskFile[];
  conversation?: { messages: ConversationMessage[]; tools: ToolDefinition[] } | undefined;
}

/** The messages and tools of a task's model call. */
export interface TaskPrompt {
  messages: ChatMessage[];
  tools: ToolDefinition[];
}

/**
 * A conversation (from an API client) goes to the model as the client sent it, with its tools;
 * any other task as koubou's prompt, fitted to the tier's window (`buildPrompt`).
 *
 * @throws PromptTooLargeError as `buildPrompt` does.
 * @example
 * const { messages, tools } = promptFor(task, config.tiers.gpt5_high, 'refuse');
 */
export function promptFor(task: PromptSource, tier: PromptTier, policy: OverflowPolicy): TaskPrompt {
  if (task.conversation) return { messages: task.conversation.messages, tools: task.conversation.tools };
  return { messages: buildPrompt({ task: { ...task, prompt: taskPrompt(task) }, tier, policy }).messages, tools: [] };
}

/**
 * Prompt tokens of a call as a provider bills them: every message's text, its tool calls and the
 * id of the call it answers, the chat format's framing, and the tools' definitions (as JSON).
 *
 * @example
 * sentPromptTokens([{ role: 'user', content: 'hello world' }], []); // 2 + 4 + 3 = 9
 */
export function sentPromptTokens(messages: readonly ChatMessage[], tools: readonly ToolDefinition[] = []): number {
  let total = REPLY_PRIMING_TOKENS;
  for (const m of messages) {
    total += PER_MESSAGE_OVERHEAD_TOKENS + countTokens(m.content);
    for (const call of m.toolCalls ?? []) total += PER_MESSAGE_OVERHEAD_TOKENS + countTokens(call.id) + countTokens(call.name) + countTokens(call.arguments);
    if (m.toolCallId) total += countTokens(m.toolCallId);
  }
  if (tools.length > 0) total += countTokens(JSON.stringify(tools));
  return total;
}
