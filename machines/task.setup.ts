/**
 * The task machine's setup: its types, and the actors, actions, guards and delays it refers to
 * by name (the router provides the actors). Shared by the machine and its per-tier states.
 */
import { assign, fromPromise, setup } from 'xstate';
import type { SensitivityResult, Tier } from '../src/core/types.ts';
import * as A from './task.actions.ts';
import * as guards from './task.guards.ts';
import type {
  DispatchInput, RateLimitVerdict, Reservation, TaskContext, TaskEvent,
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
    checkRateLimit: fromPromise<RateLimitVerdict, { taskId: string; tier: Tier; tokens: number }>(notProvided('checkRateLimit')),
    reserveBudget: fromPromise<Reservation, { task: TaskContext['task']; tier: Tier; attempt: number; tokens: number }>(
      notProvided('reserveBudget'),
    ),
    dispatchWork: fromPromise<void, DispatchInput>(notProvided('dispatchWork')),
  },
  actions: {
    /**
     * The pure routing steps. Each is provided by the router as a `raise` of its answer
     * (DIFFICULTY_EVALUATED or DIFFICULTY_FAILED, BUDGET_CHECKED or BUDGET_UNAVAILABLE), which the
     * machine takes in the same macrostep: no actor and no promise for a step that needs neither
     * (each invoked actor costs its allocations and, measured, young-generation garbage that
     * survives). Unprovided, the machine waits in the step for its answer as an event (the path
     * tests drive it so).
     */
    evaluateDifficulty: () => {},
    checkBudget: () => {},
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
    tracePinned: assign(A.tracePinned),
    sessionStaysLocal: assign(A.sessionStaysLocal),
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

/** One state's config, as the machine's setup types it. */
export type StateConfig = NonNullable<Parameters<typeof taskSetup.createMachine>[0]['states']>[string];
export const tokensOf = (context: TaskContext): number => context.difficulty?.tokens ?? 0;

