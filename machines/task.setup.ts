/**
 * The task machine's setup: its types, and the actions, guards and delays it refers to by name
 * (the router provides the routing steps' actions). Shared by the machine and its per-tier states.
 */
import { assign, setup } from 'xstate';
import type { Tier } from '../src/core/types.ts';
import * as A from './task.actions.ts';
import * as E from './escalation.ts';
import * as guards from './task.guards.ts';
import type { TaskContext, TaskEvent, TaskMachineInput, TaskOutput } from './task.types.ts';

export const taskSetup = setup({
  types: {
    context: {} as TaskContext,
    events: {} as TaskEvent,
    input: {} as TaskMachineInput,
    output: {} as TaskOutput,
  },
  actions: {
    /**
     * The routing steps, each the entry action of its state, provided by the router. A pure step
     * (difficulty, budget) raises its answer in the same macrostep; a step that does I/O (the
     * scan, the rate-limit check, the reservation, the dispatch) starts it and sends the answer
     * back when it comes (the events are in TaskEvent). No step invokes an actor: each invoked
     * actor costs its allocations and, measured, young-generation garbage that survives.
     * Unprovided, the machine waits in the step for its answer as an event (the path tests drive
     * it so). A snapshot is only kept at rest, never inside a step waiting for its answer.
     */
    analyzeSensitivity: () => {},
    evaluateDifficulty: () => {},
    checkBudget: () => {},
    checkRateLimit: (_: unknown, _params: { tier: Tier }) => {},
    reserveBudget: (_: unknown, _params: { tier: Tier }) => {},
    dispatchWork: () => {},
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
    traceSessionTier: assign(A.traceSessionTier),
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
    holdResult: assign(E.holdResult),
    traceVerify: assign(E.traceVerify),
    traceNoEscalation: assign(E.traceNoEscalation),
    escalate: assign(E.escalate),
    assignEscalationBudget: assign(E.assignEscalationBudget),
    completeWithoutClimb: assign(E.completeWithoutClimb),
  },
  guards: {
    ...guards,
    isCurrentAttempt: ({ context, event }) => 'attempt' in event && event.attempt === context.attempt,
    /** The current attempt came back with its tests' outcome, to verify. */
    isCurrentTestedAttempt: ({ context, event }) => 'attempt' in event && event.attempt === context.attempt && E.carriesTestOutcome({ event }),
    testsPassed: E.testsPassed,
    canEscalate: E.canEscalate,
    budgetStopsClimb: E.budgetStopsClimb,
  },
  delays: {
    rateLimitWait: ({ context }) => Math.max(0, context.waitMs),
  },
});

/** One state's config, as the machine's setup types it. */
export type StateConfig = NonNullable<Parameters<typeof taskSetup.createMachine>[0]['states']>[string];
export const tokensOf = (context: TaskContext): number => context.difficulty?.tokens ?? 0;

