/**
 * A task's records, from a gateway that ran its machine and its call itself: its events, its
 * execution (which carries the call's usage), any usage of its own and the provider's rate-limit
 * signals, published to JetStream in the order they happened, each with the message id the
 * router and the workers would give it, so a repeated publish is stored once. They are kept
 * until the task ends (or is handed to the routers) and then sent together, one after another
 * without waiting for each (`durable()` waits once for all): the client is told it succeeded
 * only once its task and its charge are on the ledger's stream (a gateway killed while they are
 * being stored may leave the first without the rest: docs/operations.md). A record JetStream does not
 * take within `DURABLE_WAIT_MS` fails the request, and is still sent, with back-off, while the
 * connection lasts: a charge the provider billed is not dropped for a slow leader election.
 */
import type { JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { encode, MSG_ID, SUBJECTS, type Execution, type RateLimitSignal, type TaskEventMessage, type UsageEvent } from '../../../src/bus/index.ts';
import { KoubouError } from '../../../src/core/errors.ts';

/** How long a request waits for its records to be stored before it fails (a leader election takes a few seconds). */
const DURABLE_WAIT_MS = 10_000;

export class TaskRecords {
  private readonly queued: { subject: string; data: Uint8Array; msgID?: string }[] = [];
  /** What the calls recorded so far cost, by the reservation each names. */
  private readonly charged = new Map<string, number>();

  constructor(private readonly nc: NatsConnection, private readonly js: JetStreamClient, private readonly taskId: string) {}

  /** One machine step's events, in one message (the router's shape: protocol 2). */
  events(events: TaskEventMessage[]): void {
    if (events.length === 0) return;
    const first = events[0]!.seq;
    const last = events.at(-1)!.seq;
    this.send(SUBJECTS.taskEvent(this.taskId), { events }, MSG_ID.taskEvents(this.taskId, first, last));
  }

  execution(execution: Execution): void {
    for (const call of execution.calls ?? []) this.charge(call);
    this.send(SUBJECTS.execution, execution, MSG_ID.execution(execution.executionId));
  }

  usage(usage: UsageEvent): void {
    this.charge(usage);
    this.send(SUBJECTS.usage, usage, MSG_ID.usage(usage.usageId));
  }

  /** A provider's rate-limit headers, for every router's limiter (no id: each is news). */
  rateLimit(signal: RateLimitSignal): void {
    this.send(SUBJECTS.rateLimit(signal.tier), signal);
  }

  /** What the calls recorded so far under this reservation cost. */
  chargedTo(reservationId: string): number {
    return this.charged.get(reservationId) ?? 0;
  }

  /** Sends what is kept and resolves once all of it is stored; throws BUS_PUBLISH_FAILED when it is not stored in time. */
  async durable(): Promise<void> {
    // In order on one connection, so the stream stores them in order; the acks are awaited together.
    const sent = Promise.all(this.queued.splice(0).map(({ subject, data, msgID }) => this.publish(subject, data, msgID)));
    // Still sent after the request has given up on it: its failure then is nobody's to handle.
    sent.catch(() => {});
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new KoubouError('BUS_PUBLISH_FAILED', `task ${this.taskId}: its records were not stored within ${DURABLE_WAIT_MS / 1000} s (still being sent)`)), DURABLE_WAIT_MS);
    });
    try {
      await Promise.race([sent, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  private charge(usage: UsageEvent): void {
    if (usage.reservationId) this.charged.set(usage.reservationId, this.chargedTo(usage.reservationId) + usage.costUsd);
  }

  private send(subject: string, body: unknown, msgID?: string): void {
    this.queued.push({ subject, data: encode(body), ...(msgID ? { msgID } : {}) });
  }

  /** Until stored, or the connection is closed (then nothing more can be done from here). */
  private async publish(subject: string, data: Uint8Array, msgID?: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.js.publish(subject, data, msgID ? { msgID } : {});
        return;
      } catch (e) {
        if (this.nc.isClosed()) throw new KoubouError('BUS_PUBLISH_FAILED', `task ${this.taskId}: could not store ${subject}${msgID ? ` (${msgID})` : ''}: ${(e as Error).message}`, { cause: e });
        await new Promise((r) => setTimeout(r, Math.min(250 * 2 ** (attempt - 1), 5000)));
      }
    }
  }
}
