/**
 * Guards of the task machine, referred to by name. Pure functions of context.
 * The hard rule lives here: a confidential task is never allowed a cloud tier.
 */
import type { TaskContext } from './task.types.ts';

type Ctx = { context: TaskContext };

export const isConfidential = ({ context }: Ctx): boolean => context.sensitivity?.level === 'confidential';

/** Confidential always stays local; internal does too when the policy says so. */
export const mustStayLocal = ({ context }: Ctx): boolean =>
  isConfidential({ context }) ||
  (context.sensitivity?.level === 'internal' && context.policy.internalStaysLocal);

export const budgetCriticalAndNotHigh = ({ context }: Ctx): boolean =>
  context.budget?.critical === true && context.difficulty?.level !== 'high';

export const isHighDifficulty = ({ context }: Ctx): boolean => context.difficulty?.level === 'high';
export const isMediumDifficulty = ({ context }: Ctx): boolean => context.difficulty?.level === 'medium';

/** A rate-limited tier is worth waiting for when the wait fits what is left of the allowance. */
export const shortWaitAllowed = ({ context }: Ctx): boolean =>
  context.waitMs <= context.policy.maxRateLimitWaitMs - context.waitedMs;

/** The task is on the given tier (execution fallback moves it to the next one of the chain). */
export const onTier = ({ context }: Ctx, params: { tier: string }): boolean => context.tier === params.tier;

/** The client pinned the task to this tier (`koubou/<tier>` at the gateway). */
export const isPinnedTo = ({ context }: Ctx, params: { tier: string }): boolean => context.task.pinnedTier === params.tier;

/** The task continues a conversation that has already been confidential. */
export const inConfidentialSession = ({ context }: Ctx): boolean => context.task.confidentialSession !== undefined;

/** The task's session was routed to this tier and this turn asks the same: it keeps the tier (a session is routed once). */
export const keepsSessionTier = ({ context }: Ctx, params: { tier: string }): boolean =>
  context.task.sessionTier?.newAsk === false && context.task.sessionTier.tier === params.tier;
