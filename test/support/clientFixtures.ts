/**
 * The requests real coding clients sent (data/clients/<client>/<ask>.json, captured as
 * that folder's README says), read back as the gateway reads them: each request's conversation,
 * and the task it would submit.
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { Conversation, TaskInput } from '../../src/core/types.ts';
import { chatConversation, conversationPrompt, responsesConversation } from '../../src/llm/openaiCompat/index.ts';
import { conversationType } from '../../src/policy/index.ts';

const DIR = new URL('../../data/clients/', import.meta.url);

export interface CapturedRequest {
  path: string;
  headers: Record<string, string>;
  body: Record<string, unknown>;
}

/** The clients with captures. */
export const fixtureClients = (): string[] =>
  readdirSync(DIR, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();

/** The captured sessions of a client, by name. */
export const capturedSessionNames = (client: string): string[] =>
  readdirSync(new URL(`${client}/`, DIR)).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)).sort();

/** One captured session of a client: its requests in the order sent. */
export function capturedSession(client: string, name: string): CapturedRequest[] {
  return (JSON.parse(readFileSync(new URL(`${client}/${name}.json`, DIR), 'utf8')) as { requests: CapturedRequest[] }).requests;
}

export const conversationOf = (r: CapturedRequest): Conversation =>
  r.path.endsWith('/responses') ? responsesConversation(r.body) : chatConversation(r.body);

/** The task the gateway submits for a request (its routing fields). */
export function taskOfRequest(r: CapturedRequest, taskId: string): TaskInput {
  const conversation = conversationOf(r);
  return { taskId, type: conversationType(conversation), priority: 5, prompt: conversationPrompt(conversation), files: [], conversation };
}
