/**
 * A task's records, from a gateway that ran its machine and its call itself: its events, the
 * executions of its calls (which carry their usage), any usage of its own, kept until the task
 * ends (or is handed to the routers) and then stored as ONE message on `koubou.evt.task.<id>`
 * (protocol 6), under the message id a router's step would give its events, so a repeat is
 * stored once. The ledger writes that message in one transaction: the task and its charge land
 * together or not at all, whenever the gateway dies. The client is told its request succeeded
 * only once the message is stored (`durable()`). A message JetStream does not take within
 * `DURABLE_WAIT_MS` fails the request, and is still sent, with back-off, while the connection
 * lasts: a charge the provider billed is not dropped for a slow leader election. The provider's
 * rate-limit headers of a call that went through go to the routers beside it, not waited for.
 */
import type { JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { encode, MSG_ID, publishDurably, SUBJECTS, type Execution, type RateLimitSignal, type TaskEventMessage, type UsageEvent } from '../../../src/bus/index.ts';
import { KoubouError } from '../../../src/core/errors.ts';

/** How long a request waits for its records to be stored before it fails (a leader election takes a few seconds). */
const DURABLE_WAIT_MS = 10_000;

export class TaskRecords {
  private kept: TaskEventMessage[] = [];
  private executions: Execution[] = [];
  private usages: UsageEvent[] = [];
  private signals: RateLimitSignal[] = [];
  /** What the calls recorded so far cost, by the reservation each names. */
  private readonly charged = new Map<string, number>();

  constructor(private readonly nc: NatsConnection, private readonly js: JetStreamClient, private readonly taskId: string) {}

  /** A machine step's events, in order. */
  events(events: TaskEventMessage[]): void {
    this.kept.push(...events);
  }

  execution(execution: Execution): void {
    for (const call of execution.calls ?? []) this.charge(call);
    this.executions.push(execution);
  }

  usage(usage: UsageEvent): void {
    this.charge(usage);
    this.usages.push(usage);
  }

  /** A provider's rate-limit headers, for every router's limiter. */
  rateLimit(signal: RateLimitSignal): void {
    this.signals.push(signal);
  }

  /** What the calls recorded so far under this reservation cost. */
  chargedTo(reservationId: string): number {
    return this.charged.get(reservationId) ?? 0;
  }

  /** Stores what is kept and resolves once it is stored; throws BUS_PUBLISH_FAILED when it is not stored in time. */
  async durable(): Promise<void> {
    for (const signal of this.signals.splice(0)) publishDurably(this.nc, this.js, SUBJECTS.rateLimit(signal.tier), encode(signal)).catch(() => {});
    const events = this.kept.splice(0);
    const executions = this.executions.splice(0);
    const usage = this.usages.splice(0);
    if (events.length === 0) {
      // Every step of a task adds events; records without any would have no task to belong to.
      if (executions.length || usage.length) throw new Error(`task ${this.taskId}: records without events`);
      return;
    }
    const body = { events, ...(executions.length ? { executions } : {}), ...(usage.length ? { usage } : {}) };
    const sent = publishDurably(this.nc, this.js, SUBJECTS.taskEvent(this.taskId), encode(body), { msgID: MSG_ID.taskEvents(this.taskId, events[0]!.seq, events.at(-1)!.seq) });
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
}
