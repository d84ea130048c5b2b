/**
 * The id a session goes by outside the gateway (task events, the dashboard's groups): a keyed
 * hash of the gateway's session key, so it groups a session's tasks without naming the client's
 * header, its prompt cache key or the conversation's first message. Keyed with the door key, so
 * nobody who reads task events can test a guess of a conversation's opening against it, and
 * every gateway (they share the door key) gives one session the same id.
 */
import { createHmac } from 'node:crypto';

/**
 * @example
 * publicSessionId(doorKey, 'laptop:thread-42'); // => 's-3f9c0a…' (26 characters, the same from every gateway)
 */
export function publicSessionId(doorKey: string, sessionKey: string): string {
  return `s-${createHmac('sha256', doorKey).update(`session:${sessionKey}`).digest('hex').slice(0, 24)}`;
}
