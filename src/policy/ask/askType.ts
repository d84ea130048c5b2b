import type { Conversation, TaskType } from '../../core/types.ts';
import { askOf } from './askOf.ts';

/** Words that name a kind of work, first match wins: the more specific kinds go first. */
const TYPE_WORDS: readonly [TaskType, RegExp][] = [
  ['code_review', /\b(?:review|audit)\b/i],
  ['testing', /\b(?:unit tests?|tests? for|write tests|add tests|test cases?|coverage)\b/i],
  ['documentation', /\b(?:document|docs?\b|readme|docstrings?|jsdoc|tsdoc|changelog|comments? to)/i],
  ['refactoring', /\brefactor/i],
  ['code_generation', /\b(?:implement|write|add|create|build|generate)\b/i],
];

/**
 * A task type read off an ask's words, for clients that send none (the gateway's conversations).
 * Only its first 300 characters are read: that is where an ask says what it wants. Never
 * `architecture` or `algorithm`: those weigh as much as a high indicator, and a guess should
 * not decide a tier on its own.
 *
 * @example
 * askType('Add unit tests for the parser'); // 'testing'
 * askType('why is this slow?');             // 'general'
 */
export function askType(ask: string): TaskType {
  const head = ask.slice(0, 300);
  return TYPE_WORDS.find(([, re]) => re.test(head))?.[0] ?? 'general';
}

/**
 * The task type of a conversation a client sent: read off its ask, so the client's system
 * prompt decides nothing.
 *
 * @example
 * conversationType({ tools: [], messages: [{ role: 'user', content: 'Add tests for the parser' }] }); // 'testing'
 */
export function conversationType(conversation: Conversation): TaskType {
  return askType(askOf({ prompt: '', conversation }).text);
}
