import type { SnapshotFrom } from 'xstate';
import type { DifficultyResult, SensitivityResult, Tier } from '../core/types.ts';
import type { BudgetCheck, FallbackRecord, TraceEntry } from '../../machines/task.types.ts';
import type { taskMachine } from '../../machines/task.machine.ts';
import { statusOf } from '../../machines/statusOf.ts';

/** Where a task goes and why: the answer of `koubou route --dry-run --json`. */
export interface RoutingDecision {
  taskId: string;
  tier: Tier | null;
  status: string;
  sensitivity: Pick<SensitivityResult, 'level' | 'categories'> & { findings: SensitivityResult['findings'] };
  difficulty: Pick<DifficultyResult, 'level' | 'score' | 'reasons' | 'tokens'>;
  /** The budget check; when the diagram skipped it (confidential work goes local first), `critical` is null and `reason` says so. */
  budget: BudgetCheck | { critical: null; reason: string };
  reservationUsd: number | null;
  fallbacks: FallbackRecord[];
  trace: TraceEntry[];
  error: { code: string; message: string } | null;
}

/** Reads a decision off a task machine snapshot. */
export function decisionOf(snapshot: SnapshotFrom<typeof taskMachine>): RoutingDecision {
  const c = snapshot.context;
  return {
    taskId: c.task.taskId,
    tier: c.tier,
    status: statusOf(snapshot),
    sensitivity: c.sensitivity ?? { level: 'public', categories: [], findings: [] },
    difficulty: c.difficulty ?? { level: 'medium', score: 0, reasons: ['not evaluated: sensitivity decided'], tokens: 0 },
    budget: c.budget ?? { critical: null, reason: 'not consulted: the task stays local before the budget matters' },
    reservationUsd: c.reservation?.granted ? c.reservation.amountUsd : null,
    fallbacks: c.fallbacks,
    trace: c.trace,
    error: c.error,
  };
}
