/**
 * What runs a task, and so what its attempt on a tier may cost: the one decision that the
 * reservation (createRoutingSteps), the queue (the router's dispatch), the worker (which checks
 * each paid call against the reservation) and docs/protocol.md all follow.
 */
import type { TierConfig } from '../config/index.ts';
import type { TaskInput } from '../core/types.ts';
import { promptFor, PromptTooLargeError, sentPromptTokens, type OverflowPolicy, type PromptSource } from '../context/index.ts';
import { estimateWorstCase, type ModelPrice } from '../policy/index.ts';

/** `single_call`: the worker makes the model calls itself. `agent`: a coding agent whose every model request is a gateway task of its own. */
export type ExecutorKind = 'single_call' | 'agent';

/**
 * The executor of a task: the one its submission names, else `agent` for a task with a workspace
 * and `single_call` for one without. A `single_call` task with a workspace is run as what it
 * says, one model call on its prompt and files (the workspace is scanned with the task, but not
 * sent to the worker), and reserved as such.
 *
 * @example
 * executorOf({ workspace: ref });                         // 'agent'
 * executorOf({ workspace: ref, executor: 'single_call' }); // 'single_call'
 * executorOf({});                                         // 'single_call'
 */
export function executorOf(task: Pick<TaskInput, 'executor' | 'workspace'>): ExecutorKind {
  return task.executor ?? (task.workspace ? 'agent' : 'single_call');
}

/** What the router reserves for one attempt of a task on a tier, and why. */
export interface AttemptReservation {
  executor: ExecutorKind;
  /** Model calls the attempt's worker may make itself (paid ones, on a cloud tier). */
  paidCalls: number;
  /** Prompt tokens of each call, as `sentPromptTokens` counts what the worker sends. */
  promptTokens: number;
  /** `paidCalls` × the worst case of one call (every prompt token uncached, the output to its cap). */
  amountUsd: number;
}

/**
 * The worst case of one attempt of `task` on a tier. An agent's worker makes no model call: each
 * of its agent's requests comes back through the gateway as a task of its own and is reserved
 * then, so the agent's task reserves nothing. A single call reserves the tier's
 * `max_calls_per_attempt` calls of the prompt the worker will send (a conversation with its
 * tools, or koubou's prompt fitted to the window); a prompt too large for the window is reserved
 * at the whole window, the most any call of that tier can send.
 *
 * @example
 * reservationFor(task, config.tiers.gpt5_high, prices['gpt-5'], 'refuse').amountUsd; // e.g. 1.2925
 */
export function reservationFor(task: PromptSource & Pick<TaskInput, 'executor' | 'workspace'>, tier: TierConfig, price: ModelPrice, policy: OverflowPolicy): AttemptReservation {
  const executor = executorOf(task);
  if (executor === 'agent') return { executor, paidCalls: 0, promptTokens: 0, amountUsd: 0 };
  const paidCalls = tier.cloud ? tier.max_calls_per_attempt : 0;
  if (paidCalls === 0) return { executor, paidCalls, promptTokens: 0, amountUsd: 0 };
  const promptTokens = promptTokensFor(task, tier, policy);
  return { executor, paidCalls, promptTokens, amountUsd: paidCalls * estimateWorstCase(promptTokens, tier.max_output_tokens, price) };
}

function promptTokensFor(task: PromptSource, tier: TierConfig, policy: OverflowPolicy): number {
  try {
    const { messages, tools } = promptFor(task, tier, policy);
    return sentPromptTokens(messages, tools);
  } catch (e) {
    // The worker will refuse it too (PROMPT_TOO_LARGE) before any call; the window bounds it anyway.
    if (e instanceof PromptTooLargeError) return tier.context_window;
    throw e;
  }
}
