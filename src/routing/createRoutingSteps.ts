import { raise } from 'xstate';
import { tierOf } from '../config/index.ts';
import { expectedOutputTokens, type KoubouConfig } from '../config/index.ts';
import type { TaskInput, Tier } from '../core/types.ts';
import { evaluateBudget, yearMonthOf, judgeDifficulty, type DifficultyOptions, priceFor, type ModelPrice } from '../policy/index.ts';
import type { DispatchInput, RateLimitVerdict, Reservation, TaskContext, TaskEvent } from '../../machines/task.types.ts';
import type { RoutingServices } from './RoutingServices.ts';
import { answerStep, type StepSelf } from './answerStep.ts';
import { reservationFor } from './executorOf.ts';
import { tokensOf } from '../../machines/task.setup.ts';

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

/** What a step's action gets from the machine: its context, and the actor to answer. */
type StepArgs = { context: TaskContext; self: StepSelf };

/** The work item of the task's current attempt, as the machine's Dispatching state holds it. */
export const dispatchInputOf = (context: TaskContext): DispatchInput => {
  // Only this attempt's own reservation goes with it: one held for an earlier attempt on another
  // tier (released when that attempt failed) covers nothing now.
  const r = context.reservation;
  const current = r?.granted && (r.askedAs ?? r.reservationId) === reservationIdOf(context.task.taskId, context.tier!, context.attempt) ? r : null;
  return {
    task: context.task,
    tier: context.tier!,
    sensitivity: context.sensitivity?.level ?? null,
    attempt: context.attempt,
    reservationId: current?.reservationId ?? null,
    reservedUsd: current ? current.amountUsd : null,
    ...(context.feedback ? { feedback: context.feedback } : {}),
  };
};

/**
 * The task machine's routing steps, as the actions it refers to by name, implemented with
 * koubou's policies over the given services. The pure steps raise their answer; the others
 * send it when their service answers (`answerStep`).
 *
 * @example
 * const machine = taskMachine.provide(createRoutingSteps(config, services));
 */
export function createRoutingSteps(config: KoubouConfig, services: RoutingServices) {
  const diffOptions = difficultyOptions(config);
  const prices = priceTable(config);
  const checkRateLimit = async (taskId: string, tier: Tier, tokens: number): Promise<RateLimitVerdict> => {
    const tierConfig = tierOf(config, tier);
    // The window counts what the call is expected to use (prompt + expected output); the
    // router replaces it by the provider's count when the call ends. The worst case
    // (max_output_tokens) is for the budget reservation only.
    const check = await services.checkRateLimit(tier, tokens + expectedOutputTokens(tierConfig), taskId);
    return { ...check, now: services.now() };
  };
  const reserveBudget = async (task: TaskInput, tier: Tier, attempt: number): Promise<Reservation> => {
    const tierConfig = tierOf(config, tier);
    // What runs the task decides what its attempt may cost (executorOf): a single call reserves the
    // worst case of the prompt its worker will send; an agent reserves nothing, since each of its
    // model requests is a gateway task that reserves before it runs.
    const { amountUsd } = reservationFor(task, tierConfig, priceFor(tierConfig.model, prices), config.context.overflow_policy);
    const reservationId = reservationIdOf(task.taskId, tier, attempt);
    const answer = await services.reserveBudget({
      reservationId, taskId: task.taskId, tier, amountUsd, yearMonth: yearMonthOf(services.now()),
      ...(task.clientKey ? { clientKey: task.clientKey } : {}),
      ...(task.parentTaskId ? { parentTaskId: task.parentTaskId } : {}),
    });
    const granted = answer.granted ? answer.reservationId ?? reservationId : null;
    return { granted: answer.granted, reservationId: granted, ...(granted !== null && granted !== reservationId ? { askedAs: reservationId } : {}), amountUsd, reason: answer.reason };
  };
  return {
    actions: {
      // The steps that do I/O answer when their service does (see the machine's setup).
      analyzeSensitivity: ({ context, self }: StepArgs) => answerStep(self, () => services.scanSensitivity(context.task),
        (output) => ({ type: 'SENSITIVITY_ANALYZED', output }), (error) => ({ type: 'SENSITIVITY_FAILED', error })),
      checkRateLimit: ({ context, self }: StepArgs, { tier }: { tier: Tier }) => answerStep(self,
        () => checkRateLimit(context.task.taskId, tier, tokensOf(context)),
        (output) => ({ type: 'RATE_LIMIT_CHECKED', output }), (error) => ({ type: 'RATE_LIMIT_FAILED', error })),
      reserveBudget: ({ context, self }: StepArgs, { tier }: { tier: Tier }) => answerStep(self,
        () => reserveBudget(context.task, tier, context.attempt + 1),
        (output) => ({ type: 'RESERVATION_ANSWERED', output }), (error) => ({ type: 'RESERVATION_FAILED', error })),
      dispatchWork: ({ context, self }: StepArgs) => answerStep(self, () => services.dispatch(dispatchInputOf(context)),
        () => ({ type: 'WORK_DISPATCHED' }), (error) => ({ type: 'DISPATCH_FAILED', error })),
      // The pure steps answer in the step that enters them.
      evaluateDifficulty: raise<TaskContext, TaskEvent, TaskEvent, unknown, never, never>(({ context }: { context: TaskContext }): TaskEvent => {
        try {
          return { type: 'DIFFICULTY_EVALUATED', output: judgeDifficulty(context.task, diffOptions) };
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
      // Not released from here: a worker's charge for the attempt may still be on its way to the
      // ledger, and money released before it is charged is free for another task meanwhile. The
      // ledger releases in the order of its event stream, after any charge of the attempt: an
      // execution fallback's event releases the tier left, a final event every reservation of the task.
      releaseReservation: () => {},
      abortWork: ({ context }: { context: TaskContext }) => services.abortWork(context.task.taskId),
    },
  };
}
