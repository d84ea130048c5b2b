/**
 * What differs between the gateway's APIs (Chat Completions, Responses, Anthropic's Messages):
 * how a request's conversation and session are read, and how its answer is written, whole or
 * streamed. Everything else — the task, its routing, its watch — is answerRequest's, once.
 */
import type { IncomingMessage } from 'node:http';
import type { Conversation } from '../../src/core/types.ts';
import {
  chatCompletion, chatConversation, ChatStreamWriter, responsesConversation, responsesResponse, ResponsesStreamWriter,
  type Answer, type StreamWriter,
} from '../../src/llm/openaiCompat/index.ts';

export interface ApiFace {
  /** The request's conversation; an InputError names what is wrong. */
  conversation(body: Record<string, unknown>): Conversation;
  /** The session the request names itself, if it does (after the client's `x-koubou-session`). */
  session(req: IncomingMessage, body: Record<string, unknown>): string | null;
  /** The model name as koubou's: `koubou` or `koubou/<tier>` (an API may map its own names). */
  model(body: Record<string, unknown>): unknown;
  writer(head: Pick<Answer, 'id' | 'model' | 'createdAt'>, body: Record<string, unknown>): StreamWriter;
  /** The whole answer, not streamed. */
  answer(a: Answer): unknown;
}

/** Codex's `prompt_cache_key` names its thread. */
const promptCacheKey = (_req: IncomingMessage, body: Record<string, unknown>) => (typeof body.prompt_cache_key === 'string' ? body.prompt_cache_key : null);

export const CHAT_FACE: ApiFace = {
  conversation: chatConversation,
  session: promptCacheKey,
  model: (body) => body.model,
  writer: (head, body) => new ChatStreamWriter(head, (body.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true),
  answer: chatCompletion,
};

export const RESPONSES_FACE: ApiFace = {
  conversation: responsesConversation,
  session: promptCacheKey,
  model: (body) => body.model,
  writer: (head) => new ResponsesStreamWriter(head),
  answer: responsesResponse,
};
