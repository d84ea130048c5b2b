/**
 * What a task asks: the one place that decides which text of a task is the user's ask. A plain
 * task's ask is its prompt. A conversation's ask is its task statement (the first user message)
 * and its latest user message, each with the client's markup taken out: system and developer
 * instructions, tool definitions, tool outputs and the assistant's turns are not the ask. Its
 * difficulty, type and summary are judged on this; the sensitivity scan still reads everything.
 */
import { taskPrompt } from '../../core/taskPrompt.ts';
import type { Conversation, TaskInput } from '../../core/types.ts';
import { unwrapUserMessage } from './clientWrappers.ts';
import { sideRequestOf, type SideRequest } from './sideRequests.ts';

export interface Ask {
  /** The text to judge: the statement, and the latest user message when it is another one. */
  text: string;
  /** The task statement: a plain task's prompt, a conversation's first user message. */
  statement: string;
  /** The latest user message, when the conversation has one after its statement. */
  latest: string | null;
  /** Which text was judged, in words, for the routing reason. */
  judged: string;
  /** Client wrappers taken out, by name, in the order found. */
  wrappers: string[];
  /** Set when the conversation is a client's side request (title, summary, ...). */
  side: SideRequest | null;
}

/** The task fields the ask is read from. */
export type AskSource = Pick<TaskInput, 'prompt'> & { conversation?: Conversation | undefined };

/**
 * The ask of a task.
 *
 * @example
 * askOf({ prompt: '…', conversation: { tools: [], messages: [
 *   { role: 'system', content: 'You are a coding agent … concurrent … architectural …' },
 *   { role: 'user', content: '<environment_context><cwd>/repo</cwd></environment_context>' },
 *   { role: 'user', content: 'fix a typo in README.md' },
 * ] } }).text; // 'fix a typo in README.md'
 */
export function askOf(task: AskSource): Ask {
  const conversation = task.conversation;
  if (!conversation) {
    const prompt = taskPrompt(task);
    return { text: prompt, statement: prompt, latest: null, judged: 'the prompt', wrappers: [], side: null };
  }
  const wrappers = new Set<string>();
  const asks: string[] = [];
  for (const m of conversation.messages) {
    if (m.role !== 'user') continue;
    const u = unwrapUserMessage(m.content);
    for (const w of u.wrappers) wrappers.add(w);
    if (u.text) asks.push(u.text);
  }
  const statement = asks[0] ?? '';
  const latest = asks.length > 1 ? asks.at(-1)! : null;
  const side = sideRequestOf(conversation, asks.at(-1) ?? '');
  const text = latest === null || latest === statement ? statement : `${statement}\n\n${latest}`;
  const what = asks.length === 0 ? 'no user message (nothing to judge)'
    : latest === null ? 'the task statement (first user message)'
      : 'the task statement and the latest user message';
  const taken = wrappers.size ? `; taken out: ${[...wrappers].join(', ')}` : '';
  return { text, statement, latest, judged: `${what}${taken}`, wrappers: [...wrappers], side };
}

const ONE_LINE = 120;
const clip = (s: string): string => {
  const line = s.replace(/\s+/g, ' ').trim();
  return line.length > ONE_LINE ? `${line.slice(0, ONE_LINE - 3)}...` : line;
};

/**
 * The ask in one line, as task lists show it: the latest user message (what this turn answers),
 * else the statement; a side request says what it is.
 *
 * @example
 * askSummary(askOf({ prompt: 'Fix a typo\nin the README' })); // 'Fix a typo in the README'
 */
export function askSummary(ask: Ask): string {
  const words = clip(ask.latest ?? ask.statement) || '(no user message)';
  return ask.side ? `[${ask.side.kind.replace('_', ' ')}] ${words}` : words;
}
