/**
 * What the task machine's named actors need from the outside world. The dry-run
 * CLI gives read-only implementations; the router gives ones backed by NATS and
 * the ledger. Keeping this small is what lets both share one machine.
 */
import type { SensitivityResult, TaskInput, Tier } from '../core/types.ts';
import type { BudgetState, RateLimitCheck } from '../policy/index.ts';
import type { DispatchInput } from '../../machines/task.types.ts';

export interface ReservationRequest {
  /** Stable per task, tier and attempt, so a replayed request reserves once. */
  reservationId: string;
  taskId: string;
  tier: Tier;
  amountUsd: number;
  yearMonth: string;
  /** The gateway key that submitted the task: its own monthly budget bounds the grant too. */
  clientKey?: string;
  /** The task's parent (set only through a front door): a capped ancestor's cap bounds the grant too. */
  parentTaskId?: string;
}

export interface RoutingServices {
  /** Scans prompt and files for secrets and personal data. */
  scanSensitivity(task: TaskInput): Promise<SensitivityResult>;
  /**
   * This month's spend and reservations, as last heard: synchronous, so that the budget step is a
   * pure step of the machine. Throws when unknown (no ledger heard from lately): then no paid tier
   * is used. It decides only whether a task should save money; the reservation, asked of the
   * ledger for every paid call, is what keeps the month within its limit.
   */
  budgetState(): BudgetState;
  /**
   * Resolves once `budgetState()` reflects the budget as asked at or after `since` (a new task's
   * arrival; tasks that come together share one question). Never rejects. Optional: without it,
   * `budgetState()` answers as it stands.
   */
  budgetAnsweredSince?(since: number): Promise<void>;
  /**
   * Reserves the worst-case cost before a paid call; `granted: false` when it would overspend.
   * A grant may name another reservation than the request's (a gateway's budget slice): the
   * attempt's usage then names that one.
   */
  reserveBudget(request: ReservationRequest): Promise<{ granted: boolean; reason: string; reservationId?: string }>;
  /**
   * Whether `tier` can take a request of `tokens` (prompt + expected output) now, and the
   * wait if not. A request that fits is recorded in the window under `requestId` (the task
   * id), so that the provider's count can replace the estimate when the call ends.
   */
  checkRateLimit(tier: Tier, tokens: number, requestId?: string): Promise<RateLimitCheck>;
  /** Puts the task on the tier's work queue. Must be idempotent per (task, attempt). */
  dispatch(input: DispatchInput): Promise<void>;
  abortWork(taskId: string): void;
  /** Clock, epoch ms. */
  now(): number;
}
