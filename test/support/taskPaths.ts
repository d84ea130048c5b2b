/**
 * Events that drive the task machine through every branch of its graph, for
 * `xstate/graph` path generation. Each routing step's possible answers are offered as the
 * events its action raises or sends back; worker events follow the current attempt.
 */
import type { SnapshotFrom } from 'xstate';
import type { taskMachine } from '../../machines/index.ts';

type Snap = SnapshotFrom<typeof taskMachine>;
export type PathEvent = { type: string; [key: string]: unknown };

const sens = (level: string) => ({ level, categories: level === 'public' ? [] : [level === 'internal' ? 'internal_marker' : 'credential'], findings: [] });
const diff = (level: string) => ({ level, score: 0, reasons: [level], tokens: 10 });

/** `matches` for state names the typed state value does not list (generated per tier). */
export const inState = (s: Snap, value: unknown): boolean => (s.matches as (v: unknown) => boolean)(value);

export function pathEvents(s: Snap): PathEvent[] {
  const attempt = s.context.attempt;
  // The routing steps: the machine's actions raise or send these; unprovided, they come as events.
  if (s.matches('AnalyzeSensitivity')) return ['confidential', 'internal', 'public'].map((l) => ({ type: 'SENSITIVITY_ANALYZED', output: sens(l) }));
  if (s.matches('EvaluateDifficulty')) return ['high', 'medium', 'low'].map((l) => ({ type: 'DIFFICULTY_EVALUATED', output: diff(l) }));
  if (s.matches('CheckBudget')) {
    return [
      { type: 'BUDGET_CHECKED', output: { critical: false, percentUsed: 10, remainingUsd: 90 } },
      { type: 'BUDGET_CHECKED', output: { critical: true, percentUsed: 85, remainingUsd: 15 } },
      { type: 'BUDGET_UNAVAILABLE', error: new Error('no ledger') },
    ];
  }
  if (inState(s, 'CheckRateLimit1') || inState(s, 'CheckRateLimit2')) {
    return [
      { type: 'RATE_LIMIT_CHECKED', output: { available: true, waitMs: 0, now: 0, reason: 'free' } },
      { type: 'RATE_LIMIT_CHECKED', output: { available: false, waitMs: 6000, now: 0, reason: 'rpm' } },
      { type: 'RATE_LIMIT_CHECKED', output: { available: false, waitMs: 60_000, now: 0, reason: 'rpm' } },
    ];
  }
  for (const q of ['QueueOrFallback1', 'QueueOrFallback2']) {
    if (inState(s, { [q]: 'Waiting' })) return [{ type: `xstate.after.rateLimitWait.task.${q}.Waiting` }];
  }
  if (inState(s, 'AssignToGPT5High') || inState(s, 'AssignToGPT5Medium')) {
    return [
      { type: 'RESERVATION_ANSWERED', output: { granted: true, reservationId: 'r', amountUsd: 1, reason: 'ok' } },
      { type: 'RESERVATION_ANSWERED', output: { granted: false, reservationId: null, amountUsd: 1, reason: 'limit' } },
    ];
  }
  if (s.matches({ Assigned: 'Dispatching' })) return [{ type: 'WORK_DISPATCHED' }];
  const completed = { type: 'WORK_COMPLETED', attempt, result: { text: 'ok', model: 'm', workerId: 'w' } };
  const failed = { type: 'WORK_FAILED', attempt, error: { code: 'E', message: 'boom' } };
  if (s.matches({ Assigned: 'AwaitingWorker' })) return [{ type: 'WORK_STARTED', attempt, workerId: 'w' }, completed, failed];
  if (s.matches('InProgress')) return [completed, failed, { type: 'CANCEL', reason: 'user' }];
  return [];
}

/**
 * The paths through Verify and Escalate: agent attempts that return their tests' outcome. Routing
 * answers are cut to those that change where an escalation goes (confidential or not, a reservation
 * granted or refused, the budget at the escalation critical or not), so the paths do not multiply
 * by every routing branch again.
 */
export function escalationPathEvents(s: Snap): PathEvent[] {
  const attempt = s.context.attempt;
  if (s.matches('AnalyzeSensitivity')) return ['confidential', 'public'].map((l) => ({ type: 'SENSITIVITY_ANALYZED', output: sens(l) }));
  if (s.matches('EvaluateDifficulty')) return [{ type: 'DIFFICULTY_EVALUATED', output: diff('low') }];
  if (s.matches('CheckBudget')) return [{ type: 'BUDGET_CHECKED', output: { critical: false, percentUsed: 10, remainingUsd: 90 } }];
  if (inState(s, 'CheckRateLimit1') || inState(s, 'CheckRateLimit2')) return [{ type: 'RATE_LIMIT_CHECKED', output: { available: true, waitMs: 0, now: 0, reason: 'free' } }];
  if (inState(s, 'AssignToGPT5High') || inState(s, 'AssignToGPT5Medium')) {
    return [
      { type: 'RESERVATION_ANSWERED', output: { granted: true, reservationId: 'r', amountUsd: 0, reason: 'ok' } },
      { type: 'RESERVATION_ANSWERED', output: { granted: false, reservationId: null, amountUsd: 0, reason: 'limit' } },
    ];
  }
  // Escalate looks at the month's budget afresh: room for a paid tier, or critical (no climb).
  if (inState(s, { Escalate: 'CheckBudget' })) {
    return [
      { type: 'BUDGET_CHECKED', output: { critical: false, percentUsed: 10, remainingUsd: 90 } },
      { type: 'BUDGET_CHECKED', output: { critical: true, percentUsed: 85, remainingUsd: 15 } },
    ];
  }
  if (s.matches({ Assigned: 'Dispatching' })) return [{ type: 'WORK_DISPATCHED' }];
  const tested = (exitCode: number) => ({
    type: 'WORK_COMPLETED', attempt,
    result: { text: 'ok', model: 'm', workerId: 'w', patch: 'diff', agent: { turns: 1, commands: 1, filesChanged: [], diffstat: '', test: { command: 't', exitCode, output: '' } } },
  });
  if (s.matches({ Assigned: 'AwaitingWorker' })) return [tested(0), tested(1), { type: 'WORK_FAILED', attempt, error: { code: 'E', message: 'boom' } }];
  return [];
}

/** What distinguishes two snapshots for path finding: not the trace, which grows on every step. */
export function serializeTaskState(s: Snap): string {
  const c = s.context;
  return JSON.stringify([s.value, c.tier, c.sensitivity?.level, c.difficulty?.level, c.budget?.critical, c.attempt, c.waitedMs, c.result !== null, c.escalations?.length ?? 0]);
}
