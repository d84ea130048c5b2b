/**
 * Front doors: the parts of koubou that authenticate their own callers and submit tasks for
 * them (the gateway, by its keys; the MCP server of issue 23 will be the next). Each connects
 * to NATS as the role of the same name and submits on `koubou.task.submit.door.<door>`, a
 * subject nats.conf lets only that role publish. A second door is one more name here, one more
 * role in credentials.ts and one more role section in nats.conf.
 */
import { MessageError } from './codec.ts';
import { DOOR_KEY_VAR, DOOR_SEAL_HEADER, isDoorSealed } from './doorSeal.ts';
import { SUBJECTS } from './subjects.ts';

export const FRONT_DOORS = ['gateway', 'mcp'] as const;
export type FrontDoor = (typeof FRONT_DOORS)[number];

const DOOR_PREFIX = SUBJECTS.doorSubmit('' as FrontDoor);

/**
 * The front door a submission came through, read from the subject it was stored under (which
 * only the door's role can publish); null for a plain submission (`koubou.task.submit`).
 *
 * @example
 * doorOf('koubou.task.submit.door.gateway'); // 'gateway'
 * doorOf('koubou.task.submit');              // null
 */
export function doorOf(subject: string): FrontDoor | null {
  if (!subject.startsWith(DOOR_PREFIX)) return null;
  const door = subject.slice(DOOR_PREFIX.length);
  return (FRONT_DOORS as readonly string[]).includes(door) ? (door as FrontDoor) : null;
}

/**
 * The front door a stored submission came through: its subject names a door and it carries
 * that door's seal (doorSeal.ts). Null for a plain submission. A door subject without a seal
 * that fits was not published by the door (a reflection, or a door and router holding different
 * keys) and is refused.
 *
 * @example
 * submissionDoor(m.subject, m.data, m.headers?.get(DOOR_SEAL_HEADER), doorKey); // 'gateway' | null
 */
export function submissionDoor(subject: string, data: Uint8Array, seal: string | undefined, key: string | undefined): FrontDoor | null {
  const door = doorOf(subject);
  if (door === null) {
    if (subject.startsWith(DOOR_PREFIX)) throw new MessageError(`${subject}: not a front door of this koubou (doors: ${FRONT_DOORS.join(', ')})`, '');
    return null;
  }
  if (!key) throw new MessageError(`${subject}: this router has no ${DOOR_KEY_VAR}, so it cannot tell the ${door}'s submissions from forgeries (koubou init writes one)`, '');
  if (!isDoorSealed(key, subject, data, seal)) {
    throw new MessageError(`${subject}: no valid ${DOOR_SEAL_HEADER}: not submitted by the ${door} (a door and the routers must share ${DOOR_KEY_VAR})`, '');
  }
  return door;
}
