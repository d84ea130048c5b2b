/**
 * The worker's bus for a call a gateway makes itself: the attempt's reports go to the task's
 * machine in this process (not to a router), its output straight to the HTTP client (not to
 * `koubou.stream`), its execution, its usage and the provider's rate-limit signals (for every
 * router's limiter) to the task's records.
 */
import type { Execution, Progress, RateLimitSignal, Report, StreamDelta, UsageEvent } from '../../../src/bus/index.ts';
import { WorkerBus, type WorkerBusOptions } from '../../worker/WorkerBus.ts';
import type { TaskRecords } from './TaskRecords.ts';

export interface CallBusTarget {
  report(report: Exclude<Report, { kind: 'cancel' }>): void;
  delta?(delta: StreamDelta): void;
}

export class CallBus extends WorkerBus {
  constructor(options: WorkerBusOptions, private readonly records: TaskRecords, private readonly target: CallBusTarget) {
    super(options);
  }

  override async report(report: Exclude<Report, { kind: 'cancel' }>): Promise<void> {
    this.target.report(report);
  }

  override async usage(event: UsageEvent): Promise<void> {
    this.records.usage(event);
  }

  override async execution(execution: Execution): Promise<void> {
    this.records.execution(execution);
  }

  override stream(delta: StreamDelta): void {
    this.target.delta?.(delta);
  }

  /**
   * A 429 goes to the routers' limiters at once (the other requests should stop trying the tier
   * now); the headers of a call that went through travel with the task's records.
   */
  override async rateLimit(signal: RateLimitSignal): Promise<void> {
    if (signal.status === 429) super.rateLimit(signal).catch(() => {});
    else this.records.rateLimit(signal);
  }

  /** Nobody follows an interactive request's progress but its client, who gets its output. */
  override progress(_progress: Progress): void {}
}
