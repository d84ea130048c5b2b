import type { NatsConnection } from '@nats-io/transport-node';
import { SAFE_TOKEN } from '../../src/bus/index.ts';
import { isCloudTier, tierNames, tierOf, type KoubouConfig } from '../../src/config/index.ts';
import { InputError } from '../../src/core/errors.ts';
import { TASK_TYPES, type Tier } from '../../src/core/types.ts';
import type { Executor } from './executors/Executor.ts';
import { SingleCallExecutor } from './executors/SingleCallExecutor.ts';
import type { Provider } from '../../src/llm/Provider.ts';
import { priceFor } from '../../src/policy/index.ts';
import { priceTable } from '../../src/routing/index.ts';

export interface WorkerOptions {
  /** A connection as `cloud_worker` (tiers gpt5_high, gpt5_medium) or `local_worker` (tier local). */
  nc: NatsConnection;
  tier: Tier;
  /** Letters, digits, `_` and `-` (it is a subject token), e.g. `gpt5_high-host-1234`. */
  workerId: string;
  /** Executes the calls: OpenAI, Ollama, LM Studio or a simulator (see `resolveBackend` in backend.ts). */
  provider: Provider;
  /** Tier settings (model, reasoning effort, max output tokens, retry) and prices come from here. */
  config: KoubouConfig;
  /** Tasks in flight at once. Default: this worker id's `max_concurrent_tasks` in `config.workers`, else 1. */
  maxConcurrent?: number;
  /** Heartbeat period. Default 2000 ms. */
  heartbeatMs?: number;
  /** Where the worker's backend runs: `remote` for a LAN model server. Default: `remote` if the id is in `workers.remote_workers`, else `local`. */
  location?: 'local' | 'remote';
  /** What the worker calls (URL of the backend), for the heartbeat. Default: the provider's name. */
  endpoint?: string;
  /** Task types it is good at, for the heartbeat. Default: the config entry's, else every type. */
  capabilities?: string[];
  /** Measured speed relative to the local baseline, until the ledger measures it. Default: the config entry's, else 1. */
  performanceFactor?: number;
  /**
   * Pull exactly these durable consumers of KOUBOU_WORK, all alike, instead of the
   * tier's own (its lanes). For benchmarks and special set-ups. Default: the tier's.
   */
  consumers?: string[];
  /** How each attempt is carried out. Default: one model call (`SingleCallExecutor`). */
  executor?: Executor;
  /** Multiplies the tier's retry delays. Default 1; tests use e.g. 0.001. */
  retryDelayScale?: number;
  /**
   * How long a task's `started` report is held back: a call that ends sooner tells its start in
   * its outcome report instead (one message and one router step fewer). Default 250 ms; 0 sends
   * `started` at once.
   */
  holdStartMs?: number;
  /**
   * Tries of each JetStream publish (a report, a usage, an execution) before the attempt is given
   * back to the queue. Default 8, about 30 s with back-off: long enough to ride out a server restart.
   */
  publishAttempts?: number;
  /** How long `stop()` lets in-flight tasks finish before handing them back to the queue. Default 30 000 ms. */
  stopTimeoutMs?: number;
  /**
   * How long one pull request waits on the server. Default 5 000 ms (at least 1000): a pull
   * left on a cluster node that died is given up (and made again on another) this soon.
   */
  pullExpiresMs?: number;
  /** Failed calls in a row after which the heartbeat says `error`. Default 3. */
  errorThreshold?: number;
  /** How long after a 429 the heartbeat says `rate_limited`. Default 30 000 ms. */
  rateLimitedForMs?: number;
  /** How long an aborted task id is remembered, so that its queued work is dropped. Default 10 min. */
  abortMemoryMs?: number;
  /** One line per task and per notable event. Default: silent. */
  log?: (line: string) => void;
}

export type ResolvedWorkerOptions = Required<Omit<WorkerOptions, 'log'>> & { log: (line: string) => void };

/** Applies the defaults and checks what would otherwise fail only at the first task. */
export function resolveWorkerOptions(options: WorkerOptions): ResolvedWorkerOptions {
  const { tier, workerId, config } = options;
  if (!config.tiers[tier]) throw new InputError(`unknown tier ${JSON.stringify(tier)}; valid tiers: ${tierNames(config).join(', ')}`);
  if (!SAFE_TOKEN.test(workerId)) throw new InputError(`worker id ${JSON.stringify(workerId)} must be 1-128 letters, digits, _ or -`);
  const entry = [...config.workers.local_workers, ...config.workers.remote_workers].find((w) => w.worker_id === workerId);
  const maxConcurrent = options.maxConcurrent ?? entry?.max_concurrent_tasks ?? 1;
  if (!Number.isInteger(maxConcurrent) || maxConcurrent < 1) throw new InputError(`max concurrent tasks must be a positive integer, got ${maxConcurrent}`);
  // Fail at start, not after a paid call, when a cloud model has no price.
  if (isCloudTier(config, tier)) priceFor(tierOf(config, tier).model, priceTable(config));
  return {
    ...options,
    maxConcurrent,
    heartbeatMs: options.heartbeatMs ?? 2000,
    location: options.location ?? (config.workers.remote_workers.some((w) => w.worker_id === workerId) ? 'remote' : 'local'),
    performanceFactor: options.performanceFactor ?? entry?.performance_factor ?? 1,
    endpoint: options.endpoint ?? options.provider.name,
    capabilities: options.capabilities ?? (entry?.capabilities.length ? entry.capabilities : [...TASK_TYPES]),
    consumers: options.consumers ?? [],
    retryDelayScale: options.retryDelayScale ?? 1,
    holdStartMs: options.holdStartMs ?? 250,
    publishAttempts: options.publishAttempts ?? 8,
    stopTimeoutMs: options.stopTimeoutMs ?? 30_000,
    pullExpiresMs: Math.max(1000, options.pullExpiresMs ?? 5_000),
    errorThreshold: options.errorThreshold ?? 3,
    rateLimitedForMs: options.rateLimitedForMs ?? 30_000,
    abortMemoryMs: options.abortMemoryMs ?? 600_000,
    executor: options.executor ?? new SingleCallExecutor(),
    log: options.log ?? (() => {}),
  };
}
