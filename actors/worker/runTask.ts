import type { JsMsg } from '@nats-io/jetstream';
import { decode, MessageError, SAFE_TOKEN, workItemSchema, type Execution, type WorkItem } from '../../src/bus/index.ts';
import type { TierConfig } from '../../src/config/index.ts';
import { buildPrompt, type OverflowPolicy } from '../../src/context/index.ts';
import { KoubouError } from '../../src/core/errors.ts';
import type { Tier } from '../../src/core/types.ts';
import type { ChatMessage, GenerateResult, Provider, ProviderError } from '../../src/llm/Provider.ts';
import { costOf, priceFor, type ModelPrice } from '../../src/policy/index.ts';
import { asProviderError, callProvider, throttledProgress } from './callProvider.ts';
import type { Executor, ModelCall } from './executors/Executor.ts';
import { SingleCallExecutor } from './executors/SingleCallExecutor.ts';
import { sleep } from './sleep.ts';
import type { WorkerBus } from './WorkerBus.ts';

import type { TaskOutcome } from './TaskOutcome.ts';

export type { TaskOutcome };

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
  /** How the attempt is carried out. Default: one model call ({@link SingleCallExecutor}). */
  executor?: Executor;
}

const SINGLE_CALL = new SingleCallExecutor();

const now = () => new Date().toISOString();
const message = (e: unknown) => (e instanceof Error ? e.message : String(e));
/** A koubou error keeps its own code (e.g. CALL_BUDGET_EXCEEDED); anything else is a WORKER_ERROR. */
const codeOf = (e: unknown) => (e instanceof KoubouError ? e.code : 'WORKER_ERROR');

/**
 * Handles one delivery of the tier's queue, start to ack. Never throws.
 *
 * Ack discipline: a message is acked only after its outcome is reported (so a
 * crash before that leaves it unacked and JetStream redelivers it after
 * ack_wait); poison is terminated; a task given up by a stopping worker, or
 * whose report could not be published, is nak'ed for another worker.
 */
export async function runTask(deps: TaskRunnerDeps, msg: JsMsg): Promise<void> {
  let item: WorkItem;
  try {
    item = decode(workItemSchema, msg.data, msg.subject);
    if (item.tier !== deps.tier) throw new MessageError(`${msg.subject}: tier ${item.tier} sent to a ${deps.tier} worker`, excerptOf(msg.data));
  } catch (e) {
    await refuse(deps, msg, e);
    return;
  }
  const tag = `${item.taskId}#${item.attempt}`;
  if (deps.wasAborted(item.taskId)) {
    // The router already knows the task is cancelled: nothing to report.
    settle(msg, 'ack');
    deps.log(`worker ${deps.workerId}: ${tag} dropped (aborted)`);
    return;
  }
  const controller = new AbortController();
  const untrack = deps.track(item.taskId, controller);
  // Keeps JetStream from redelivering while the call (or a retry wait) runs longer than ack_wait.
  const keepAlive = setInterval(() => settle(msg, 'working'), deps.workingEveryMs);
  const started = Date.now();
  try {
    const outcome = await execute(deps, item, controller.signal, msg.info.deliveryCount, started);
    deps.outcome(outcome);
    settle(msg, outcome === 'shutdown' || outcome === 'handed_back' ? 'nak' : 'ack');
    const what = outcome === 'shutdown' ? 'handed back to the queue (worker stopping)'
      : outcome === 'handed_back' ? 'handed back to the queue (its host failed)' : outcome.replace('_', '-');
    deps.log(`worker ${deps.workerId}: ${tag} ${what} after ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } catch (e) {
    deps.outcome('failed');
    if (e instanceof KoubouError && e.code === 'BUS_PUBLISH_FAILED') {
      // The outcome could not be told: let the attempt be redone (the usage id keeps it charged once).
      settle(msg, 'nak');
      deps.log(`worker ${deps.workerId}: ${tag} returned to the queue: ${e.message}`);
      return;
    }
    try {
      await deps.bus.report({
        kind: 'failed', taskId: item.taskId, attempt: item.attempt, workerId: deps.workerId,
        error: { code: codeOf(e), message: message(e) }, rateLimited: false, at: now(),
      });
      settle(msg, 'ack');
    } catch {
      settle(msg, 'nak');
    }
    deps.log(`worker ${deps.workerId}: ${tag} failed (${codeOf(e)}: ${message(e)})`);
  } finally {
    clearInterval(keepAlive);
    untrack();
  }
}

async function execute(deps: TaskRunnerDeps, item: WorkItem, signal: AbortSignal, deliveries: number, started: number): Promise<TaskOutcome> {
  const { bus, workerId, tierConfig } = deps;
  const base = { taskId: item.taskId, attempt: item.attempt, workerId };
  // Measured when the call ends, published after the outcome is reported (it must not hold the answer back).
  const measured = (m: Omit<Measured, 'deliveries' | 'started'>) => executionOf(deps, item, { ...m, deliveries, started });
  await bus.report({ kind: 'started', ...base, at: now() });
  let messages: ChatMessage[];
  try {
    messages = buildPrompt({
      task: item,
      tier: { name: deps.tier, model: tierConfig.model, context_window: tierConfig.context_window, max_output_tokens: tierConfig.max_output_tokens },
      policy: deps.overflowPolicy,
    }).messages;
  } catch (e) {
    // PROMPT_TOO_LARGE: no retry can make the prompt smaller; the message says by how much it is over.
    const code = e instanceof KoubouError ? e.code : 'WORKER_ERROR';
    await bus.report({ kind: 'failed', ...base, error: { code, message: message(e) }, rateLimited: false, at: now() });
    return 'failed';
  }
  const progress = throttledProgress((p) => bus.progress(p), base);
  const executor = deps.executor ?? SINGLE_CALL;
  let calls = 0;
  let lastHeaders: Record<string, string> | undefined;
  /** One model call with the tier's retries; charged under its own usage id. */
  const call: ModelCall = async (request) => {
    if (calls >= executor.maxCalls) {
      throw new KoubouError('CALL_BUDGET_EXCEEDED', `the ${executor.name} executor tried call ${calls + 1} of at most ${executor.maxCalls}`);
    }
    const n = ++calls;
    for (let retry = 0; ; retry++) {
      if (signal.aborted) return { ok: false, outcome: await aborted(deps, item, signal) };
      let result: GenerateResult;
      try {
        result = await callProvider(deps.provider, { ...request, signal, onProgress: progress.onProgress });
      } catch (e) {
        if (signal.aborted) return { ok: false, outcome: await aborted(deps, item, signal) };
        const err = asProviderError(e);
        if (deps.hostFailed?.(err, deliveries)) {
          await publishExecution(deps, measured({ messages, error: err.code }));
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
          const execution = measured({ messages, error: err.code });
          await bus.report({ kind: 'failed', ...base, error: { code: err.code, message: err.message + suffix }, rateLimited: false, at: now() });
          await publishExecution(deps, execution);
          return { ok: false, outcome: 'failed' };
        }
        const backoff = tierConfig.retry.delay_seconds * 1000 * 2 ** retry;
        await sleep(Math.max(backoff, err.retryAfterMs ?? 0) * deps.retryDelayScale, signal);
        continue;
      }
      const costUsd = costFor(deps, result);
      // Charged as soon as the call ends: once the task is reported completed, every call's cost is on the ledger's stream.
      await bus.usage({
        usageId: `${item.taskId}:${item.attempt}:${n}`, ...base, tier: deps.tier, model: result.model, ...result.usage,
        costUsd, reservationId: item.reservationId, at: now(),
      });
      if (result.rateLimitHeaders && Object.keys(result.rateLimitHeaders).length > 0) lastHeaders = result.rateLimitHeaders;
      return { ok: true, result, costUsd };
    }
  };
  let ran: Awaited<ReturnType<Executor['run']>>;
  try {
    ran = await executor.run({ item, tierConfig, messages, signal, call });
  } finally {
    progress.cancel();
  }
  if (!ran.ok) return ran.outcome;
  const { text, model, usage, costUsd, files, patch } = ran.result;
  const execution = measured({ messages, result: { text, model, usage } });
  await bus.report({
    kind: 'completed', taskId: item.taskId, attempt: item.attempt,
    result: { text, model, workerId, usage, costUsd, ...(files ? { files } : {}), ...(patch !== undefined ? { patch } : {}) }, at: now(),
  });
  await publishExecution(deps, execution);
  if (lastHeaders) await signalRateLimit(deps, 200, lastHeaders);
  return 'completed';
}

interface Measured {
  messages: ChatMessage[];
  result?: Pick<GenerateResult, 'text' | 'model' | 'usage'>;
  error?: string;
  deliveries: number;
  started: number;
}

/** How this execution went (a worker_metrics row), timed up to now; the ledger measures performance factors from these. */
function executionOf(deps: TaskRunnerDeps, item: WorkItem, m: Measured): Execution {
  return {
    executionId: `${item.taskId}:${item.attempt}:${deps.workerId}:${m.deliveries}`,
    taskId: item.taskId, attempt: item.attempt, workerId: deps.workerId, tier: deps.tier,
    success: m.result !== undefined, errorType: m.error ?? null,
    executionTimeMs: Math.max(0, Date.now() - m.started),
    promptTokens: m.result?.usage.promptTokens ?? null, outputTokens: m.result?.usage.completionTokens ?? null,
    promptLength: m.messages.reduce((n, msg) => n + msg.content.length, 0),
    outputLength: m.result?.text.length ?? null, at: now(),
  };
}

/** Best effort: a metric never fails a task. */
async function publishExecution(deps: TaskRunnerDeps, execution: Execution): Promise<void> {
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

async function aborted(deps: TaskRunnerDeps, item: WorkItem, signal: AbortSignal): Promise<TaskOutcome> {
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
async function signalRateLimit(deps: TaskRunnerDeps, status: number, headers: Record<string, string>): Promise<void> {
  if (!deps.tierConfig.cloud) return;
  try {
    await deps.bus.rateLimit({ tier: deps.tier, headers, status, at: now() });
  } catch (e) {
    deps.log(`worker ${deps.workerId}: rate-limit signal not published: ${message(e)}`);
  }
}

/** A message that is not a work item for this tier: rejected and terminated, so it never blocks the queue. */
async function refuse(deps: TaskRunnerDeps, msg: JsMsg, e: unknown): Promise<void> {
  const reason = message(e);
  try {
    await deps.bus.rejection({ subject: msg.subject, reason, taskId: taskIdOf(msg.data), excerpt: excerptOf(msg.data), by: deps.workerId, at: now() });
  } catch (pe) {
    deps.log(`worker ${deps.workerId}: rejection not published: ${message(pe)}`);
  }
  settle(msg, 'term');
  deps.log(`worker ${deps.workerId}: rejected ${msg.subject}: ${reason}`);
}

/** Acks never throw: on a closed connection the message simply goes back after ack_wait. */
function settle(msg: JsMsg, how: 'ack' | 'nak' | 'term' | 'working'): void {
  try {
    if (how === 'ack') msg.ack();
    else if (how === 'nak') msg.nak();
    // No reason: nats-server 2.9 ignores a `+TERM <reason>` altogether (the reason is in the rejection).
    else if (how === 'term') msg.term();
    else msg.working();
  } catch {
    // Connection closed.
  }
}

function excerptOf(data: Uint8Array): string {
  return new TextDecoder().decode(data.subarray(0, 800)).slice(0, 200);
}

function taskIdOf(data: Uint8Array): string | null {
  try {
    const id = (JSON.parse(new TextDecoder().decode(data)) as { taskId?: unknown })?.taskId;
    return typeof id === 'string' && SAFE_TOKEN.test(id) ? id : null;
  } catch {
    return null;
  }
}
