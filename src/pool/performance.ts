/**
 * Performance factors from measured execution times: how fast each local-tier
 * worker is relative to the workers whose model server is on the master
 * machine (the remote-worker design's `update_performance_factors`).
 *
 * The design divides average execution times. With tasks of mixed sizes that
 * measures the sizes as much as the hosts, so this divides speeds instead:
 * output tokens per millisecond of execution, summed over each worker's
 * successful executions. On tasks of one size the two agree.
 */
import type { WorkerSpeedSample } from '../db/metrics.ts';

export const MIN_FACTOR = 0.1;
export const MAX_FACTOR = 2.0;

export interface PerformanceOptions {
  /** Successful executions a worker needs before it is measured. Default 3. */
  minSamples?: number;
}

const speedOf = (s: Pick<WorkerSpeedSample, 'tokens' | 'executionTimeMs' | 'tasks'>): number =>
  // No token counts (a backend that reports none): tasks per millisecond, the design's own measure.
  s.tokens > 0 ? s.tokens / Math.max(1, s.executionTimeMs) : s.tasks / Math.max(1, s.executionTimeMs);

/**
 * Each measured worker's factor: its speed ÷ the local workers' combined speed,
 * clamped to 0.1–2.0. Workers with fewer than `minSamples` successes are left
 * out (they keep their factor); with no measured local worker there is no
 * baseline and nothing is returned.
 *
 * @example
 * performanceFactors([
 *   { workerId: 'local_001', location: 'local', tasks: 10, tokens: 2000, executionTimeMs: 10_000 },
 *   { workerId: 'remote_lan_001', location: '192.168.1.100', tasks: 5, tokens: 1000, executionTimeMs: 10_000 },
 * ]); // Map { 'local_001' => 1, 'remote_lan_001' => 0.5 }
 */
export function performanceFactors(samples: readonly WorkerSpeedSample[], options: PerformanceOptions = {}): Map<string, number> {
  const min = options.minSamples ?? 3;
  const measured = samples.filter((s) => s.tasks >= min);
  const local = measured.filter((s) => s.location === 'local');
  const out = new Map<string, number>();
  if (local.length === 0) return out;
  const useTokens = measured.every((s) => s.tokens > 0);
  const baseline = speedOf({
    tokens: useTokens ? local.reduce((n, s) => n + s.tokens, 0) : 0,
    tasks: local.reduce((n, s) => n + s.tasks, 0),
    executionTimeMs: local.reduce((n, s) => n + s.executionTimeMs, 0),
  });
  for (const s of measured) {
    const speed = speedOf(useTokens ? s : { ...s, tokens: 0 });
    const factor = Math.min(MAX_FACTOR, Math.max(MIN_FACTOR, speed / baseline));
    out.set(s.workerId, Math.round(factor * 1000) / 1000);
  }
  return out;
}
