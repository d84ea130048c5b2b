/**
 * Anthropic's Messages API on the gateway, for Claude Code and the `@anthropic-ai/sdk`:
 * `POST /v1/messages` (whole or streamed) becomes a task like the OpenAI API's requests (one
 * answerRequest, one conversation type), in the session Claude Code names
 * (`x-claude-code-session-id`); `POST /v1/messages/count_tokens` counts a request's tokens;
 * `HEAD /` answers (Claude Code's reachability check). Errors are in Anthropic's shape,
 * `{ type: 'error', error: { type, message } }`, the authentication's included.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { countTokens } from '../../src/policy/index.ts';
import { messagesConversation, messagesError, messagesMessage, MessagesStreamWriter } from '../../src/llm/anthropicCompat/index.ts';
import { conversationPrompt } from '../../src/llm/openaiCompat/index.ts';
import type { ApiFace } from './ApiFace.ts';
import { answerRequest, header, send, type RequestContext } from './answerRequest.ts';
import type { ModelNameMap } from './claudeModels.ts';
import { HttpError, httpErrorOf } from './HttpError.ts';

/** The gateway's parts a Messages request uses. */
export interface MessagesDoor {
  /** The caller's key (its name), or an HttpError. */
  authorize(): Promise<{ name: string }>;
  readJson(): Promise<Record<string, unknown>>;
  context(clientKey: string): RequestContext;
  log(line: string): void;
  /** Claude model names to koubou's. */
  models: ModelNameMap;
}

/** True for the requests {@link answerMessages} answers. */
export const isMessagesRequest = (method: string | undefined, path: string): boolean =>
  path === '/v1/messages' || path === '/v1/messages/count_tokens' || (method === 'HEAD' && path === '/');

/** The Messages API's face for answerRequest. */
export const messagesFace = (models: ModelNameMap): ApiFace => ({
  conversation: messagesConversation,
  session: (req: IncomingMessage) => header(req, 'x-claude-code-session-id'),
  model: (body) => models(body.model),
  writer: (head) => new MessagesStreamWriter(head),
  answer: messagesMessage,
});

/**
 * @example
 * if (isMessagesRequest(req.method, path)) return answerMessages(door, req, res, path);
 */
export async function answerMessages(door: MessagesDoor, req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
  try {
    if (req.method === 'HEAD') {
      res.writeHead(200).end();
      return;
    }
    const key = await door.authorize();
    if (req.method !== 'POST') throw new HttpError(405, `${req.method} ${path}: this path takes POST`, 'invalid_request_error', null);
    const body = await door.readJson();
    if (path === '/v1/messages/count_tokens') {
      const conversation = messagesConversation(body);
      const tools = conversation.tools.length ? countTokens(JSON.stringify(conversation.tools)) : 0;
      return send(res, 200, { input_tokens: countTokens(conversationPrompt(conversation)) + tools });
    }
    await answerRequest(door.context(key.name), req, res, messagesFace(door.models), body);
  } catch (e) {
    const err = httpErrorOf(e);
    if (err.status >= 500) door.log(`gateway: ${err.message}`);
    if (!res.headersSent) send(res, err.status, messagesError(err.status, err.message), err.headers);
    else res.end();
  }
}
