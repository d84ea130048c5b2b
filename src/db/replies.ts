/**
 * The ledger's answers to `koubou.ledger.query.*`: the shapes the ledger actor serves and the CLI,
 * the dashboard and the router read, so all of them agree (actors/ledger/queries.ts builds them).
 */
import type { PassRate } from './testOutcomes.ts';
import type { TaskStatus } from '../core/types.ts';
import type { RoutingAuditEntry, FallbackEntry } from './audit.ts';
import type { CostSummary } from './costs.ts';
import type { KeySpend } from './gatewayKeys.ts';
import type { TaskRecord } from './tasks.ts';
import type { UnreservedReport } from './unreservedUsage.ts';
import type { WorkerRecord } from './workers.ts';

/** The budget settings the ledger applies to a month that has no row yet. */
export interface BudgetConfig {
  monthlyLimitUsd: number;
  alertThresholdPercent: number;
}

/** `koubou.ledger.query.budget`: the current month (the router's BudgetState). */
export interface BudgetReply {
  yearMonth: string;
  limitUsd: number;
  /** Charged by providers. */
  spentUsd: number;
  /** Held by active reservations. */
  reservedUsd: number;
  alertThresholdPercent: number;
}

/** Spend over a window, per tier and model and in total. */
export interface CostReport {
  totalUsd: number;
  requests: number;
  /** Mean prompt + completion tokens per request (0 when none). */
  avgTokens: number;
  byTierModel: CostSummary[];
  /** Spend by gateway key (`key: null`: tasks that did not come through the gateway). */
  byKey: KeySpend[];
}

/** `koubou.ledger.query.costs`. */
export interface CostsReply extends CostReport {
  sinceHours: number;
}

/** `koubou.ledger.query.status`. */
export interface StatusReply {
  workers: WorkerRecord[];
  /** Tasks created in the last 24 h, per status. */
  tasksByStatus: Record<TaskStatus, number>;
  cost24h: CostReport;
  budget: BudgetReply;
  /**
   * Paid usage that no granted reservation of its task covered (the budget watch): nothing while
   * the rule holds. Absent from a ledger older than migration 7.
   */
  unreserved?: UnreservedReport;
  /** Verified attempts (agent tasks with a test command) and how many passed, per tier and task type. */
  passRates?: PassRate[];
  /** The newest tasks of the last 24 h, newest first, with what each asked. Absent from a ledger older than migration 11. */
  recentTasks?: RecentTask[];
  /** When the ledger answered (ISO-8601). */
  at: string;
}

/** A task as `koubou status` lists it: `askSummary` is the user's ask (for confidential work its size and categories). */
export type RecentTask = Pick<TaskRecord, 'taskId' | 'status' | 'tier' | 'actualCost' | 'askSummary' | 'createdAt'>;

/** `koubou.ledger.query.task`. */
export interface TaskReply {
  task: TaskRecord;
  /** Oldest first. */
  routing: RoutingAuditEntry[];
  fallbacks: FallbackEntry[];
}

/** Every ledger reply may be this instead: the request was invalid or the ledger failed. */
export interface ErrorReply {
  error: string;
}
