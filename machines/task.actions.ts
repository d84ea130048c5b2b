/**
 * Context updates of the task machine, referred to by name. Each is a pure
 * function of context, event and params, so the machine stays free of I/O.
 */
import type { SensitivityResult, Tier } from '../src/core/types.ts';
import type {
  BudgetCheck, FallbackRecord, RateLimitVerdict, Reservation, TaskContext, TaskError, TaskEvent, TraceEntry,
} from './task.types.ts';

type Args = { context: TaskContext; event: TaskEvent | { type: string; [k: string]: unknown } };
type Patch = Partial<TaskContext>;

const trace = (context: TaskContext, entry: TraceEntry): TraceEntry[] => [...context.trace, entry];

/** No budget known (no ledger heard from): read as critical, so no paid tier is used. */
export const BUDGET_UNKNOWN: BudgetCheck = { critical: true, percentUsed: 0, remainingUsd: 0 };

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

function errorFrom(event: Args['event']): TaskError {
  const error = (event as { error?: unknown }).error;
  if (error && typeof error === 'object' && 'code' in error && 'message' in error) {
    return { code: String(error.code), message: String(error.message) };
  }
  return { code: 'ACTOR_FAILED', message: error instanceof Error ? error.message : String(error) };
}

/** Failure of an invoked actor; the `Failed` state's entry traces it. */
export const failFromError = ({ event }: Args): Patch => ({ error: errorFrom(event) });

export const traceStaysLocal = ({ context }: Args): Patch => ({
  trace: trace(context, { state: 'BudgetCheck', reason: `${context.sensitivity?.level} data stays local by policy` }),
});

export const traceBudgetCritical = ({ context }: Args): Patch => ({
  trace: trace(context, {
    state: 'BudgetCheck',
    reason: `budget critical and difficulty ${context.difficulty?.level}: local to save cost`,
  }),
});

/** Entering a tier's RouteTo state (`state` names it, so trace entries name the exact state). */
export const enterTier = ({ context }: Args, params: { tier: Tier; state: string }): Patch => ({
  tier: params.tier,
  routedTier: context.routedTier ?? params.tier,
  trace: trace(context, { state: params.state, tier: params.tier, reason: `routed to ${params.tier}` }),
});

/** BudgetCheck passing the task on to RouteByDifficulty: why the budget does not decide. */
export const traceBudgetAllows = ({ context }: Args): Patch => ({
  trace: trace(context, {
    state: 'BudgetCheck',
    reason: context.budget?.critical
      ? `budget critical, but difficulty ${context.difficulty?.level} keeps its tier`
      : 'budget allows paid tiers',
  }),
});

/** RouteByDifficulty's choice of tier. */
export const traceByDifficulty = ({ context }: Args, params: { tier: Tier }): Patch => ({
  trace: trace(context, {
    state: 'RouteByDifficulty', tier: params.tier,
    reason: `difficulty ${context.difficulty?.level} → ${params.tier}${context.difficulty?.judged ? ` (judged: ${context.difficulty.judged})` : ''}${leftSessionTier(context)}`,
  }),
});

/** Why a turn of a session was judged afresh instead of keeping the session's tier ('' outside a session). */
const leftSessionTier = (context: TaskContext): string => {
  const kept = context.task.sessionTier;
  if (!kept) return '';
  return kept.newAsk
    ? `; a new ask in the session: routed afresh (the session was on ${kept.tier})`
    : `; the session's tier ${kept.tier} is not in the fallback chain: routed afresh`;
};

/** The session keeps the tier its first turn was routed to. */
export const traceSessionTier = ({ context }: Args, params: { tier: Tier }): Patch => ({
  trace: trace(context, {
    state: 'RouteByDifficulty', tier: params.tier,
    reason: `kept the session's tier ${params.tier} (a session is routed once; this turn's difficulty ${context.difficulty?.level} not used)`,
  }),
});

export const tracePinned = ({ context }: Args, params: { tier: Tier }): Patch => ({
  trace: trace(context, { state: 'RouteByDifficulty', tier: params.tier, reason: `pinned by the client to ${params.tier} (difficulty ${context.difficulty?.level} not used)` }),
});

/** The conversation has been confidential: this turn is too, whatever the scan found in it. */
export const sessionStaysLocal = ({ context, event }: Args): Patch => {
  const found = (event as unknown as { output: SensitivityResult }).output;
  const s = context.task.confidentialSession!;
  return {
    sensitivity: { ...found, level: 'confidential', categories: [...new Set([...found.categories, 'session'])].sort() },
    trace: trace(context, {
      state: 'AnalyzeSensitivity',
      reason: `confidential session (${s.session} has been confidential since task ${s.since}; this turn: ${found.level}): stays local`,
    }),
  };
};

export const traceLocalAssign = ({ context }: Args): Patch => ({
  trace: trace(context, { state: 'AssignToLocal', tier: 'local', reason: 'local tier: free, no rate limit, no budget reservation' }),
});

export const assignRateLimit = ({ context }: Args, check: RateLimitVerdict & { state: string }): Patch => ({
  waitMs: check.waitMs,
  retryAt: check.now + check.waitMs,
  trace: trace(context, {
    state: check.state,
    tier: context.tier!,
    reason: check.available ? `available (${check.reason})` : `rate limited: ${check.reason}, free in ${seconds(check.waitMs)}`,
  }),
});

/** After a restore, timers are gone: recompute the wait from the deadline kept in context. */
export const resumeWait = ({ context, event }: Args): Patch => {
  const now = (event as { now?: number }).now ?? 0;
  return { waitMs: Math.max(0, (context.retryAt ?? now) - now) };
};

export const traceWaiting = ({ context }: Args, params: { state: string }): Patch => ({
  trace: trace(context, { state: params.state, tier: context.tier!, reason: `waiting ${seconds(context.waitMs)} for ${context.tier}` }),
});

export const accumulateWait = ({ context }: Args): Patch => ({ waitedMs: context.waitedMs + context.waitMs, waitMs: 0 });

export const assignReservation = ({ context }: Args, { state, ...reservation }: Reservation & { state: string }): Patch => ({
  reservation,
  trace: trace(context, {
    state,
    tier: context.tier!,
    reason: reservation.granted
      ? `reserved $${reservation.amountUsd.toFixed(4)} worst case`
      : `reservation refused: ${reservation.reason}`,
  }),
});

/** Records a fallback from the current tier; the reason says why the tier was left. */
export const fallback = (
  { context }: Args,
  /** `at`: the state the tier was left from (ExecutionFallback when not given). */
  params: { to: Tier; phase: FallbackRecord['phase']; reason: string; at?: string },
): Patch => {
  const from = context.tier!;
  const reason = params.phase === 'execution' && context.error ? `${params.reason} (${context.error.code})` : params.reason;
  const record: FallbackRecord = { from, to: params.to, reason, phase: params.phase };
  return {
    fallbacks: [...context.fallbacks, record],
    reservation: null,
    waitMs: 0,
    retryAt: null,
    trace: trace(context, {
      state: params.at ?? 'ExecutionFallback',
      tier: params.to,
      reason: `${from} → ${params.to}: ${reason}`,
      fallback: record,
    }),
  };
};

export const traceAssigned = ({ context }: Args): Patch => ({
  trace: trace(context, { state: 'Assigned', tier: context.tier!, reason: `assigned to ${context.tier}` }),
});

export const nextAttempt = ({ context }: Args): Patch => ({ attempt: context.attempt + 1 });

export const workStarted = ({ context, event }: Args): Patch => {
  const workerId = String((event as { workerId?: string }).workerId);
  return { workerId, trace: trace(context, { state: 'InProgress', tier: context.tier!, reason: `started by ${workerId}` }) };
};

export const completeWork = ({ context, event }: Args): Patch => {
  const result = (event as Extract<TaskEvent, { type: 'WORK_COMPLETED' }>).result;
  return {
    result,
    workerId: result.workerId,
    trace: trace(context, { state: 'Completed', tier: context.tier!, reason: `completed by ${result.workerId}` }),
  };
};

export const recordFailure = ({ context, event }: Args): Patch => {
  const failed = event as Extract<TaskEvent, { type: 'WORK_FAILED' }>;
  return {
    error: failed.error,
    trace: trace(context, {
      state: 'ExecutionFallback',
      tier: context.tier!,
      reason: `${failed.rateLimited ? 'rate limited' : 'failed'} on ${context.tier}: ${failed.error.code}: ${failed.error.message}`,
    }),
  };
};

export const cancel = ({ context, event }: Args): Patch => {
  const reason = String((event as { reason?: string }).reason ?? 'cancelled');
  return { error: { code: 'CANCELLED', message: reason }, trace: trace(context, { state: 'Cancelled', reason }) };
};

export const traceFailed = ({ context }: Args): Patch => ({
  trace: trace(context, {
    state: 'Failed',
    reason: context.error ? `${context.error.code}: ${context.error.message}` : 'failed',
  }),
});
