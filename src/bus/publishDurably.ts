import type { JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { KoubouError } from '../core/errors.ts';

/**
 * Publishes to JetStream until the stream has stored the message: a server restart or a leader
 * election must not lose a report or a charge. Retrying is safe because whoever needs it once
 * gives a message id (the stream stores it once). Backs off from 250 ms to 5 s between tries.
 *
 * @param options.attempts tries before giving up (default: until the connection is closed)
 * @throws KoubouError `BUS_PUBLISH_FAILED` once the tries are spent or the connection is closed
 * @example
 * await publishDurably(nc, js, SUBJECTS.usage, encode(usage), { msgID: MSG_ID.usage(usage.usageId), attempts: 8 });
 */
export async function publishDurably(
  nc: NatsConnection, js: JetStreamClient, subject: string, data: Uint8Array, options: { msgID?: string; attempts?: number } = {},
): Promise<void> {
  const attempts = options.attempts ?? Infinity;
  for (let attempt = 1; ; attempt++) {
    try {
      await js.publish(subject, data, options.msgID ? { msgID: options.msgID } : {});
      return;
    } catch (e) {
      // A closed connection never comes back; anything else (timeout, no responders while
      // JetStream restarts) may pass.
      if (attempt >= attempts || nc.isClosed()) {
        throw new KoubouError('BUS_PUBLISH_FAILED', `could not publish to ${subject}${options.msgID ? ` (${options.msgID})` : ''}: ${(e as Error).message}`, { cause: e });
      }
      await new Promise((r) => setTimeout(r, Math.min(250 * 2 ** (attempt - 1), 5000)));
    }
  }
}
