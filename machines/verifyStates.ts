/**
 * Verify → Escalate, the task machine's states after an agent's attempt returns with its tests'
 * outcome (the decisions are in escalation.ts). Built for a chain of tiers, like cloudTierStates.
 */
import { LOCAL_TIER, type Tier } from '../src/core/types.ts';
import type { ChainParams } from './escalation.ts';
import type { StateConfig } from './task.setup.ts';

/**
 * @param routeUp the RouteTo state of the tier one up from a tier
 * @param upOf the tier one up from a tier
 * @example
 * const states = verifyStates({ order, climbable }, (tier) => routeTo(upOf(tier)), upOf);
 */
export function verifyStates(chainParams: ChainParams, routeUp: (tier: Tier) => string, upOf: (tier: Tier) => Tier): Record<'Verify' | 'Escalate', StateConfig> {
  const { climbable } = chainParams;
  return {
    /**
     * An attempt that came back with its tests' outcome: passed completes, failed climbs a tier
     * while steps are left and the tier up is not past the task's pin (escalation.ts).
     */
    Verify: {
      tags: 'in_progress',
      entry: 'traceVerify',
      always: [
        { guard: 'testsPassed', target: 'Completed', actions: 'completeWork' },
        { guard: { type: 'canEscalate', params: chainParams }, target: 'Escalate' },
        { target: 'Completed', actions: [{ type: 'traceNoEscalation', params: chainParams }, 'completeWork'] },
      ],
    },

    /**
     * One tier up the chain (its fallback order reversed), routed and reserved like any attempt;
     * work that must stay local retries on local. The month's budget is checked afresh first:
     * critical (or unknown), no paid tier is climbed to and the task completes with its failed tests.
     */
    Escalate: {
      tags: 'in_progress',
      entry: 'releaseReservation',
      initial: 'CheckBudget',
      states: {
        CheckBudget: {
          entry: 'checkBudget',
          on: {
            BUDGET_CHECKED: { target: 'Climb', actions: 'assignEscalationBudget' },
            BUDGET_UNAVAILABLE: { target: 'Climb', actions: 'assignEscalationBudget' },
          },
        },
        Climb: {
          always: [
            { guard: 'mustStayLocal', target: '#task.RouteToLocal', actions: { type: 'escalate', params: { to: LOCAL_TIER } } },
            { guard: 'budgetStopsClimb', target: '#task.Completed', actions: 'completeWithoutClimb' },
            ...climbable.map((tier) => ({
              guard: { type: 'onTier' as const, params: { tier } },
              target: `#task.${routeUp(tier)}`,
              actions: { type: 'escalate' as const, params: { to: upOf(tier) } },
            })),
          ],
        },
      },
    },
  };
}
