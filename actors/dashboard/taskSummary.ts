/**
 * A task as the dashboard's list and detail view show it, built by `TaskIndex` from the task's
 * events and charges.
 */
import type { DifficultyLevel, TaskStatus, Tier } from '../../src/core/types.ts';

/** One task as the list and the detail view show it. */
export interface TaskSummary {
  taskId: string;
  /** Seq of the newest event applied. */
  seq: number;
  /** When its first event (seq 1) was published; the first event seen if that one is older than the backfill. */
  createdAt: string;
  updatedAt: string;
  status: TaskStatus;
  state: string;
  reason: string;
  tier: Tier | null;
  type: string;
  priority: number;
  difficulty: DifficultyLevel;
  sensitivity: string | null;
  /** The event's summary: for confidential work only its size and categories, never the text. */
  promptSummary: string;
  workerId: string | null;
  attempt: number;
  fallbacks: number;
  /** Prompt + completion tokens and cost, summed from usage events (every attempt). */
  tokens: number;
  costUsd: number;
  model: string | null;
  /** The start of the answer; withheld for confidential tasks, since the dashboard may be on a LAN. */
  resultExcerpt: string | null;
  error: { code: string; message: string } | null;
  /** True when seq 1 was seen, so `createdAt` is exact. */
  complete: boolean;
  /** The session it is a turn of (an opaque id a front door set), and the task it serves. */
  session: string | null;
  parentTaskId: string | null;
  /** The list's group it belongs to (`taskGroups.ts`): its session's, else its parent's; null alone. */
  group: string | null;
  /** Each step up a tier after its tests failed, in order. */
  escalations: { from: Tier; to: Tier; step: number }[];
  /** Its newest verified attempt's test outcome; null when no test ran. */
  tests: { passed: boolean; attempt: number } | null;
}
