import type { SnapshotFrom } from 'xstate';
import type { TaskEventMessage } from '../../src/bus/index.ts';
import { taskPrompt } from '../../src/core/taskPrompt.ts';
import { isFinalStatus, type TaskStatus } from '../../src/core/types.ts';
import type { taskMachine } from '../../machines/task.machine.ts';
import type { TraceEntry } from '../../machines/task.types.ts';
import { statusOf } from '../../machines/statusOf.ts';
import { askOf, askSummary, judgeDifficulty } from '../../src/policy/index.ts';
import { difficultyOptions } from '../../src/routing/index.ts';
import type { KoubouConfig } from '../../src/config/index.ts';
import type { TaskInput } from '../../src/core/types.ts';
import type { TaskKvRecord } from './TaskStore.ts';

type Snap = SnapshotFrom<typeof taskMachine>;
type Difficulty = NonNullable<TaskKvRecord['recordDifficulty']>;

/**
 * The difficulty a task's record shows when its routing never judged it (confidential work goes
 * local before the difficulty step): judged for the record alone.
 */
export function recordDifficultyOf(task: TaskInput, config: KoubouConfig): Difficulty {
  const d = judgeDifficulty(task, difficultyOptions(config));
  return { level: d.level, score: d.score, tokens: d.tokens };
}

/** The status a trace entry's state stands for. */
export function statusOfTraceState(state: string): TaskStatus {
  switch (state) {
    case 'ReceiveTask': return 'pending';
    case 'Assigned': return 'assigned';
    case 'InProgress':
    case 'Verify':
    case 'Escalate':
    case 'Escalate.CheckBudget':
    case 'ExecutionFallback': return 'in_progress';
    case 'Completed': return 'completed';
    case 'Failed': return 'failed';
    case 'Cancelled': return 'cancelled';
    default: return 'routing';
  }
}

/** What is safe to show about a prompt: never the text of confidential work. */
export function promptSummary(snapshot: Snap): string {
  const { task, sensitivity } = snapshot.context;
  const files = task.files.length ? ` (+${task.files.length} file${task.files.length > 1 ? 's' : ''})` : '';
  if (sensitivity?.level === 'confidential') {
    return `[confidential: ${taskPrompt(task).length} characters${files}; ${sensitivity.categories.join(', ')}]`;
  }
  // The user's ask, not the client's wrapper around it (a system prompt, its environment blocks).
  return askSummary(askOf(task)) + files;
}

/**
 * One event per trace entry added since `fromIndex`: every state the task went
 * through, with its reason, numbered after `record.eventSeq`. `skippedDifficulty` gives
 * the difficulty of a task whose routing skipped it (confidential work); called only then.
 */
export function eventsSince(
  snapshot: Snap, fromIndex: number, record: Pick<TaskKvRecord, 'eventSeq'>, at: string, skippedDifficulty: () => Difficulty,
): TaskEventMessage[] {
  const c = snapshot.context;
  const difficulty = c.difficulty ? { level: c.difficulty.level, score: c.difficulty.score, tokens: c.difficulty.tokens } : null;
  const entries: TraceEntry[] = c.trace.slice(fromIndex);
  if (entries.length === 0) return [];
  const last = entries.length - 1;
  // Once per step: reading the ask out of a client's conversation is not free.
  const summary = promptSummary(snapshot);
  return entries.map((entry, i) => {
    const status = i === last ? statusOf(snapshot) : statusOfTraceState(entry.state);
    const final = isFinalStatus(status);
    return {
      taskId: c.task.taskId,
      seq: record.eventSeq + i + 1,
      at,
      status,
      state: entry.state,
      reason: entry.reason,
      tier: entry.tier ?? c.tier,
      attempt: c.attempt,
      type: c.task.type,
      priority: c.task.priority,
      sensitivity: c.sensitivity ? { level: c.sensitivity.level, categories: c.sensitivity.categories } : null,
      difficulty: difficulty ?? skippedDifficulty(),
      promptSummary: summary,
      workerId: c.workerId,
      reservationId: c.reservation?.reservationId ?? null,
      ...(entry.fallback ? { fallback: entry.fallback } : {}),
      ...(entry.escalation ? { escalation: entry.escalation } : {}),
      ...(entry.tests ? { tests: entry.tests } : {}),
      ...(final && i === last && c.result ? { result: c.result } : {}),
      error: final && i === last ? c.error : null,
      ...(c.task.clientKey ? { clientKey: c.task.clientKey } : {}),
      ...(c.task.parentTaskId ? { parentTaskId: c.task.parentTaskId } : {}),
      ...(c.task.session ? { session: c.task.session } : {}),
    };
  });
}
