import type { TierConfig } from '../../src/config/index.ts';
import type { OverflowPolicy } from '../../src/context/index.ts';
import type { Tier } from '../../src/core/types.ts';
import type { Provider, ProviderError } from '../../src/llm/Provider.ts';
import type { ModelPrice } from '../../src/policy/index.ts';
import type { Executor } from './executors/Executor.ts';
import type { TaskOutcome } from './TaskOutcome.ts';
import type { WorkerBus } from './WorkerBus.ts';

/** Why an in-flight task's controller was aborted. */
export type AbortReason = 'cancelled' | 'shutdown';

/** What running one work item needs from its worker. */
export interface TaskRunnerDeps {
  bus: WorkerBus;
  workerId: string;
  tier: Tier;
  tierConfig: TierConfig;
  provider: Provider;
  prices: Record<string, ModelPrice>;
  /** How often to send an in-progress ack: a third of the consumer's ack_wait. */
  workingEveryMs: number;
  /** How long `started` is held back to be folded into a fast call's outcome report; 0: sent at once. */
  holdStartMs: number;
  /** Multiplies retry delays, a 429's Retry-After included (tests use a small one). */
  retryDelayScale: number;
  /** What to do with a prompt larger than the tier's window (config `context.overflow_policy`). */
  overflowPolicy: OverflowPolicy;
  /**
   * Longest Retry-After a 429 may ask for and still be waited out here (config
   * `routing.max_rate_limit_wait_seconds`); a longer one is reported at once so that
   * the task machine falls back to the next tier instead.
   */
  maxRateLimitWaitMs: number;
  /**
   * Called when a call failed at the model server (refused, reset, timed out, 503, a
   * stream broken off): true when the work should go back to the queue for another
   * worker instead of failing (the worker then cools its host down). Absent: never.
   */
  hostFailed?(error: ProviderError, deliveries: number): boolean;
  /** True when the task was aborted within the last few minutes. */
  wasAborted(taskId: string): boolean;
  /** Registers an in-flight task; the returned function unregisters it. */
  track(taskId: string, controller: AbortController): () => void;
  outcome(outcome: TaskOutcome): void;
  log(line: string): void;
  /** Whether the call's progress is told (a worker's, for `watch` and the dashboard); false skips counting it as it streams. Default true. */
  reportsProgress?: boolean;
  /** How the attempt is carried out. Default: one model call ({@link SingleCallExecutor}). */
  executor?: Executor;
}
