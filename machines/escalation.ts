/**
 * Verify, then escalate: the task machine's steps after an agent's attempt returns with the
 * outcome of the task's test command. Tests that pass complete the task; tests that fail send it
 * one tier up the chain (the fallback order reversed: local → gpt5_medium → gpt5_high), at most
 * `policy.escalationMaxSteps` times, with the failed attempt's change and test output for the
 * next prompt. Work that must stay local (confidential) is tried again on local instead. Pure
 * functions of context, event and params, like the rest of the machine.
 *
 * Two things stop a climb, and the task then completes with its failed test outcome and a line
 * saying why it went no higher:
 * - **A pin.** A task the client pinned to a tier (`pinnedTier`) climbs no higher than its pin: on
 *   its pin it stays there; below it (a fallback moved it down) it may climb back up to it. A pin
 *   the chain does not hold stops every climb. Confidential work's retry on local is never past a pin.
 * - **The month's budget.** Escalate checks the budget afresh (the router's `checkBudget`, the
 *   rule of src/policy/budget.ts: spent + reserved at the alert threshold is critical) before it
 *   climbs; critical, or unknown, and no climb to a paid tier is made, whatever the difficulty:
 *   the routing gave the task its tier, a retry higher is spend the month cannot afford.
 *
 * @example
 * canEscalate({ context }, { climbable: ['gpt5_medium', 'local'], order: ['gpt5_high', 'gpt5_medium', 'local'] });
 * // false for a task pinned to gpt5_medium whose tests failed on gpt5_medium
 */
import type { Tier } from '../src/core/types.ts';
import { BUDGET_UNKNOWN } from './task.actions.ts';
import { mustStayLocal } from './task.guards.ts';
import type { AttemptFeedback, EscalationRecord, TaskContext, TaskEvent, TaskResult, TraceEntry } from './task.types.ts';

type Args = { context: TaskContext; event: TaskEvent | { type: string; [k: string]: unknown } };
type Patch = Partial<TaskContext>;

/** The failed attempt's diff travels in the next prompt up to this many characters (its end is cut). */
export const FEEDBACK_DIFF_CHARS = 16_000;

const trace = (context: TaskContext, entry: TraceEntry): TraceEntry[] => [...context.trace, entry];
const testOf = (result: TaskResult | null | undefined) => result?.agent?.test;
const outcomeText = (context: TaskContext): string => {
  const test = testOf(context.result);
  return test ? `\`${test.command}\` ${test.exitCode === null ? 'was killed' : `exited ${test.exitCode}`}` : 'no test outcome';
};

/** The attempt came back with a test outcome to verify (agent tasks with `agent.test`). */
export const carriesTestOutcome = ({ event }: Pick<Args, 'event'>): boolean =>
  event.type === 'WORK_COMPLETED' && testOf((event as Extract<TaskEvent, { type: 'WORK_COMPLETED' }>).result) !== undefined;

/** The tests of the returned attempt passed (exit 0). */
export const testsPassed = ({ context }: Pick<Args, 'context'>): boolean => testOf(context.result)?.exitCode === 0;

/** The chain's tiers, first (highest) to last (local), and those that have a tier above them. */
export interface ChainParams { order: Tier[]; climbable: Tier[] }

const stepsLeft = (context: TaskContext): boolean => (context.escalations ?? []).length < (context.policy.escalationMaxSteps ?? 0);
/** The tier one up from the task's, or null at the top of the chain. */
const upOf = (context: TaskContext, params: ChainParams): Tier | null =>
  params.climbable.includes(context.tier!) ? params.order[params.order.indexOf(context.tier!) - 1]! : null;
/** The tier `to` is not past the task's pin (no pin: anything goes; a pin the chain lacks: nothing does). */
const withinPin = (context: TaskContext, params: ChainParams, to: Tier): boolean => {
  const pin = context.task.pinnedTier;
  if (pin === undefined) return true;
  return params.order.includes(pin) && params.order.indexOf(to) >= params.order.indexOf(pin);
};

/**
 * The tests failed and a step is left: one tier up exists from the task's tier and is not past
 * its pin, or the work must stay local and is on local (it is tried there again). The budget is
 * checked afterwards, in Escalate.
 */
export const canEscalate = ({ context }: Pick<Args, 'context'>, params: ChainParams): boolean => {
  if (testsPassed({ context }) || !stepsLeft(context)) return false;
  if (mustStayLocal({ context })) return context.tier === 'local';
  const up = upOf(context, params);
  return up !== null && withinPin(context, params, up);
};

/** The budget stops a climb to a paid tier: critical, or unknown (no ledger heard from). */
export const budgetStopsClimb = ({ context }: Pick<Args, 'context'>): boolean => context.budget?.critical !== false;

/**
 * Escalate's fresh look at the month's budget (BUDGET_CHECKED), or none to be had
 * (BUDGET_UNAVAILABLE: read as critical, as CheckBudget reads it), with its line in the trace.
 */
export const assignEscalationBudget = ({ context, event }: Args): Patch => {
  const checked = event.type === 'BUDGET_CHECKED' ? (event as Extract<TaskEvent, { type: 'BUDGET_CHECKED' }>).output : null;
  const error = (event as { error?: unknown }).error;
  const reason = checked
    ? `${checked.percentUsed.toFixed(1)}% of the monthly budget committed${checked.critical ? ' (critical)' : ''}`
    : `budget unavailable (${error instanceof Error ? error.message : String(error)}): paid tiers are not used`;
  return {
    budget: checked ?? BUDGET_UNKNOWN,
    trace: trace(context, { state: 'Escalate.CheckBudget', tier: context.tier!, reason }),
  };
};

/** The attempt's result, held while its tests are verified. */
export const holdResult = ({ context, event }: Args): Patch => {
  const result = (event as Extract<TaskEvent, { type: 'WORK_COMPLETED' }>).result;
  return { result, workerId: result.workerId, trace: trace(context, { state: 'InProgress', tier: context.tier!, reason: `returned by ${result.workerId}, tests to verify` }) };
};

/** The Verify state's line: what the tests said. */
export const traceVerify = ({ context }: Args): Patch => ({
  trace: trace(context, {
    state: 'Verify', tier: context.tier!,
    reason: `tests ${testsPassed({ context }) ? 'passed' : 'failed'} on ${context.tier}: ${outcomeText(context)}`,
    tests: { passed: testsPassed({ context }), exitCode: testOf(context.result)?.exitCode ?? null, attempt: context.attempt },
  }),
});

/** Why Verify sends the failed attempt no higher: steps, the top of the chain, or the pin. */
const whyNoStep = (context: TaskContext, params: ChainParams): string => {
  const taken = (context.escalations ?? []).length;
  if (!stepsLeft(context)) return `${taken} of ${context.policy.escalationMaxSteps ?? 0} steps taken`;
  const up = upOf(context, params);
  if (up === null) return `no tier above ${context.tier} for this task`;
  return `pinned by the client to ${context.task.pinnedTier}: ${up} is past the pin`;
};

/** Failed tests with no step left: the task completes with them, and says why it went no higher. */
export const traceNoEscalation = ({ context }: Args, params: ChainParams): Patch => ({
  trace: trace(context, { state: 'Verify', tier: context.tier!, reason: `no escalation: ${whyNoStep(context, params)}` }),
});

/**
 * Escalate found the budget critical (or unknown): no climb to a paid tier. The task completes with
 * the attempt held in Verify, its failed tests, and the reason.
 */
export const completeWithoutClimb = ({ context }: Args): Patch => {
  const result = context.result!;
  return {
    workerId: result.workerId,
    trace: [
      ...context.trace,
      { state: 'Escalate', tier: context.tier!, reason: `no escalation: the monthly budget is critical or unknown, so no paid tier above ${context.tier} is tried; the task ends with its failed tests (${outcomeText(context)})` },
      { state: 'Completed', tier: context.tier!, reason: `completed by ${result.workerId}` },
    ],
  };
};

/** Leaves the task's tier for `to` after failed tests: the record, the feedback for the next prompt, a clean attempt. */
export const escalate = ({ context }: Args, params: { to: Tier }): Patch => {
  const test = testOf(context.result)!;
  const from = context.tier!;
  const step = (context.escalations ?? []).length + 1;
  const diff = context.result?.patch ?? '';
  const feedback: AttemptFeedback = {
    tier: from,
    diff: diff.length > FEEDBACK_DIFF_CHARS ? `${diff.slice(0, FEEDBACK_DIFF_CHARS)}\n[… ${diff.length - FEEDBACK_DIFF_CHARS} characters cut]` : diff,
    test,
  };
  const reason = from === params.to
    ? `tests failed on ${from} (${outcomeText(context)}); confidential work is tried again on local, never higher`
    : `tests failed on ${from} (${outcomeText(context)})`;
  const record: EscalationRecord = { from, to: params.to, step, reason };
  return {
    escalations: [...(context.escalations ?? []), record],
    feedback,
    result: null,
    workerId: null,
    reservation: null,
    trace: trace(context, {
      state: 'Escalate', tier: params.to,
      reason: `${from} → ${params.to}: ${reason}, step ${step} of ${context.policy.escalationMaxSteps ?? 0}`,
      escalation: record,
    }),
  };
};
