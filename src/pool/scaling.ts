/**
 * How many worker processes `koubou pool` should run (the seed's
 * WorkerPoolManager: min_workers, max_workers, max_active_tasks).
 */

export interface ScalingInput {
  /** Work items waiting in the queue, not yet taken. */
  pending: number;
  /** Work items taken and not yet acknowledged. */
  inFlight: number;
  /** Worker processes running now. */
  current: number;
  min: number;
  max: number;
  /** Tasks each worker process runs at once. */
  perWorker: number;
  /** How long the queue has had nothing waiting (0 when something waits). */
  idleForMs: number;
  /** Idle time after which one extra worker is stopped. */
  scaleDownIdleMs: number;
}

/**
 * The number of workers to run: enough for everything waiting and running
 * (up at once, to at most `max`); one fewer, down to what the work in flight
 * needs and never below `min`, once the queue has been empty for
 * `scaleDownIdleMs` — so a brief lull does not stop a worker that is needed again.
 *
 * @example
 * desiredWorkers({ pending: 7, inFlight: 2, current: 1, min: 1, max: 5, perWorker: 2, idleForMs: 0, scaleDownIdleMs: 30_000 }); // 5
 * desiredWorkers({ pending: 0, inFlight: 0, current: 3, min: 1, max: 5, perWorker: 2, idleForMs: 31_000, scaleDownIdleMs: 30_000 }); // 2
 */
export function desiredWorkers(i: ScalingInput): number {
  const clamp = (n: number) => Math.max(i.min, Math.min(i.max, n));
  const needed = Math.ceil((i.pending + i.inFlight) / Math.max(1, i.perWorker));
  if (needed > i.current) return clamp(needed);
  if (i.pending === 0 && i.idleForMs >= i.scaleDownIdleMs) return clamp(Math.max(needed, i.current - 1));
  return clamp(i.current);
}
