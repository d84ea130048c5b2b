/**
 * The calls a gateway makes itself: an interactive request's attempt on a cloud tier whose
 * backend this gateway has, run by the worker's own code (`executeWorkItem`: the prompt as the
 * tier takes it, the paid-call guard, retries, 429s, cancellation, the usage under its own id),
 * with a bus that hands its reports back to the task's machine here.
 */
import type { JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Report, StreamDelta, WorkItem } from '../../../src/bus/index.ts';
import type { KoubouConfig, TierConfig } from '../../../src/config/index.ts';
import { KoubouError } from '../../../src/core/errors.ts';
import type { Tier } from '../../../src/core/types.ts';
import type { Provider } from '../../../src/llm/Provider.ts';
import type { ModelPrice } from '../../../src/policy/index.ts';
import { executorOf, priceTable, workItemBase } from '../../../src/routing/index.ts';
import type { DispatchInput } from '../../../machines/task.types.ts';
import { KeptUsage } from '../../worker/KeptUsage.ts';
import { executeWorkItem } from '../../worker/runTask.ts';
import type { TaskRunnerDeps } from '../../worker/TaskRunnerDeps.ts';
import { CallBus } from './CallBus.ts';
import type { TaskRecords } from './TaskRecords.ts';

/** A cloud tier's backend, as a worker of that tier would call it. */
export interface DirectBackend {
  provider: Provider;
  tierConfig: TierConfig;
}

export interface DirectCallsOptions {
  nc: NatsConnection;
  js: JetStreamClient;
  config: KoubouConfig;
  backends: ReadonlyMap<Tier, DirectBackend>;
  workerId: string;
  log: (line: string) => void;
}

export class DirectCalls {
  private readonly prices: Record<string, ModelPrice>;

  constructor(private readonly options: DirectCallsOptions) {
    this.prices = priceTable(options.config);
  }

  /**
   * Whether this gateway runs the dispatched attempt itself: a single call of a conversation, on a
   * cloud tier whose backend it has. Anything else (a local tier: the LAN pool's placement; an
   * agent; a task without a conversation) goes to the tier's queue.
   */
  canRun(d: Pick<DispatchInput, 'tier' | 'task'>): boolean {
    const backend = this.options.backends.get(d.tier);
    return backend !== undefined && backend.tierConfig.cloud && executorOf(d.task) === 'single_call' && d.task.conversation !== undefined;
  }

  /** Runs the attempt; resolves with its reports, in order. Never throws: a failure is a `failed` report. */
  async run(d: DispatchInput, records: TaskRecords, onDelta: ((delta: StreamDelta) => void) | undefined, signal: AbortSignal): Promise<Report[]> {
    const backend = this.options.backends.get(d.tier)!;
    const { config, workerId } = this.options;
    const item: WorkItem = { ...workItemBase(d, Date.now()), conversation: d.task.conversation! };
    const reports: Report[] = [];
    const kept = new KeptUsage();
    const bus = new CallBus({ nc: this.options.nc, js: this.options.js }, records, { report: (r) => reports.push(r), ...(onDelta ? { delta: onDelta } : {}) });
    const deps: TaskRunnerDeps = {
      bus: kept.wrap(bus), workerId, tier: d.tier, tierConfig: backend.tierConfig, provider: backend.provider, prices: this.prices,
      // No queue to keep alive, no start to hold back: the machine is in this process.
      workingEveryMs: 60_000, holdStartMs: 0, retryDelayScale: 1, reportsProgress: false,
      overflowPolicy: config.context.overflow_policy, maxRateLimitWaitMs: config.routing.max_rate_limit_wait_seconds * 1000,
      wasAborted: () => false, track: () => () => {}, outcome: () => {}, log: this.options.log,
    };
    try {
      await executeWorkItem(deps, item, signal, 1, Date.now(), kept);
    } catch (e) {
      const error = { code: e instanceof KoubouError ? e.code : 'WORKER_ERROR', message: (e as Error).message };
      reports.push({ kind: 'failed', taskId: item.taskId, attempt: item.attempt, workerId, error, rateLimited: false, at: new Date().toISOString() });
    }
    return reports;
  }
}
