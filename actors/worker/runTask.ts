import type { JsMsg } from '@nats-io/jetstream';
import { decode, MessageError, SAFE_TOKEN, workItemSchema, type Execution, type UsageEvent, type WorkItem } from '../../src/bus/index.ts';
import { promptFor } from '../../src/context/index.ts';
import { KoubouError } from '../../src/core/errors.ts';
import type { ChatMessage, GenerateResult, OutputDelta } from '../../src/llm/Provider.ts';
import { throttledProgress } from './callProvider.ts';
import type { Executor } from './executors/Executor.ts';
import { SingleCallExecutor } from './executors/SingleCallExecutor.ts';
import { HeldStart } from './HeldStart.ts';
import { KeptUsage } from './KeptUsage.ts';
import { aborted, createModelCall, publishExecution, signalRateLimit } from './modelCall.ts';
import type { TaskOutcome } from './TaskOutcome.ts';
import type { AbortReason, TaskRunnerDeps } from './TaskRunnerDeps.ts';

export type { AbortReason, TaskOutcome, TaskRunnerDeps };

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
  // `started` waits a moment: a fast call folds it into its outcome report (protocol 3).
  const held = new HeldStart(deps.bus, deps.holdStartMs);
  // A call's usage kept for the execution message is on the bus before any outcome (protocol 4).
  const kept = new KeptUsage();
  deps = { ...deps, bus: kept.wrap(held.wrap()) };
  try {
    const outcome = await executeWorkItem(deps, item, controller.signal, msg.info.deliveryCount, started, kept);
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
    held.cancel();
    clearInterval(keepAlive);
    untrack();
  }
}

/**
 * Runs one attempt of a work item, already decoded, and reports its outcome on `deps.bus`: what a
 * worker does with a delivery between taking it and acking it. A gateway running an interactive
 * request's call itself runs the same attempt with a bus of its own (actors/gateway/interactive).
 *
 * @example
 * const kept = new KeptUsage();
 * const outcome = await executeWorkItem({ ...deps, bus: kept.wrap(bus) }, item, controller.signal, 1, Date.now(), kept);
 */
export async function executeWorkItem(
  deps: TaskRunnerDeps, item: WorkItem, signal: AbortSignal, deliveries: number, started: number, kept: KeptUsage,
): Promise<TaskOutcome> {
  const { bus, workerId, tierConfig } = deps;
  const base = { taskId: item.taskId, attempt: item.attempt, workerId };
  // Measured when the call ends. Published after the outcome is reported (it must not hold the
  // answer back), unless it carries the call's usage: then before, as the charge must be (protocol 4).
  const measured = (m: Omit<Measured, 'deliveries' | 'started'>) => executionOf(deps, item, { ...m, deliveries, started });
  await bus.report({ kind: 'started', ...base, at: now() });
  let messages: ChatMessage[];
  try {
    // A conversation (from an API client) goes to the model as the client sent it: its own context is its to manage.
    // The same prompt the router counted to reserve for (promptFor).
    messages = promptFor(item, { name: deps.tier, ...tierConfig }, deps.overflowPolicy).messages;
  } catch (e) {
    // PROMPT_TOO_LARGE: no retry can make the prompt smaller; the message says by how much it is over.
    const code = e instanceof KoubouError ? e.code : 'WORKER_ERROR';
    await bus.report({ kind: 'failed', ...base, error: { code, message: message(e) }, rateLimited: false, at: now() });
    return 'failed';
  }
  const progress = throttledProgress((p) => bus.progress(p), base);
  const executor = deps.executor ?? SINGLE_CALL;
  // Output streams on to the gateway only when its client asked for a stream: nobody listens otherwise.
  let seq = 0;
  const onDelta = streamsOutput(item)
    ? (d: OutputDelta) => bus.stream({ taskId: item.taskId, attempt: item.attempt, seq: seq++, ...d })
    : undefined;
  const modelCall = createModelCall({
    deps, item, signal, deliveries, maxCalls: executor.maxCalls, executorName: executor.name,
    onProgress: deps.reportsProgress === false ? undefined : progress.onProgress, onDelta, onFailure: (code) => measured({ messages, error: code }),
    // One call: its usage rides in the execution message, sent before the outcome (protocol 4).
    ...(executor.maxCalls === 1 ? { keepUsage: (u: UsageEvent) => kept.keep(u) } : {}),
  });
  let ran: Awaited<ReturnType<Executor['run']>>;
  try {
    ran = await executor.run({
      item, tierConfig, messages, signal, call: modelCall.call,
      fail: async (code, text) => {
        await bus.report({ kind: 'failed', ...base, error: { code, message: text }, rateLimited: false, at: now() });
        await publishExecution(deps, measured({ messages, error: code }));
        return 'failed';
      },
      cancelled: () => aborted(deps, item, signal),
      progress: (activity) => bus.progress({ ...base, tokens: 0, tokensPerSecond: 0, activity: activity.slice(0, 500), at: now() }),
    });
  } finally {
    progress.cancel();
  }
  if (!ran.ok) return ran.outcome;
  const { text, model, usage, costUsd, files, patch, toolCalls, agent } = ran.result;
  const calls = kept.take();
  const execution = measured({ messages, result: { text, model, usage }, calls });
  // Carrying a charge, the execution goes first and must be stored (else the attempt is redone);
  // a metric alone goes after the outcome, best effort: it must not hold the answer back.
  if (calls.length > 0) await bus.execution(execution);
  await bus.report({
    kind: 'completed', taskId: item.taskId, attempt: item.attempt,
    result: { text, model, workerId, usage, costUsd, ...(files ? { files } : {}), ...(patch !== undefined ? { patch } : {}), ...(toolCalls?.length ? { toolCalls } : {}), ...(agent ? { agent } : {}) }, at: now(),
  });
  if (calls.length === 0) await publishExecution(deps, execution);
  const headers = modelCall.lastHeaders();
  if (headers) await signalRateLimit(deps, 200, headers);
  return 'completed';
}

/**
 * Whether the attempt's output is published as it is made: when the client asked for a stream;
 * a work item from an older router, which does not say, streams a conversation's output as before.
 */
export function streamsOutput(item: Pick<WorkItem, 'stream' | 'conversation'>): boolean {
  return item.stream ?? item.conversation !== undefined;
}

interface Measured {
  messages: ChatMessage[];
  result?: Pick<GenerateResult, 'text' | 'model' | 'usage'>;
  error?: string;
  /** Usage this message charges (protocol 4). */
  calls?: UsageEvent[];
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
    outputLength: m.result?.text.length ?? null, ...(m.calls?.length ? { calls: m.calls } : {}), at: now(),
  };
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
