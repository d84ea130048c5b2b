/**
 * A task's records, from a gateway that ran its machine and its call itself: its events, its
 * execution (which carries the call's usage), any usage of its own and the provider's rate-limit
 * signals, published to JetStream in the order they happened, each with the message id the
 * router and the workers would give it, so a repeated publish is stored once. They are kept
 * until the task ends (or is handed to the routers) and then sent together, one after another
 * without waiting for each (`durable()` waits once for all): the client is told it succeeded
 * only once its task and its charge are on the ledger's stream, and a gateway that dies before
 * leaves no half-told task behind (what its budget slice held is settled by the ledger).
 */
import type { JetStreamClient } from '@nats-io/jetstream';
import { encode, MSG_ID, SUBJECTS, type Execution, type RateLimitSignal, type TaskEventMessage, type UsageEvent } from '../../../src/bus/index.ts';
import { KoubouError } from '../../../src/core/errors.ts';

/** Tries of each publish before the request fails (a JetStream leader election takes a few seconds). */
const ATTEMPTS = 6;

export class TaskRecords {
  private readonly queued: { subject: string; data: Uint8Array; msgID?: string }[] = [];
  /** What the calls recorded so far cost, by the reservation each names. */
  private readonly charged = new Map<string, number>();

  constructor(private readonly js: JetStreamClient, private readonly taskId: string) {}

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

  /** Sends what is kept and resolves once all of it is stored; throws BUS_PUBLISH_FAILED naming what was not. */
  async durable(): Promise<void> {
    // In order on one connection, so the stream stores them in order; the acks are awaited together.
    await Promise.all(this.queued.splice(0).map(({ subject, data, msgID }) => this.publish(subject, data, msgID)));
  }

  private charge(usage: UsageEvent): void {
    if (usage.reservationId) this.charged.set(usage.reservationId, this.chargedTo(usage.reservationId) + usage.costUsd);
  }

  private send(subject: string, body: unknown, msgID?: string): void {
    this.queued.push({ subject, data: encode(body), ...(msgID ? { msgID } : {}) });
  }

  private async publish(subject: string, data: Uint8Array, msgID?: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.js.publish(subject, data, msgID ? { msgID } : {});
        return;
      } catch (e) {
        if (attempt >= ATTEMPTS) throw new KoubouError('BUS_PUBLISH_FAILED', `task ${this.taskId}: could not store ${subject}${msgID ? ` (${msgID})` : ''}: ${(e as Error).message}`, { cause: e });
        await new Promise((r) => setTimeout(r, Math.min(250 * 2 ** (attempt - 1), 4000)));
      }
    }
  }
}
