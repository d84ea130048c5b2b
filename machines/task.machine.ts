/**
 * The task machine: koubou's routing diagram (the seed's state diagram, state for
 * state) followed by execution, fallback and the end states.
 *
 * It does no I/O. Each routing step is an entry action referred to by name that the router
 * provides with `taskMachine.provide({ actions: { ... } })`: the pure steps (the difficulty
 * evaluation, the budget check against the router's view of the month) raise their answer in
 * the same macrostep; the steps that need the outside world (the sensitivity scan, rate limits,
 * budget reservations, sending work to a queue) start it and send the answer back as an event.
 * No step invokes an actor.
 *
 * @example
 * const actor = createActor(taskMachine.provide(createRoutingSteps(config, services)), { input: { task, policy } });
 * actor.subscribe((s) => console.log(statusOf(s), s.value));
 * actor.start();
 */
import { assign } from 'xstate';
import { LOCAL_TIER, type Tier } from '../src/core/types.ts';
import { cloudTierStates } from './cloudTierStates.ts';
import { verifyStates } from './verifyStates.ts';
import { BUDGET_UNKNOWN } from './task.actions.ts';
import { taskSetup, type StateConfig } from './task.setup.ts';
import type { TierPlan } from './task.types.ts';

export { taskSetup };

/** A workspace's paths that .koubouignore kept out were not scanned, because they do not travel. */
const keptOut = (task: { workspace?: { files: number; keptOut: number } }): string =>
  task.workspace ? ` (workspace: ${task.workspace.files} files scanned${task.workspace.keptOut ? `, ${task.workspace.keptOut} kept out by .koubouignore` : ''})` : '';

/** Which files a scan found something in (file and line, never the text), the first three; the prompt goes unsaid. */
const whereFound = (findings: readonly { category: string; source: string; line: number }[]): string => {
  const inFiles = findings.filter((f) => f.source !== 'prompt');
  const at = inFiles.slice(0, 3).map((f) => `${f.category} in ${f.source}:${f.line}`);
  return at.length ? `: ${at.join(', ')}${inFiles.length > 3 ? ', …' : ''}` : '';
};

/** The seed's three tiers: gpt5_high → gpt5_medium → local, by difficulty high / medium / low. */
export const DEFAULT_TIER_PLAN: TierPlan = {
  cloud: [{ tier: 'gpt5_high', stateName: 'GPT5High' }, { tier: 'gpt5_medium', stateName: 'GPT5Medium' }],
  difficulty: { high: 'gpt5_high', medium: 'gpt5_medium', low: 'local' },
};

/**
 * The task machine for a set of tiers. Each cloud tier of the plan gets its states, in
 * fallback order; the default plan gives the seed's diagram state for state.
 *
 * @example
 * const machine = createTaskMachine(tierPlanOf(config));
 */
export function createTaskMachine(plan: TierPlan) {
  const routeTo = (tier: Tier): string => {
    if (tier === LOCAL_TIER) return 'RouteToLocal';
    const entry = plan.cloud.find((c) => c.tier === tier);
    if (!entry) throw new Error(`tier ${tier} is not in the fallback chain`);
    return `RouteTo${entry.stateName}`;
  };
  const chain = plan.cloud.map((c, i) => ({ ...c, next: plan.cloud[i + 1]?.tier ?? LOCAL_TIER }));
  const cloudStates = Object.assign({}, ...chain.map((c, i) => cloudTierStates(
    c.tier,
    { route: `RouteTo${c.stateName}`, check: `CheckRateLimit${i + 1}`, queue: `QueueOrFallback${i + 1}`, assign: `AssignTo${c.stateName}` },
    { tier: c.next, route: routeTo(c.next) },
  ))) as Record<string, StateConfig>;
  // One tier up: the tier before this one in the chain (local's is the last cloud tier); the first has none.
  const order: Tier[] = [...plan.cloud.map((c) => c.tier), LOCAL_TIER];
  const upOf = (tier: Tier): Tier => order[order.indexOf(tier) - 1]!;
  const climbable = order.slice(1);
  const chainParams = { order, climbable };
  const workCompleted = [
    { guard: 'isCurrentTestedAttempt', target: 'Verify', actions: 'holdResult' },
    { guard: 'isCurrentAttempt', target: 'Completed', actions: 'completeWork' },
  ] as const;
  const byDifficulty = (level: 'high' | 'medium' | 'low') => ({
    target: routeTo(plan.difficulty[level]), actions: { type: 'traceByDifficulty' as const, params: { tier: plan.difficulty[level] } },
  });
  return taskSetup.createMachine({
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
      escalations: [],
      feedback: null,
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
        entry: 'analyzeSensitivity',
        on: {
          SENSITIVITY_ANALYZED: [
            {
              guard: ({ event }) => event.output.level === 'confidential',
              target: 'RouteToLocal',
              actions: assign(({ context, event }) => ({
                sensitivity: event.output,
                trace: [...context.trace, {
                  state: 'AnalyzeSensitivity',
                  reason: `confidential (${event.output.categories.join(', ')}${whereFound(event.output.findings)}): stays local${keptOut(context.task)}`,
                }],
              })),
            },
            { guard: 'inConfidentialSession', target: 'RouteToLocal', actions: 'sessionStaysLocal' },
            {
              target: 'EvaluateDifficulty',
              actions: assign(({ context, event }) => ({
                sensitivity: event.output,
                trace: [...context.trace, {
                  state: 'AnalyzeSensitivity',
                  reason: (event.output.level === 'internal'
                    ? `internal (${event.output.categories.join(', ')})`
                    : 'public: no sensitive data found') + keptOut(context.task),
                }],
              })),
            },
          ],
          SENSITIVITY_FAILED: { target: 'Failed', actions: 'failFromError' },
        },
      },

      EvaluateDifficulty: {
        tags: 'routing',
        entry: 'evaluateDifficulty',
        on: {
          DIFFICULTY_EVALUATED: {
            target: 'CheckBudget',
            actions: assign(({ context, event }) => ({
              difficulty: event.output,
              trace: [...context.trace, {
                state: 'EvaluateDifficulty',
                reason: `${event.output.level} (score ${event.output.score}: ${event.output.reasons.join('; ')})`,
              }],
            })),
          },
          DIFFICULTY_FAILED: { target: 'Failed', actions: 'failFromError' },
        },
      },

      CheckBudget: {
        tags: 'routing',
        entry: 'checkBudget',
        on: {
          BUDGET_CHECKED: {
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
          // No budget known (no ledger heard from): no paid tier may be used.
          BUDGET_UNAVAILABLE: {
            target: 'RouteToLocal',
            actions: assign(({ context, event }) => ({
              budget: BUDGET_UNKNOWN,
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
          // A tier the client pinned goes before difficulty (sensitivity and the budget were checked before this state).
          ...[...plan.cloud.map((c) => c.tier), LOCAL_TIER].map((tier) => ({
            guard: { type: 'isPinnedTo' as const, params: { tier } }, target: routeTo(tier), actions: { type: 'tracePinned' as const, params: { tier } },
          })),
          // Then the tier the session was routed to at its first turn, while it asks the same.
          ...[...plan.cloud.map((c) => c.tier), LOCAL_TIER].map((tier) => ({
            guard: { type: 'keepsSessionTier' as const, params: { tier } }, target: routeTo(tier), actions: { type: 'traceSessionTier' as const, params: { tier } },
          })),
          { guard: 'isHighDifficulty', ...byDifficulty('high') },
          { guard: 'isMediumDifficulty', ...byDifficulty('medium') },
          byDifficulty('low'),
        ],
      },

      ...cloudStates,

      RouteToLocal: {
        tags: 'routing',
        entry: { type: 'enterTier', params: { tier: LOCAL_TIER, state: 'RouteToLocal' } },
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
            entry: 'dispatchWork',
            on: {
              WORK_DISPATCHED: 'AwaitingWorker',
              DISPATCH_FAILED: { target: '#task.Failed', actions: 'failFromError' },
            },
          },
          AwaitingWorker: {},
        },
        on: {
          WORK_STARTED: { guard: 'isCurrentAttempt', target: 'InProgress', actions: 'workStarted' },
          WORK_COMPLETED: workCompleted,
          WORK_FAILED: { guard: 'isCurrentAttempt', target: 'ExecutionFallback', actions: 'recordFailure' },
        },
      },

      InProgress: {
        tags: 'in_progress',
        on: {
          WORK_COMPLETED: workCompleted,
          WORK_FAILED: { guard: 'isCurrentAttempt', target: 'ExecutionFallback', actions: 'recordFailure' },
        },
      },

      ...verifyStates(chainParams, (tier) => routeTo(upOf(tier)), upOf),

      /** The seed's execution fallback along the chain (gpt5_high → gpt5_medium → local); a local failure is final. */
      ExecutionFallback: {
        tags: 'in_progress',
        entry: 'releaseReservation',
        always: [
          ...chain.map((c) => ({
            guard: { type: 'onTier' as const, params: { tier: c.tier } },
            target: routeTo(c.next),
            actions: { type: 'fallback' as const, params: { to: c.next, phase: 'execution' as const, reason: 'execution failed' } },
          })),
          { target: 'Failed' },
        ],
      },

      Completed: { tags: 'completed', type: 'final', entry: 'releaseReservation' },
      Failed: { tags: 'failed', type: 'final', entry: ['releaseReservation', 'traceFailed'] },
      Cancelled: { tags: 'cancelled', type: 'final' },
    },
  });
}

/** The task machine of the seed's three tiers (the default config). */
export const taskMachine = createTaskMachine(DEFAULT_TIER_PLAN);

/** Any task machine, whatever its tiers. */
export type TaskMachine = ReturnType<typeof createTaskMachine>;
