/**
 * Recomputes the local-tier workers' performance factors from worker_metrics on
 * a schedule, stores them in `workers.performance_factor`, and tells the
 * workers (`koubou.pool.performance`), which place themselves by them.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { encode, SUBJECTS, type Heartbeat, type PerformanceFactors } from '../../src/bus/index.ts';
import { setPerformanceFactor, workerSpeedSamples, type LedgerDb } from '../../src/db/index.ts';
import { performanceFactors } from '../../src/pool/index.ts';

export interface PerformanceMonitorOptions {
  /** Time between recomputes. Default 60 000 ms. */
  everyMs?: number;
  /** Window of worker_metrics measured. Default 24 h. */
  windowHours?: number;
  /** Successful executions a worker needs before it is measured. Default 3. */
  minSamples?: number;
  log?: (line: string) => void;
}

/** Least time between two re-sends prompted by heartbeats that state an outdated factor. */
const RESEND_MS = 5000;

/**
 * @example
 * const perf = new PerformanceMonitor(nc, db, { everyMs: 60_000 });
 * perf.start();
 * perf.recompute(); // => Map { 'remote_lan_001' => 0.48, ... }, also published
 */
export class PerformanceMonitor {
  private timer: NodeJS.Timeout | null = null;
  /** Factors measured by this ledger since it started: only these are re-sent to workers. */
  private measured = new Map<string, number>();
  private lastResend = 0;

  constructor(private readonly nc: NatsConnection, private readonly db: LedgerDb, private readonly options: PerformanceMonitorOptions = {}) {}

  start(): void {
    this.timer ??= setInterval(() => this.guarded(), this.options.everyMs ?? 60_000);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Measures, stores and publishes the factors now; returns those that were measured. */
  recompute(): Map<string, number> {
    const factors = performanceFactors(workerSpeedSamples(this.db, this.options.windowHours ?? 24), {
      minSamples: this.options.minSamples ?? 3,
    });
    this.db.transaction(() => {
      for (const [workerId, factor] of factors) setPerformanceFactor(this.db, workerId, factor);
    })();
    this.measured = factors;
    if (factors.size > 0) {
      this.publish();
      this.options.log?.(`ledger: performance factors ${[...factors].map(([id, f]) => `${id}=${f.toFixed(2)}`).join(', ')}`);
    }
    return factors;
  }

  /** A worker that places itself by another factor than the measured one is told again (throttled). */
  onHeartbeat(hb: Heartbeat, now = Date.now()): void {
    const factor = this.measured.get(hb.workerId);
    if (factor === undefined || hb.performanceFactor === undefined || Math.abs(factor - hb.performanceFactor) < 0.001) return;
    if (now - this.lastResend < RESEND_MS) return;
    this.lastResend = now;
    this.publish();
  }

  private publish(): void {
    const body: PerformanceFactors = { factors: Object.fromEntries(this.measured), at: new Date().toISOString() };
    try {
      this.nc.publish(SUBJECTS.performance, encode(body));
    } catch {
      // Closed connection: the next recompute sends them again.
    }
  }

  private guarded(): void {
    try {
      this.recompute();
    } catch (e) {
      this.options.log?.(`ledger: performance factors not recomputed: ${(e as Error).message}`);
    }
  }
}
