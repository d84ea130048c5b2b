import type { JsMsg } from '@nats-io/jetstream';
import { DOOR_SEAL_HEADER, MessageError, submissionDoor } from '../../src/bus/index.ts';
import { InputError } from '../../src/core/errors.ts';
import { refuseIdentityFields } from '../../src/core/identityFields.ts';

/**
 * Why a decoded submission is refused at intake for who sent it, or null when it may run: a
 * field naming a key, a session or a parent on a plain submission (the reason names the
 * field), or a door subject without its door's seal.
 *
 * @example
 * identityRefusal(m, { taskId: 't1', prompt: 'x', clientKey: 'laptop' }, doorKey);
 * // "koubou.task.submit: clientKey: set only by a front door (the gateway, koubou mcp) ..."
 */
export function identityRefusal(m: Pick<JsMsg, 'subject' | 'data' | 'headers'>, task: object, doorKey: string | undefined): string | null {
  try {
    refuseIdentityFields(task, submissionDoor(m.subject, m.data, m.headers?.get(DOOR_SEAL_HEADER) || undefined, doorKey));
    return null;
  } catch (e) {
    if (e instanceof MessageError) return e.message;
    if (e instanceof InputError) return `${m.subject}: ${e.message}`;
    throw e;
  }
}
