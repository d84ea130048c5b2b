/**
 * A task's prompt as one text, in one place. A task carries its prompt once: a plain task as
 * `prompt`, a client's conversation (the gateway's) as `conversation` alone, whose text is
 * derived here wherever one text is needed (the sensitivity scan, difficulty, summaries).
 */
import type { Conversation } from './types.ts';

/** The parts of a task its prompt comes from: `prompt`, or else `conversation`. */
export interface PromptParts {
  prompt?: string | undefined;
  conversation?: Conversation | undefined;
}

/**
 * The task's prompt: its own when it has one, else its conversation as one text.
 *
 * @throws Error when it has neither (the submission schema refuses such a task).
 * @example
 * taskPrompt({ prompt: 'fix a typo' }); // 'fix a typo'
 * taskPrompt({ conversation: { messages: [{ role: 'user', content: 'hi' }], tools: [] } }); // 'hi'
 */
export function taskPrompt(task: PromptParts): string {
  if (task.prompt !== undefined) return task.prompt;
  if (task.conversation) return conversationPrompt(task.conversation);
  throw new Error('a task without a prompt or a conversation');
}

/**
 * The conversation as one task prompt: a lone user message as it is, anything longer as a
 * transcript whose last message is what to answer. Tool calls and tool outputs are in it, so
 * a secret that enters through a tool's output is seen by the sensitivity scan.
 *
 * @example
 * conversationPrompt({ messages: [{ role: 'user', content: 'fix the typo' }], tools: [] }); // 'fix the typo'
 */
export function conversationPrompt(conversation: Conversation): string {
  const { messages } = conversation;
  if (messages.length === 1 && messages[0]!.role === 'user') return messages[0]!.content || '(empty message)';
  return [
    'Continue this conversation: answer its last message.',
    ...messages.map((m) => {
      const calls = (m.toolCalls ?? []).map((c) => `${c.name}(${c.arguments})`).join('\n');
      return `[${m.role}]\n${[m.content, calls].filter(Boolean).join('\n') || '(empty)'}`;
    }),
  ].join('\n\n');
}
