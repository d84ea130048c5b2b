/**
 * Submitting a task so that the loss of a NATS node does not lose it or fail it: while a
 * cluster elects a new leader for the submission stream (a few seconds after a node dies), or a
 * lone server restarts, a publish times out or finds no responder. It is tried again until
 * `timeoutMs`; the message id (the task id) makes a second copy harmless, as the server drops it.
 */
import type { JetStreamClient, PubAck } from '@nats-io/jetstream';
import { headers } from '@nats-io/transport-node';
import { KoubouError } from '../core/errors.ts';
import { encode } from './codec.ts';
import { DOOR_SEAL_HEADER, doorSeal } from './doorSeal.ts';
import type { FrontDoor } from './frontDoor.ts';
import { MSG_ID } from './messageIds.ts';
import { SUBJECTS } from './subjects.ts';
import { isTransientNatsError, retryTransient } from './transient.ts';

export interface PublishSubmissionOptions {
  /** How long to keep trying. Default 30 s. */
  timeoutMs?: number;
  /** Wait for each attempt's acknowledgement. Default 5 s. */
  attemptTimeoutMs?: number;
  /**
   * Submit as this front door (its role's connection, its door subject, sealed with the door
   * key): the one way a task may carry `clientKey`, `confidentialSession` or `parentTaskId`.
   * Default: a plain submission on `koubou.task.submit`.
   */
  door?: { name: FrontDoor; key: string };
}

/**
 * @example
 * const ack = await publishSubmission(jetstream(nc), { taskId, prompt });
 * ack.duplicate; // true when this task id was already submitted
 * // The gateway, connected as role `gateway`, for a caller it authenticated:
 * await publishSubmission(jetstream(gatewayNc), { taskId, prompt, clientKey: 'laptop' }, { door: { name: 'gateway', key: doorKey } });
 */
export async function publishSubmission<T extends { taskId: string }>(js: JetStreamClient, task: T, options: PublishSubmissionOptions = {}): Promise<PubAck> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const data = encode(task);
  const subject = options.door ? SUBJECTS.doorSubmit(options.door.name) : SUBJECTS.submit;
  const sealed = options.door ? headers() : undefined;
  sealed?.set(DOOR_SEAL_HEADER, doorSeal(options.door!.key, subject, data));
  try {
    return await retryTransient(() => js.publish(subject, data, {
      msgID: MSG_ID.submission(task.taskId), timeout: options.attemptTimeoutMs ?? 5000, ...(sealed ? { headers: sealed } : {}),
    }), timeoutMs);
  } catch (e) {
    if (!isTransientNatsError(e)) throw e;
    throw new KoubouError('SUBMIT_FAILED', `task ${task.taskId} was not accepted by NATS within ${Math.round(timeoutMs / 1000)} s (${(e as Error).message}): is any node of the cluster up?`, {
      retryable: true, cause: e,
    });
  }
}
