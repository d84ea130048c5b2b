import { LOCAL_TIER, type Tier } from '../src/core/types.ts';
import type { StateConfig } from './task.setup.ts';

/**
 * RouteToX → CheckRateLimitN → (AssignToX | QueueOrFallbackN), the same shape for every
 * cloud tier. `next` is where the tier falls back to.
 */
export function cloudTierStates<R extends string, C extends string, Q extends string, S extends string>(
  tier: Tier,
  names: { route: R; check: C; queue: Q; assign: S },
  next: { tier: Tier; route: string },
): Record<R | C | Q | S, StateConfig> {
  const toNext = (reason: string, at: string) => ({
    target: next.route,
    actions: { type: 'fallback' as const, params: { to: next.tier, phase: 'routing' as const, reason, at } },
  });
  const states: Record<string, StateConfig> = {
    [names.route]: {
      tags: 'routing',
      entry: { type: 'enterTier', params: { tier, state: names.route } },
      // Defence in depth: whatever path led here, confidential work never takes a cloud tier.
      always: [{ guard: 'mustStayLocal', target: 'RouteToLocal' }, { target: names.check }],
    },
    [names.check]: {
      tags: 'routing',
      entry: { type: 'checkRateLimit', params: { tier } },
      on: {
        RATE_LIMIT_CHECKED: [
          {
            guard: ({ event }) => event.output.available,
            target: names.assign,
            actions: { type: 'assignRateLimit', params: ({ event }) => ({ ...event.output, state: names.check }) },
          },
          { target: names.queue, actions: { type: 'assignRateLimit', params: ({ event }) => ({ ...event.output, state: names.check }) } },
        ],
        RATE_LIMIT_FAILED: toNext('rate-limit state unavailable', names.check),
      },
    },
    [names.queue]: {
      tags: 'routing',
      initial: 'Decide',
      states: {
        Decide: {
          always: [
            { guard: 'shortWaitAllowed', target: 'Waiting', actions: { type: 'traceWaiting', params: { state: names.queue } } },
            { ...toNext('rate limited longer than the task may wait', names.queue), target: `#task.${next.route}` },
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
      entry: { type: 'reserveBudget', params: { tier } },
      on: {
        RESERVATION_ANSWERED: [
          {
            guard: ({ event }) => event.output.granted,
            target: 'Assigned',
            actions: [{ type: 'assignReservation', params: ({ event }) => ({ ...event.output, state: names.assign }) }, 'traceAssigned', 'nextAttempt'],
          },
          {
            ...toNext('budget reservation refused', names.assign),
            actions: [
              { type: 'assignReservation', params: ({ event }) => ({ ...event.output, state: names.assign }) },
              { type: 'fallback', params: { to: next.tier, phase: 'routing', reason: 'budget reservation refused', at: names.assign } },
            ],
          },
        ],
        // No ledger to reserve with: paid tiers are not used.
        RESERVATION_FAILED: {
          target: 'RouteToLocal',
          actions: { type: 'fallback', params: { to: LOCAL_TIER, phase: 'routing', reason: 'budget reservation unavailable', at: names.assign } },
        },
      },
    },
  };
  return states as Record<R | C | Q | S, StateConfig>;
}

