/**
 * The seal on a front door's submissions. nats.conf lets only a door's role publish its
 * subject, but a message can reach that subject without being published there by anyone who
 * may: JetStream answers a request on the request's reply subject, which the requester picks,
 * and a direct get answers with a stored message's own bytes. A submitter could store a task
 * naming someone else's key in a bucket it writes, then ask for it back "on"
 * `koubou.task.submit.door.gateway`. So a door also seals what it publishes: an HMAC-SHA256
 * of the subject and the payload, under `KOUBOU_DOOR_KEY`, which only the front doors and the
 * routers hold. A reflected message carries no seal that fits, and the router refuses it.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** The environment variable holding the key front doors and routers share (`koubou init` writes it). */
export const DOOR_KEY_VAR = 'KOUBOU_DOOR_KEY';

/** The header a door's submission carries its seal in. */
export const DOOR_SEAL_HEADER = 'Koubou-Door-Seal';

/**
 * @example
 * const seal = doorSeal(key, 'koubou.task.submit.door.gateway', data); // 64 hex digits
 */
export function doorSeal(key: string, subject: string, data: Uint8Array): string {
  return createHmac('sha256', key).update(subject).update('\n').update(data).digest('hex');
}

/**
 * True when `seal` is the door seal of this subject and payload under `key`; compared in
 * constant time.
 *
 * @example
 * isDoorSealed(key, subject, data, msg.headers?.get(DOOR_SEAL_HEADER)); // false for a reflection
 */
export function isDoorSealed(key: string, subject: string, data: Uint8Array, seal: string | undefined): boolean {
  if (!key || !seal || !/^[0-9a-f]{64}$/.test(seal)) return false;
  return timingSafeEqual(Buffer.from(doorSeal(key, subject, data), 'hex'), Buffer.from(seal, 'hex'));
}

/** What a parent token seals: the task id, under a subject of its own so no seal of a submission fits. */
const PARENT_SCOPE = 'koubou.parent';

/**
 * The token that lets a caller of a front door name `taskId` as the parent of its requests. The
 * router gives it to the agent worker it hands the task to (in the work item), and the agent
 * sends it with its model requests; a gateway caller who merely knows a task id cannot make it,
 * so it cannot spend another task's caps or fill another agent's token count.
 *
 * @example
 * parentToken(key, 'task-42'); // 64 hex digits, sent as x-koubou-parent-token
 */
export function parentToken(key: string, taskId: string): string {
  return doorSeal(key, PARENT_SCOPE, new TextEncoder().encode(taskId));
}

/** True when `token` is the parent token of `taskId` under `key`; compared in constant time. */
export function isParentToken(key: string, taskId: string, token: string | null | undefined): boolean {
  return isDoorSealed(key, PARENT_SCOPE, new TextEncoder().encode(taskId), token ?? undefined);
}
