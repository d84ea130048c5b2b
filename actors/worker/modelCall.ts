/**
 * The model call a worker gives its executor: one call on the tier's provider, with the
 * tier's retries and back-off, a 429 waited out or reported (the routers' limiter hears of
 * it either way), a failing LAN host handing the task back, cancellation, and the call's
 * usage charged to the ledger under its own id, `taskId:attempt:call`.
 */
import type { Execution, UsageEvent, WorkItem } from '../../src/bus/index.ts';
import { KoubouError } from '../../src/core/errors.ts';
import type { GenerateRequest, GenerateResult, ProviderError } from '../../src/llm/Provider.ts';
import { costOf, priceFor, type ModelPrice } from '../../src/policy/index.ts';
import { asProviderError, callProvider } from './callProvider.ts';
import { PaidCallGuard } from './PaidCallGuard.ts';
import type { ModelCall } from './executors/Executor.ts';
import { sleep } from './sleep.ts';
import type { AbortReason, TaskRunnerDeps } from './TaskRunnerDeps.ts';
import type { TaskOutcome } from './TaskOutcome.ts';

const now = () => new Date().toISOString();
const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

export interface ModelCallContext {
  deps: TaskRunnerDeps;
  item: WorkItem;
  signal: AbortSignal;
  /** How often JetStream has delivered this work item (for the host-failure hand-back). */
  deliveries: number;
  /** The executor's call budget for one attempt, and its name for the error past it. */
  maxCalls: number;
  executorName: string;
  onProgress: GenerateRequest['onProgress'];
  /** Each piece of output as it arrives (streamed on to the gateway), when anyone listens. */
  onDelta?: GenerateRequest['onDelta'];
  /** The execution metric of a call that failed with `code`, timed now. */
  onFailure(code: string): Execution;
  /**
   * Where each call's usage goes instead of `koubou.evt.usage`, when the execution message is to
   * carry it (protocol 4: an executor of one call). Default: published at once.
   */
  keepUsage?: (usage: UsageEvent) => void;
}

/**
 * @example
 * const model = createModelCall({ deps, item, signal, deliveries, maxCalls: 1, executorName: 'single_call', onProgress, onFailure });
 * const outcome = await model.call({ model: 'gpt-5', messages, maxOutputTokens: 8192 });
 */
export function createModelCall(ctx: ModelCallContext): { call: ModelCall; lastHeaders(): Record<string, string> | undefined } {
  const { deps, item, signal, deliveries } = ctx;
  const { bus, workerId, tierConfig } = deps;
  const base = { taskId: item.taskId, attempt: item.attempt, workerId };
  let calls = 0;
  let lastHeaders: Record<string, string> | undefined;
  const guard = new PaidCallGuard(item, tierConfig, deps.prices);
  /** One model call with the tier's retries; charged under its own usage id. */
  const call: ModelCall = async (request) => {
    if (calls >= ctx.maxCalls) {
      throw new KoubouError('CALL_BUDGET_EXCEEDED', `the ${ctx.executorName} executor tried call ${calls + 1} of at most ${ctx.maxCalls}`);
    }
    // Refused before it is made when no reservation covers it (a paid tier's only).
    const maxOutputTokens = guard.admit(request);
    const n = ++calls;
    for (let retry = 0; ; retry++) {
      if (signal.aborted) return { ok: false, outcome: await aborted(deps, item, signal) };
      let result: GenerateResult;
      try {
        result = await callProvider(deps.provider, { ...request, maxOutputTokens, signal, onProgress: ctx.onProgress, ...(ctx.onDelta ? { onDelta: ctx.onDelta } : {}) });
      } catch (e) {
        if (signal.aborted) return { ok: false, outcome: await aborted(deps, item, signal) };
        const err = asProviderError(e);
        if (deps.hostFailed?.(err, deliveries)) {
          await publishExecution(deps, ctx.onFailure(err.code));
          return { ok: false, outcome: 'handed_back' };
        }
        const canRetry = retry < tierConfig.retry.max_retries;
        if (err.rateLimited) {
          // Every 429 tells the routers how long the tier is blocked, retried here or not.
          await signalRateLimit(deps, 429, err.headers ?? {});
          if (!(canRetry && waitsOut(deps, err))) {
            // The task machine falls back to the next tier at once: better than a long wait here.
            await bus.report({ kind: 'failed', ...base, error: { code: err.code, message: err.message }, rateLimited: true, at: now() });
            return { ok: false, outcome: 'rate_limited' };
          }
          await sleep(err.retryAfterMs! * deps.retryDelayScale, signal);
          continue;
        }
        if (!err.retryable || !canRetry) {
          const suffix = err.retryable ? ` (gave up after ${retry + 1} tries)` : '';
          const execution = ctx.onFailure(err.code);
          await bus.report({ kind: 'failed', ...base, error: { code: err.code, message: err.message + suffix }, rateLimited: false, at: now() });
          await publishExecution(deps, execution);
          return { ok: false, outcome: 'failed' };
        }
        const backoff = tierConfig.retry.delay_seconds * 1000 * 2 ** retry;
        await sleep(Math.max(backoff, err.retryAfterMs ?? 0) * deps.retryDelayScale, signal);
        continue;
      }
      const costUsd = costFor(deps, result);
      guard.spent(costUsd);
      // Charged before the outcome is reported: once the task is reported completed, every call's
      // cost is on the ledger's stream (its own message, or the execution's that goes first).
      const usage: UsageEvent = {
        usageId: `${item.taskId}:${item.attempt}:${n}`, ...base, tier: deps.tier, model: result.model, ...result.usage,
        costUsd, reservationId: item.reservationId, at: now(),
      };
      if (ctx.keepUsage) ctx.keepUsage(usage);
      else await bus.usage(usage);
      if (result.rateLimitHeaders && Object.keys(result.rateLimitHeaders).length > 0) lastHeaders = result.rateLimitHeaders;
      return { ok: true, result, costUsd };
    }
  };
  return { call, lastHeaders: () => lastHeaders };
}

/** Best effort: a metric never fails a task. */
export async function publishExecution(deps: TaskRunnerDeps, execution: Execution): Promise<void> {
  try {
    await deps.bus.execution(execution);
  } catch (e) {
    deps.log(`worker ${deps.workerId}: execution metric not published: ${message(e)}`);
  }
}

/** A 429 is worth waiting out here when it says when to come back, and that is soon enough. */
function waitsOut(deps: TaskRunnerDeps, err: ProviderError): boolean {
  return err.retryAfterMs !== undefined && err.retryAfterMs <= deps.maxRateLimitWaitMs;
}

/** Reports an attempt cancelled (by `koubou cancel`), or hands it back when the worker is stopping. */
export async function aborted(deps: TaskRunnerDeps, item: WorkItem, signal: AbortSignal): Promise<TaskOutcome> {
  if ((signal.reason as AbortReason) === 'shutdown') return 'shutdown';
  await deps.bus.report({
    kind: 'failed', taskId: item.taskId, attempt: item.attempt, workerId: deps.workerId,
    error: { code: 'CANCELLED', message: 'aborted by koubou.ctl.abort' }, rateLimited: false, at: now(),
  });
  return 'cancelled';
}

/** Local models are free; a cloud answer is priced by the model it names, else by the tier's model. */
function costFor(deps: TaskRunnerDeps, result: GenerateResult): number {
  if (!deps.tierConfig.cloud) return 0;
  let price: ModelPrice;
  try {
    price = priceFor(result.model, deps.prices);
  } catch {
    price = priceFor(deps.tierConfig.model, deps.prices);
  }
  return costOf(result.usage, price);
}

/** Best effort, cloud tiers only (nats.conf gives local workers no rate-limit subject: local models have no provider limits). */
export async function signalRateLimit(deps: TaskRunnerDeps, status: number, headers: Record<string, string>): Promise<void> {
  if (!deps.tierConfig.cloud) return;
  try {
    await deps.bus.rateLimit({ tier: deps.tier, headers, status, at: now() });
  } catch (e) {
    deps.log(`worker ${deps.workerId}: rate-limit signal not published: ${message(e)}`);
  }
}

