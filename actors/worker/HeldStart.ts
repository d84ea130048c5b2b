/**
 * A worker's `started` report, held back for a moment (protocol 3). A call that ends within
 * `holdMs` tells its start inside its outcome report (`startedAt`): one JetStream message and
 * one router step fewer per task. A longer call sends `started` once the moment has passed, so
 * long work still shows as in progress, and its outcome follows that report on the bus.
 */
import type { Report } from '../../src/bus/index.ts';
import type { WorkerBus } from './WorkerBus.ts';

type Outcome = Extract<Report, { kind: 'completed' | 'failed' }>;
type Started = Extract<Report, { kind: 'started' }>;

export class HeldStart {
  private timer: NodeJS.Timeout | null = null;
  private held: Started | null = null;
  private sent: Promise<void> | null = null;

  constructor(private readonly bus: WorkerBus, private readonly holdMs: number) {}

  /**
   * The bus, with `report` going through this hold; everything else as it is. The runner's
   * code (and the executors') keeps calling `bus.report` in the usual order.
   */
  wrap(): WorkerBus {
    return Object.create(this.bus, { report: { value: (r: Exclude<Report, { kind: 'cancel' }>) => this.report(r) } }) as WorkerBus;
  }

  private report(r: Exclude<Report, { kind: 'cancel' }>): Promise<void> {
    if (r.kind === 'started') {
      if (this.holdMs <= 0) return this.bus.report(r);
      this.held = r;
      this.timer = setTimeout(() => this.send(), this.holdMs);
      return Promise.resolve();
    }
    return this.outcome(r);
  }

  private send(): void {
    this.timer = null;
    const held = this.held!;
    this.held = null;
    this.sent = this.bus.report(held);
    // Awaited (and so rethrown) by the outcome that follows; not left unhandled meanwhile.
    this.sent.catch(() => {});
  }

  private async outcome(r: Outcome): Promise<void> {
    if (this.held) {
      clearTimeout(this.timer!);
      const { at } = this.held;
      this.held = null;
      return this.bus.report({ ...r, startedAt: at });
    }
    // `started` went out (or is going): the outcome after it, and not if it could not be told.
    await this.sent;
    return this.bus.report(r);
  }

  /** Drops a start still held (the task ended with no outcome to tell: handed back, shut down). */
  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.held = null;
  }
}
