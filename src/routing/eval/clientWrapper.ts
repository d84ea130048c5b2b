/**
 * A client's wrapper: the first main-turn request a real client sent (its system prompt, its
 * tools, the context blocks around its user's words), with the user's words replaceable, so an
 * evaluation can send any ask the way that client would.
 */
import { InputError } from '../../core/errors.ts';
import type { Conversation } from '../../core/types.ts';
import { chatConversation, responsesConversation } from '../../llm/openaiCompat/index.ts';
import { askOf } from '../../policy/index.ts';

/** A request as data/clients keeps it. */
export interface CapturedRequest {
  path: string;
  body: Record<string, unknown>;
}

export interface ClientWrapper {
  name: string;
  /** The captured main-turn request's conversation, up to and with the message holding the ask. */
  conversation: Conversation;
  /** Index of the user message holding the ask, and the ask as captured. */
  askIndex: number;
  capturedAsk: string;
}

const conversationOfRequest = (r: CapturedRequest): Conversation =>
  r.path.endsWith('/responses') ? responsesConversation(r.body) : chatConversation(r.body);

/**
 * The wrapper of a captured session: its first request that is not a side request.
 *
 * @example
 * const codex = wrapperOf('codex', JSON.parse(readFileSync('data/clients/codex/trivial.json', 'utf8')).requests);
 */
export function wrapperOf(name: string, requests: readonly CapturedRequest[]): ClientWrapper {
  for (const request of requests) {
    const conversation = conversationOfRequest(request);
    const ask = askOf({ prompt: '', conversation });
    if (ask.side || !ask.statement) continue;
    const askIndex = conversation.messages.findIndex((m) => m.role === 'user' && m.content.includes(ask.statement));
    if (askIndex < 0) continue;
    return { name, conversation: { ...conversation, messages: conversation.messages.slice(0, askIndex + 1) }, askIndex, capturedAsk: ask.statement };
  }
  throw new InputError(`client "${name}": its capture holds no main-turn request with a user's ask`);
}

/**
 * The conversation the client would send for this ask: the captured one with its ask replaced.
 *
 * @example
 * wrapAsk(codex, 'Add a retry to the HTTP client').messages.at(-1)!.content; // '…</environment_context>Add a retry to the HTTP client'
 */
export function wrapAsk(wrapper: ClientWrapper, ask: string): Conversation {
  const messages = wrapper.conversation.messages.map((m, i) =>
    (i === wrapper.askIndex ? { ...m, content: m.content.replace(wrapper.capturedAsk, () => ask) } : m));
  return { ...wrapper.conversation, messages };
}
