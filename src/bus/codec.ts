import type { z } from 'zod';
import { KoubouError } from '../core/errors.ts';
import { jsonTooDeepAt, MAX_JSON_DEPTH } from '../core/jsonDepth.ts';

/** A message that is not JSON or does not match its schema. Never retried: the message is refused. */
export class MessageError extends KoubouError {
  constructor(message: string, readonly excerpt: string) {
    super('MESSAGE_INVALID', message);
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export const encode = (value: unknown): Uint8Array => encoder.encode(JSON.stringify(value));

/**
 * Parses and validates a message; the error names the subject, the field and
 * what was wrong.
 *
 * @example
 * const item = decode(workItemSchema, msg.data, msg.subject);
 */
export function decode<S extends z.ZodType>(schema: S, data: Uint8Array, subject: string): z.infer<S> {
  const text = decoder.decode(data);
  const excerpt = text.slice(0, 200);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new MessageError(`${subject}: not valid JSON (${(e as Error).message})`, excerpt);
  }
  // Refused here, or it is accepted now and overflows the stack of whatever walks it later.
  const deep = jsonTooDeepAt(json);
  if (deep !== null) throw new MessageError(`${subject}: ${deep}: nested deeper than ${MAX_JSON_DEPTH} levels`, excerpt);
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new MessageError(`${subject}: ${issue.path.join('.') || '(message)'}: ${issue.message}`, excerpt);
  }
  return parsed.data;
}
