import { SUBJECTS } from '../../src/bus/index.ts';

/** A message a test's subscriber saw. */
export interface SeenMessage { subject: string; body: any }

/** The subjects that charge a model call: its own usage message, or an execution carrying it (protocol 4). */
export const CHARGING_SUBJECTS = [SUBJECTS.usage, SUBJECTS.execution] as const;

/**
 * Every model call charged among `seen` (on `koubou.evt.usage`, or in an execution's `calls`),
 * of one task when `taskId` is given.
 *
 * @example
 * expect(chargedCalls(seen, t.taskId)).toEqual([expect.objectContaining({ usageId: `${t.taskId}:1:1` })]);
 */
export function chargedCalls(seen: readonly SeenMessage[], taskId?: string): any[] {
  const calls = seen.flatMap((s) => (s.subject === SUBJECTS.usage ? [s.body] : s.subject === SUBJECTS.execution ? s.body.calls ?? [] : []));
  return taskId === undefined ? calls : calls.filter((u) => u.taskId === taskId);
}
