/** Fakes for the task machine's named actors and its pure steps' actions, driven by plain data. */
import { fromPromise, raise } from 'xstate';
import type { DifficultyLevel, SensitivityLevel, TaskInput } from '../../src/core/types.ts';
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
  budget?: Partial<BudgetCheck> | Error;
  /** Rate-limit answers per tier, consumed in order; the last one repeats. */
  rateLimit?: Partial<Record<'gpt5_high' | 'gpt5_medium', Partial<RateLimitVerdict>[]>>;
  reserve?: Partial<Record<'gpt5_high' | 'gpt5_medium', boolean>>;
}

/** Records every call the machine makes to its actors and actions. */
export interface CallLog {
  rateLimitChecks: string[];
  reservations: string[];
  dispatched: { tier: string; attempt: number; reservationId: string | null }[];
  released: number;
  aborted: number;
}

export function fakeActors(script: FakeScript, clockNow: () => number = () => 0) {
  const log: CallLog = { rateLimitChecks: [], reservations: [], dispatched: [], released: 0, aborted: 0 };
  const seen: Record<string, number> = {};
  const actors = {
    analyzeSensitivity: fromPromise(async () => {
      const level = script.sensitivity ?? 'public';
      return { level, categories: level === 'confidential' ? ['credential'] : level === 'internal' ? ['internal_marker'] : [], findings: [] };
    }),
    checkRateLimit: fromPromise(async ({ input }: { input: { tier: 'gpt5_high' | 'gpt5_medium' } }) => {
      log.rateLimitChecks.push(input.tier);
      const answers = script.rateLimit?.[input.tier] ?? [{}];
      const i = Math.min(seen[input.tier] ?? 0, answers.length - 1);
      seen[input.tier] = (seen[input.tier] ?? 0) + 1;
      return { available: true, waitMs: 0, reason: 'scripted', now: clockNow(), ...answers[i] };
    }),
    reserveBudget: fromPromise(async ({ input }: { input: { tier: 'gpt5_high' | 'gpt5_medium'; attempt: number; task: TaskInput } }): Promise<Reservation> => {
      log.reservations.push(input.tier);
      const granted = script.reserve?.[input.tier] ?? true;
      return { granted, reservationId: granted ? `${input.task.taskId}:${input.attempt}` : null, amountUsd: 0.5, reason: granted ? 'ok' : 'would exceed the monthly limit' };
    }),
    dispatchWork: fromPromise(async ({ input }: { input: { tier: string; attempt: number; reservationId: string | null } }) => {
      log.dispatched.push({ tier: input.tier, attempt: input.attempt, reservationId: input.reservationId });
    }),
  };
  const actions = {
    // The pure steps answer as the router's do: raised in the step that enters them.
    evaluateDifficulty: raise<TaskContext, TaskEvent, TaskEvent, unknown, never, never>({
      type: 'DIFFICULTY_EVALUATED', output: { level: script.difficulty ?? 'medium', score: 0, reasons: ['scripted'], tokens: 100 },
    }),
    checkBudget: raise<TaskContext, TaskEvent, TaskEvent, unknown, never, never>((): TaskEvent => (script.budget instanceof Error
      ? { type: 'BUDGET_UNAVAILABLE', error: script.budget }
      : { type: 'BUDGET_CHECKED', output: { critical: false, percentUsed: 10, remainingUsd: 90, ...script.budget } })),
    releaseReservation: () => { log.released += 1; },
    abortWork: () => { log.aborted += 1; },
  };
  return { actors, actions, log };
}
