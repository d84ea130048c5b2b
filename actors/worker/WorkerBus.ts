import type { JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { encode, publishDurably, SUBJECTS, type Execution, type Heartbeat, type Progress, type StreamDelta, type RateLimitSignal, type Rejection, type Report, type UsageEvent, MSG_ID } from '../../src/bus/index.ts';
import type { Tier } from '../../src/core/types.ts';

/** What the worker may publish, within nats.conf's worker permissions. */
export interface WorkerBusOptions {
  nc: NatsConnection;
  js: JetStreamClient;
  /** Tries of each JetStream publish before giving up. Default 8 (about 30 s with back-off). */
  publishAttempts?: number;
}

/**
 * The worker's outgoing messages. JetStream publishes (reports, usage,
 * rejections, rate-limit signals) are retried with back-off: a server restart
 * must not lose a report. Retrying is safe because every retried publish
 * carries a Nats-Msg-Id, so the stream stores it once (the others are
 * idempotent for their readers). A publish that still fails throws a
 * `BUS_PUBLISH_FAILED` KoubouError. Core publishes
 * (heartbeats, progress) are fire-and-forget and never throw.
 */
export class WorkerBus {
  private readonly attempts: number;
  constructor(private readonly options: WorkerBusOptions) {
    this.attempts = options.publishAttempts ?? 8;
  }

  /** `koubou.report.<taskId>`; `msgID` is `<taskId>:<attempt>:<kind>` so a redelivered attempt reports once. */
  report(report: Exclude<Report, { kind: 'cancel' }>): Promise<void> {
    return this.jsPublish(SUBJECTS.report(report.taskId), report, MSG_ID.report(report.taskId, report.attempt, report.kind));
  }

  /** `koubou.evt.usage`; `msgID` comes from the usage id, so a redone call is stored (and charged) once. */
  usage(event: UsageEvent): Promise<void> {
    return this.jsPublish(SUBJECTS.usage, event, MSG_ID.usage(event.usageId));
  }

  /** `koubou.evt.execution`; `msgID` is the execution id, so a retried publish is stored once. */
  execution(execution: Execution): Promise<void> {
    return this.jsPublish(SUBJECTS.execution, execution, MSG_ID.execution(execution.executionId));
  }

  rejection(rejection: Rejection): Promise<void> {
    return this.jsPublish(SUBJECTS.rejected, rejection);
  }

  rateLimit(signal: RateLimitSignal): Promise<void> {
    return this.jsPublish(SUBJECTS.rateLimit(signal.tier as Tier), signal);
  }

  progress(progress: Progress): void {
    this.corePublish(SUBJECTS.progress(progress.taskId), progress);
  }

  /** A piece of the model's output, for the gateway to pass on as it comes (best effort: the outcome carries it all). */
  stream(delta: StreamDelta): void {
    this.corePublish(SUBJECTS.stream(delta.taskId), delta);
  }

  heartbeat(heartbeat: Heartbeat): void {
    this.corePublish(SUBJECTS.heartbeat(heartbeat.workerId), heartbeat);
  }

  private corePublish(subject: string, body: unknown): void {
    try {
      this.options.nc.publish(subject, encode(body));
    } catch {
      // Closed connection: heartbeats and progress are best effort by design.
    }
  }

  private jsPublish(subject: string, body: unknown, msgID?: string): Promise<void> {
    return publishDurably(this.options.nc, this.options.js, subject, encode(body), { ...(msgID ? { msgID } : {}), attempts: this.attempts });
  }
}
