import { fromPromise, raise } from 'xstate';
import { tierOf } from '../config/index.ts';
import { expectedOutputTokens, type KoubouConfig } from '../config/index.ts';
import type { TaskInput, Tier } from '../core/types.ts';
import { evaluateBudget, yearMonthOf, evaluateDifficulty, type DifficultyOptions, estimateWorstCase, priceFor, type ModelPrice } from '../policy/index.ts';
import type { DispatchInput, RateLimitVerdict, Reservation, TaskContext, TaskEvent } from '../../machines/task.types.ts';
import type { SensitivityResult } from '../core/types.ts';
import type { RoutingServices } from './RoutingServices.ts';

/** Difficulty options from the `routing.difficulty` config section. */
export function difficultyOptions(config: KoubouConfig): DifficultyOptions {
  const { indicators, thresholds } = config.routing.difficulty;
  return { indicators, thresholds };
}

/** Config prices (USD per 1M tokens) in the pricing module's shape. */
export function priceTable(config: KoubouConfig): Record<string, ModelPrice> {
  return Object.fromEntries(
    Object.entries(config.pricing).map(([model, p]) => [
      model,
      { inputPerMTok: p.input, cachedInputPerMTok: p.cached_input, outputPerMTok: p.output },
    ]),
  );
}

/** The reservation id for a task's attempt on a tier: replaying it reserves nothing twice. */
export const reservationIdOf = (taskId: string, tier: Tier, attempt: number): string => `${taskId}:${tier}:${attempt}`;

/**
 * The task machine's actors and actions, implemented with koubou's policies over
 * the given services.
 *
 * @example
 * const machine = taskMachine.provide(createRoutingActors(config, services));
 */
export function createRoutingActors(config: KoubouConfig, services: RoutingServices) {
  const diffOptions = difficultyOptions(config);
  const prices = priceTable(config);
  return {
    actors: {
      analyzeSensitivity: fromPromise<SensitivityResult, TaskInput>(({ input }: { input: TaskInput }) => services.scanSensitivity(input)),
      checkRateLimit: fromPromise<RateLimitVerdict, { taskId: string; tier: Tier; tokens: number }>(async ({ input }) => {
        const tierConfig = tierOf(config, input.tier);
        // The window counts what the call is expected to use (prompt + expected output); the
        // router replaces it by the provider's count when the call ends. The worst case
        // (max_output_tokens) is for the budget reservation only.
        const check = await services.checkRateLimit(input.tier, input.tokens + expectedOutputTokens(tierConfig), input.taskId);
        return { ...check, now: services.now() };
      }),
      reserveBudget: fromPromise<Reservation, { task: TaskInput; tier: Tier; attempt: number; tokens: number }>(async ({ input }) => {
        const tierConfig = tierOf(config, input.tier);
        // Every call the attempt may make, each at its worst case. An agent makes its calls through the
        // gateway, each a task of its own that reserves before it runs: the agent's task reserves nothing.
        const amountUsd = input.task.workspace ? 0
          : tierConfig.max_calls_per_attempt * estimateWorstCase(input.tokens, tierConfig.max_output_tokens, priceFor(tierConfig.model, prices));
        const reservationId = reservationIdOf(input.task.taskId, input.tier, input.attempt);
        const answer = await services.reserveBudget({
          reservationId, taskId: input.task.taskId, tier: input.tier, amountUsd, yearMonth: yearMonthOf(services.now()),
          ...(input.task.clientKey ? { clientKey: input.task.clientKey } : {}),
        });
        return { granted: answer.granted, reservationId: answer.granted ? reservationId : null, amountUsd, reason: answer.reason };
      }),
      dispatchWork: fromPromise<void, DispatchInput>(({ input }) => services.dispatch(input)),
    },
    actions: {
      // The pure steps answer in the step that enters them (see the machine's setup).
      evaluateDifficulty: raise<TaskContext, TaskEvent, TaskEvent, unknown, never, never>(({ context }: { context: TaskContext }): TaskEvent => {
        const { type, prompt, files } = context.task;
        try {
          return { type: 'DIFFICULTY_EVALUATED', output: evaluateDifficulty({ type, prompt, files }, diffOptions) };
        } catch (error) {
          return { type: 'DIFFICULTY_FAILED', error };
        }
      }),
      checkBudget: raise<TaskContext, TaskEvent, TaskEvent, unknown, never, never>((): TaskEvent => {
        try {
          const status = evaluateBudget(services.budgetState());
          return { type: 'BUDGET_CHECKED', output: { critical: status.critical, percentUsed: status.percentUsed, remainingUsd: status.remainingUsd } };
        } catch (error) {
          return { type: 'BUDGET_UNAVAILABLE', error };
        }
      }),
      releaseReservation: ({ context }: { context: TaskContext }) => {
        if (context.reservation?.reservationId) services.releaseReservation(context.reservation.reservationId);
      },
      abortWork: ({ context }: { context: TaskContext }) => services.abortWork(context.task.taskId),
    },
  };
}
