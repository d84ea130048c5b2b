/** Fakes for the task machine's routing steps (the actions it names), driven by plain data. */
import { raise } from 'xstate';
import { answerStep, dispatchInputOf, reservationIdOf, type StepSelf } from '../../src/routing/index.ts';
import type { DifficultyLevel, SensitivityLevel, TaskInput, Tier } from '../../src/core/types.ts';
import type { BudgetCheck, RateLimitVerdict, Reservation, TaskContext, TaskEvent, TaskPolicy } from '../../machines/task.types.ts';

export const policy: TaskPolicy = { maxRateLimitWaitMs: 10_000, internalStaysLocal: false };

let seq = 0;
export function makeTask(overrides: Partial<TaskInput> = {}): TaskInput {
  seq += 1;
  return { taskId: `t-${seq}`, type: 'general', priority: 5, prompt: 'do something', files: [], ...overrides };
}

export interface FakeScript {
  sensitivity?: SensitivityLevel;
  difficulty?: DifficultyLevel;
  /** The budget's answers, in order (routing's CheckBudget, then each Escalate's); the last one repeats. */
  budget?: Partial<BudgetCheck> | Error | (Partial<BudgetCheck> | Error)[];
  /** Rate-limit answers per tier, consumed in order; the last one repeats. */
  rateLimit?: Partial<Record<'gpt5_high' | 'gpt5_medium', Partial<RateLimitVerdict>[]>>;
  reserve?: Partial<Record<'gpt5_high' | 'gpt5_medium', boolean>>;
}

/** Records every call the machine makes to its actions. */
export interface CallLog {
  rateLimitChecks: string[];
  reservations: string[];
  dispatched: { tier: string; attempt: number; reservationId: string | null }[];
  released: number;
  aborted: number;
  /** How many times the budget was asked (routing, then each escalation). */
  budgetChecks: number;
}

type Args = { context: TaskContext; self: StepSelf };

export function fakeSteps(script: FakeScript, clockNow: () => number = () => 0) {
  const log: CallLog = { rateLimitChecks: [], reservations: [], dispatched: [], released: 0, aborted: 0, budgetChecks: 0 };
  const seen: Record<string, number> = {};
  // The I/O steps answer later, as the router's do (answerStep); the pure steps raise theirs.
  const io = {
    analyzeSensitivity: ({ self }: Args) => answerStep(self, async () => {
      const level = script.sensitivity ?? 'public';
      return { level, categories: level === 'confidential' ? ['credential'] : level === 'internal' ? ['internal_marker'] : [], findings: [] };
    }, (output) => ({ type: 'SENSITIVITY_ANALYZED', output }), (error) => ({ type: 'SENSITIVITY_FAILED', error })),
    checkRateLimit: ({ self }: Args, { tier }: { tier: Tier }) => answerStep(self, async () => {
      log.rateLimitChecks.push(tier);
      const answers = script.rateLimit?.[tier as 'gpt5_high' | 'gpt5_medium'] ?? [{}];
      const i = Math.min(seen[tier] ?? 0, answers.length - 1);
      seen[tier] = (seen[tier] ?? 0) + 1;
      return { available: true, waitMs: 0, reason: 'scripted', now: clockNow(), ...answers[i] };
    }, (output) => ({ type: 'RATE_LIMIT_CHECKED', output }), (error) => ({ type: 'RATE_LIMIT_FAILED', error })),
    reserveBudget: ({ context, self }: Args, { tier }: { tier: Tier }) => answerStep(self, async (): Promise<Reservation> => {
      log.reservations.push(tier);
      const granted = script.reserve?.[tier as 'gpt5_high' | 'gpt5_medium'] ?? true;
      const attempt = context.attempt + 1;
      return { granted, reservationId: granted ? reservationIdOf(context.task.taskId, tier, attempt) : null, amountUsd: 0.5, reason: granted ? 'ok' : 'would exceed the monthly limit' };
    }, (output) => ({ type: 'RESERVATION_ANSWERED', output }), (error) => ({ type: 'RESERVATION_FAILED', error })),
    dispatchWork: ({ context, self }: Args) => answerStep(self, async () => {
      const input = dispatchInputOf(context);
      log.dispatched.push({ tier: input.tier, attempt: input.attempt, reservationId: input.reservationId });
    }, () => ({ type: 'WORK_DISPATCHED' }), (error) => ({ type: 'DISPATCH_FAILED', error })),
  };
  const actions = {
    ...io,
    // The pure steps answer as the router's do: raised in the step that enters them.
    evaluateDifficulty: raise<TaskContext, TaskEvent, TaskEvent, unknown, never, never>({
      type: 'DIFFICULTY_EVALUATED', output: { level: script.difficulty ?? 'medium', score: 0, reasons: ['scripted'], tokens: 100 },
    }),
    checkBudget: raise<TaskContext, TaskEvent, TaskEvent, unknown, never, never>((): TaskEvent => {
      const answers = Array.isArray(script.budget) ? script.budget : [script.budget];
      const answer = answers[Math.min(log.budgetChecks++, answers.length - 1)];
      return answer instanceof Error
        ? { type: 'BUDGET_UNAVAILABLE', error: answer }
        : { type: 'BUDGET_CHECKED', output: { critical: false, percentUsed: 10, remainingUsd: 90, ...answer } };
    }),
    releaseReservation: () => { log.released += 1; },
    abortWork: () => { log.aborted += 1; },
  };
  return { actions, log };
}
