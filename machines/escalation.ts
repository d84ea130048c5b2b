/**
 * Verify, then escalate: the task machine's steps after an agent's attempt returns with the
 * outcome of the task's test command. Tests that pass complete the task; tests that fail send it
 * one tier up the chain (the fallback order reversed: local → gpt5_medium → gpt5_high), at most
 * `policy.escalationMaxSteps` times, with the failed attempt's change and test output for the
 * next prompt. Work that must stay local (confidential) is tried again on local instead. Pure
 * functions of context, event and params, like the rest of the machine.
 */
import type { Tier } from '../src/core/types.ts';
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

/**
 * The tests failed and a step is left: one tier up exists from the task's tier (`climbable` lists
 * the tiers that have one), or the work must stay local and is on local (it is tried there again).
 */
export const canEscalate = ({ context }: Pick<Args, 'context'>, params: { climbable: Tier[] }): boolean => {
  if (testsPassed({ context }) || (context.escalations ?? []).length >= (context.policy.escalationMaxSteps ?? 0)) return false;
  return mustStayLocal({ context }) ? context.tier === 'local' : params.climbable.includes(context.tier!);
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

/** Failed tests with no step left: the task completes with them, and says why it went no higher. */
export const traceNoEscalation = ({ context }: Args): Patch => ({
  trace: trace(context, {
    state: 'Verify', tier: context.tier!,
    reason: `no escalation: ${(context.escalations ?? []).length} of ${context.policy.escalationMaxSteps ?? 0} steps taken, or no tier above ${context.tier} for this task`,
  }),
});

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
