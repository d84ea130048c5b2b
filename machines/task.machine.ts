/**
 * The task machine: koubou's routing diagram (the seed's state diagram, state for
 * state) followed by execution, fallback and the end states.
 *
 * It does no I/O. Everything it needs from outside — the sensitivity scan, the
 * difficulty evaluation, the budget, rate limits, budget reservations and sending
 * work to a queue — is an actor referred to by name that the router provides with
 * `taskMachine.provide({ actors: { ... } })`.
 *
 * @example
 * const actor = createActor(taskMachine.provide({ actors }), { input: { task, policy } });
 * actor.subscribe((s) => console.log(statusOf(s), s.value));
 * actor.start();
 */
import { assign, fromPromise, setup } from 'xstate';
import type { DifficultyResult, SensitivityResult, Tier } from '../src/core/types.ts';
import * as A from './task.actions.ts';
import * as guards from './task.guards.ts';
import type {
  BudgetCheck, DispatchInput, RateLimitCheck, Reservation, TaskContext, TaskEvent,
  TaskMachineInput, TaskOutput,
} from './task.types.ts';

const notProvided = (name: string) => () => Promise.reject(new Error(`actor "${name}" was not provided`));

export const taskSetup = setup({
  types: {
    context: {} as TaskContext,
    events: {} as TaskEvent,
    input: {} as TaskMachineInput,
    output: {} as TaskOutput,
  },
  actors: {
    analyzeSensitivity: fromPromise<SensitivityResult, TaskContext['task']>(notProvided('analyzeSensitivity')),
    evaluateDifficulty: fromPromise<DifficultyResult, TaskContext['task']>(notProvided('evaluateDifficulty')),
    checkBudget: fromPromise<BudgetCheck, { taskId: string }>(notProvided('checkBudget')),
    checkRateLimit: fromPromise<RateLimitCheck, { taskId: string; tier: Tier; tokens: number }>(notProvided('checkRateLimit')),
    reserveBudget: fromPromise<Reservation, { task: TaskContext['task']; tier: Tier; attempt: number; tokens: number }>(
      notProvided('reserveBudget'),
    ),
    dispatchWork: fromPromise<void, DispatchInput>(notProvided('dispatchWork')),
  },
  actions: {
    /** Give back a budget reservation that will not be spent (idempotent in the ledger). Provided by the router. */
    releaseReservation: () => {},
    /** Abort work a worker may be doing for this task. Provided by the router. */
    abortWork: () => {},
    failFromError: assign(A.failFromError),
    traceStaysLocal: assign(A.traceStaysLocal),
    traceBudgetCritical: assign(A.traceBudgetCritical),
    enterTier: assign(A.enterTier),
    traceBudgetAllows: assign(A.traceBudgetAllows),
    traceByDifficulty: assign(A.traceByDifficulty),
    traceLocalAssign: assign(A.traceLocalAssign),
    assignRateLimit: assign(A.assignRateLimit),
    resumeWait: assign(A.resumeWait),
    traceWaiting: assign(A.traceWaiting),
    accumulateWait: assign(A.accumulateWait),
    assignReservation: assign(A.assignReservation),
    fallback: assign(A.fallback),
    traceAssigned: assign(A.traceAssigned),
    nextAttempt: assign(A.nextAttempt),
    workStarted: assign(A.workStarted),
    completeWork: assign(A.completeWork),
    recordFailure: assign(A.recordFailure),
    cancel: assign(A.cancel),
    traceFailed: assign(A.traceFailed),
  },
  guards: {
    ...guards,
    isCurrentAttempt: ({ context, event }) => 'attempt' in event && event.attempt === context.attempt,
  },
  delays: {
    rateLimitWait: ({ context }) => Math.max(0, context.waitMs),
  },
});

type StateConfig = NonNullable<Parameters<typeof taskSetup.createMachine>[0]['states']>[string];
const tokensOf = (context: TaskContext): number => context.difficulty?.tokens ?? 0;

/**
 * RouteToGPT5X → CheckRateLimitN → (AssignToGPT5X | QueueOrFallbackN), the same
 * shape for both cloud tiers. `next` is where the tier falls back to.
 */
function cloudTierStates<R extends string, C extends string, Q extends string, S extends string>(
  tier: Tier,
  names: { route: R; check: C; queue: Q; assign: S },
  next: { tier: Tier; route: string },
): Record<R | C | Q | S, StateConfig> {
  const toNext = (reason: string, phase: 'routing' = 'routing') => ({
    target: next.route,
    actions: { type: 'fallback' as const, params: { to: next.tier, phase, reason } },
  });
  const states: Record<string, StateConfig> = {
    [names.route]: {
      tags: 'routing',
      entry: { type: 'enterTier', params: { tier } },
      // Defence in depth: whatever path led here, confidential work never takes a cloud tier.
      always: [{ guard: 'mustStayLocal', target: 'RouteToLocal' }, { target: names.check }],
    },
    [names.check]: {
      tags: 'routing',
      invoke: {
        id: 'checkRateLimit',
        src: 'checkRateLimit',
        input: ({ context }) => ({ taskId: context.task.taskId, tier, tokens: tokensOf(context) }),
        onDone: [
          {
            guard: ({ event }) => event.output.available,
            target: names.assign,
            actions: { type: 'assignRateLimit', params: ({ event }) => event.output },
          },
          { target: names.queue, actions: { type: 'assignRateLimit', params: ({ event }) => event.output } },
        ],
        onError: { ...toNext('rate-limit state unavailable'), actions: { type: 'fallback', params: { to: next.tier, phase: 'routing', reason: 'rate-limit state unavailable', at: names.check } } },
      },
    },
    [names.queue]: {
      tags: 'routing',
      initial: 'Decide',
      states: {
        Decide: {
          always: [
            { guard: 'shortWaitAllowed', target: 'Waiting', actions: 'traceWaiting' },
            { ...toNext('rate limited longer than the task may wait'), target: `#task.${next.route}` },
          ],
        },
        Waiting: {
          tags: 'waiting',
          after: { rateLimitWait: { target: `#task.${names.check}`, actions: 'accumulateWait' } },
          on: { RESUME: { target: 'Waiting', reenter: true, actions: 'resumeWait' } },
        },
      },
    },
    [names.assign]: {
      tags: 'routing',
      invoke: {
        id: 'reserveBudget',
        src: 'reserveBudget',
        input: ({ context }) => ({ task: context.task, tier, attempt: context.attempt + 1, tokens: tokensOf(context) }),
        onDone: [
          {
            guard: ({ event }) => event.output.granted,
            target: 'Assigned',
            actions: [{ type: 'assignReservation', params: ({ event }) => event.output }, 'traceAssigned', 'nextAttempt'],
          },
          {
            ...toNext('budget reservation refused'),
            actions: [
              { type: 'assignReservation', params: ({ event }) => event.output },
              { type: 'fallback', params: { to: next.tier, phase: 'routing', reason: 'budget reservation refused', at: names.assign } },
            ],
          },
        ],
        // No ledger to reserve with: paid tiers are not used.
        onError: {
          target: 'RouteToLocal',
          actions: { type: 'fallback', params: { to: 'local', phase: 'routing', reason: 'budget reservation unavailable', at: names.assign } },
        },
      },
    },
  };
  return states as Record<R | C | Q | S, StateConfig>;
}

export const taskMachine = taskSetup.createMachine({
  id: 'task',
  context: ({ input }) => ({
    task: input.task,
    policy: input.policy,
    sensitivity: null,
    difficulty: null,
    budget: null,
    tier: null,
    routedTier: null,
    attempt: 0,
    reservation: null,
    retryAt: null,
    waitMs: 0,
    waitedMs: 0,
    fallbacks: [],
    trace: [{ state: 'ReceiveTask', reason: `received ${input.task.type} task, priority ${input.task.priority}` }],
    workerId: null,
    result: null,
    error: null,
  }),
  initial: 'ReceiveTask',
  output: ({ context }) => ({
    status: context.result ? 'completed' : context.error?.code === 'CANCELLED' ? 'cancelled' : 'failed',
    tier: context.tier,
    result: context.result,
    error: context.error,
  }),
  on: {
    CANCEL: { target: '.Cancelled', actions: ['releaseReservation', 'abortWork', 'cancel'] },
  },
  states: {
    ReceiveTask: { tags: 'pending', always: 'AnalyzeSensitivity' },

    AnalyzeSensitivity: {
      tags: 'routing',
      invoke: {
        id: 'analyzeSensitivity',
        src: 'analyzeSensitivity',
        input: ({ context }) => context.task,
        onDone: [
          {
            guard: ({ event }) => event.output.level === 'confidential',
            target: 'RouteToLocal',
            actions: assign(({ context, event }) => ({
              sensitivity: event.output,
              trace: [...context.trace, {
                state: 'AnalyzeSensitivity',
                reason: `confidential (${event.output.categories.join(', ')}): stays local`,
              }],
            })),
          },
          {
            target: 'EvaluateDifficulty',
            actions: assign(({ context, event }) => ({
              sensitivity: event.output,
              trace: [...context.trace, {
                state: 'AnalyzeSensitivity',
                reason: event.output.level === 'internal'
                  ? `internal (${event.output.categories.join(', ')})`
                  : 'public: no sensitive data found',
              }],
            })),
          },
        ],
        onError: { target: 'Failed', actions: 'failFromError' },
      },
    },

    EvaluateDifficulty: {
      tags: 'routing',
      invoke: {
        id: 'evaluateDifficulty',
        src: 'evaluateDifficulty',
        input: ({ context }) => context.task,
        onDone: {
          target: 'CheckBudget',
          actions: assign(({ context, event }) => ({
            difficulty: event.output,
            trace: [...context.trace, {
              state: 'EvaluateDifficulty',
              reason: `${event.output.level} (score ${event.output.score}: ${event.output.reasons.join('; ')})`,
            }],
          })),
        },
        onError: { target: 'Failed', actions: 'failFromError' },
      },
    },

    CheckBudget: {
      tags: 'routing',
      invoke: {
        id: 'checkBudget',
        src: 'checkBudget',
        input: ({ context }) => ({ taskId: context.task.taskId }),
        onDone: {
          target: 'BudgetCheck',
          actions: assign(({ context, event }) => ({
            budget: event.output,
            trace: [...context.trace, {
              state: 'CheckBudget',
              reason: `${event.output.percentUsed.toFixed(1)}% of the monthly budget committed` +
                (event.output.critical ? ' (critical)' : ''),
            }],
          })),
        },
        // No budget answer (no ledger): no paid tier may be used.
        onError: {
          target: 'RouteToLocal',
          actions: assign(({ context, event }) => ({
            budget: { critical: true, percentUsed: 0, remainingUsd: 0 },
            trace: [...context.trace, {
              state: 'CheckBudget',
              reason: `budget unavailable (${event.error instanceof Error ? event.error.message : String(event.error)}): paid tiers are not used`,
            }],
          })),
        },
      },
    },

    BudgetCheck: {
      tags: 'routing',
      always: [
        { guard: 'mustStayLocal', target: 'RouteToLocal', actions: 'traceStaysLocal' },
        { guard: 'budgetCriticalAndNotHigh', target: 'RouteToLocal', actions: 'traceBudgetCritical' },
        { target: 'RouteByDifficulty', actions: 'traceBudgetAllows' },
      ],
    },

    RouteByDifficulty: {
      tags: 'routing',
      always: [
        { guard: 'isHighDifficulty', target: 'RouteToGPT5High', actions: { type: 'traceByDifficulty', params: { tier: 'gpt5_high' } } },
        { guard: 'isMediumDifficulty', target: 'RouteToGPT5Medium', actions: { type: 'traceByDifficulty', params: { tier: 'gpt5_medium' } } },
        { target: 'RouteToLocal', actions: { type: 'traceByDifficulty', params: { tier: 'local' } } },
      ],
    },

    ...cloudTierStates(
      'gpt5_high',
      { route: 'RouteToGPT5High', check: 'CheckRateLimit1', queue: 'QueueOrFallback1', assign: 'AssignToGPT5High' },
      { tier: 'gpt5_medium', route: 'RouteToGPT5Medium' },
    ),
    ...cloudTierStates(
      'gpt5_medium',
      { route: 'RouteToGPT5Medium', check: 'CheckRateLimit2', queue: 'QueueOrFallback2', assign: 'AssignToGPT5Medium' },
      { tier: 'local', route: 'RouteToLocal' },
    ),

    RouteToLocal: {
      tags: 'routing',
      entry: { type: 'enterTier', params: { tier: 'local' } },
      always: 'AssignToLocal',
    },
    AssignToLocal: {
      tags: 'routing',
      always: { target: 'Assigned', actions: ['traceLocalAssign', 'traceAssigned', 'nextAttempt'] },
    },

    Assigned: {
      tags: 'assigned',
      initial: 'Dispatching',
      states: {
        Dispatching: {
          invoke: {
            id: 'dispatchWork',
            src: 'dispatchWork',
            input: ({ context }) => ({
              task: context.task,
              tier: context.tier!,
              sensitivity: context.sensitivity?.level ?? null,
              attempt: context.attempt,
              reservationId: context.reservation?.reservationId ?? null,
            }),
            onDone: 'AwaitingWorker',
            onError: { target: '#task.Failed', actions: 'failFromError' },
          },
        },
        AwaitingWorker: {},
      },
      on: {
        WORK_STARTED: { guard: 'isCurrentAttempt', target: 'InProgress', actions: 'workStarted' },
        WORK_COMPLETED: { guard: 'isCurrentAttempt', target: 'Completed', actions: 'completeWork' },
        WORK_FAILED: { guard: 'isCurrentAttempt', target: 'ExecutionFallback', actions: 'recordFailure' },
      },
    },

    InProgress: {
      tags: 'in_progress',
      on: {
        WORK_COMPLETED: { guard: 'isCurrentAttempt', target: 'Completed', actions: 'completeWork' },
        WORK_FAILED: { guard: 'isCurrentAttempt', target: 'ExecutionFallback', actions: 'recordFailure' },
      },
    },

    /** The seed's execution fallback: gpt5_high → gpt5_medium → local; a local failure is final. */
    ExecutionFallback: {
      tags: 'in_progress',
      entry: 'releaseReservation',
      always: [
        {
          guard: 'onHighTier',
          target: 'RouteToGPT5Medium',
          actions: { type: 'fallback', params: { to: 'gpt5_medium', phase: 'execution', reason: 'execution failed' } },
        },
        {
          guard: 'onMediumTier',
          target: 'RouteToLocal',
          actions: { type: 'fallback', params: { to: 'local', phase: 'execution', reason: 'execution failed' } },
        },
        { target: 'Failed' },
      ],
    },

    Completed: { tags: 'completed', type: 'final', entry: 'releaseReservation' },
    Failed: { tags: 'failed', type: 'final', entry: ['releaseReservation', 'traceFailed'] },
    Cancelled: { tags: 'cancelled', type: 'final' },
  },
});
