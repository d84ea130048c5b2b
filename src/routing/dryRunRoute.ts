import { createActor, SimulatedClock, waitFor } from 'xstate';
import type { KoubouConfig } from '../config/index.ts';
import type { TaskInput } from '../core/types.ts';
import { judgeDifficulty } from '../policy/index.ts';
import { createTaskMachine } from '../../machines/task.machine.ts';
import { taskPolicyOf, tierPlanOf } from '../config/index.ts';
import { createRoutingSteps, difficultyOptions } from './createRoutingSteps.ts';
import { decisionOf, type RoutingDecision } from './RoutingDecision.ts';
import type { RoutingServices } from './RoutingServices.ts';

/** Longest simulated wait a dry run will step through before giving up (a safety net, not a policy). */
const MAX_SIMULATED_STEPS = 100;

/**
 * Routes one task through the real task machine without sending it anywhere:
 * the machine runs on a simulated clock that jumps over rate-limit waits, and
 * stops at the assignment.
 *
 * @example
 * const decision = await dryRunRoute(task, config, services);
 * decision.tier; // 'gpt5_high'
 */
export async function dryRunRoute(
  task: TaskInput,
  config: KoubouConfig,
  services: Omit<RoutingServices, 'now' | 'dispatch' | 'abortWork'>,
  startAt: number = Date.now(),
): Promise<RoutingDecision> {
  const clock = new SimulatedClock();
  clock.set(startAt);
  const full: RoutingServices = { ...services, now: () => clock.now(), dispatch: async () => {}, abortWork: () => {} };
  const machine = createTaskMachine(tierPlanOf(config)).provide(createRoutingSteps(config, full));
  const actor = createActor(machine, {
    input: { task, policy: taskPolicyOf(config) },
    clock,
  });
  actor.start();
  try {
    for (let step = 0; step < MAX_SIMULATED_STEPS; step++) {
      const s = await waitFor(
        actor,
        (snap) => snap.status !== 'active' || snap.matches({ Assigned: 'AwaitingWorker' }) || isWaiting(snap),
      );
      if (!isWaiting(s)) break;
      clock.increment(s.context.waitMs);
    }
    const decision = decisionOf(actor.getSnapshot());
    if (!actor.getSnapshot().context.difficulty) {
      // Confidential work skips difficulty in the diagram; report it anyway, marked as unused.
      const d = judgeDifficulty(task, difficultyOptions(config));
      decision.difficulty = { ...d, reasons: [...d.reasons, 'not used: confidential work stays local'] };
    }
    return decision;
  } finally {
    actor.stop();
  }
}

const isWaiting = (snap: { hasTag: (tag: string) => boolean }): boolean => snap.hasTag('waiting');
