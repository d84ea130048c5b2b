/**
 * The usage of an attempt's calls, kept back to travel in its execution message (protocol 4).
 * The one rule it keeps: every kept call is on the bus before any outcome of the attempt is told.
 * The success path takes the usage for its execution message, sent before `completed`; any other
 * outcome report (a failure, a cancellation, however the runner or the executor tells it) first
 * publishes what is still kept, each call as its own `koubou.evt.usage` message.
 */
import type { Report, UsageEvent } from '../../src/bus/index.ts';
import type { WorkerBus } from './WorkerBus.ts';

export class KeptUsage {
  private kept: UsageEvent[] = [];

  /** Keeps a call's usage for the execution message. */
  keep(usage: UsageEvent): void {
    this.kept.push(usage);
  }

  /** Hands the kept usage over, once: the caller must put it on the bus. */
  take(): UsageEvent[] {
    const taken = this.kept;
    this.kept = [];
    return taken;
  }

  /** The bus, with each outcome report preceded by the usage still kept; everything else as it is. */
  wrap(bus: WorkerBus): WorkerBus {
    const report = async (r: Exclude<Report, { kind: 'cancel' }>) => {
      if (r.kind !== 'started') for (const usage of this.take()) await bus.usage(usage);
      return bus.report(r);
    };
    return Object.create(bus, { report: { value: report } }) as WorkerBus;
  }
}
