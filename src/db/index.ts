/**
 * The koubou ledger: one SQLite file recording every task, token and cent.
 *
 * Every query function takes the connection from `openLedgerDb` as its first argument and
 * prepares its statements once per connection. Timestamps are UTC `YYYY-MM-DD HH:MM:SS` text
 * (see `time.ts`); money is REAL USD.
 *
 * @example
 * import { openLedgerDb, upsertTask, reserveBudget, recordUsage, currentYearMonth } from './db/index.ts';
 * const db = openLedgerDb('.koubou/ledger.db');
 * upsertTask(db, { taskId: 't1', taskType: 'general', difficulty: 'high', sensitivity: 'public', status: 'pending' });
 */
export { openLedgerDb, BUSY_TIMEOUT_MS, type OpenLedgerOptions } from './open.ts';
export { LedgerVersionError, LedgerMigrationRequiredError } from './errors.ts';
export { MIGRATIONS, migrate, latestVersion, schemaVersion, type Migration } from './migrations.ts';
export { RESERVATION_STATUSES, FALLBACK_PHASES } from './schema-v3.ts';
export type { LedgerDb } from './sql.ts';
export { USD_EPSILON, atomically } from './sql.ts';
export { sqlTimestamp, sinceTimestamp, currentYearMonth, monthRange } from './time.ts';
export {
  upsertTask, setTaskParent, updateTask, getTask, countTasksByStatus, listRecentTasks, FINAL_TASK_STATUSES,
  type TaskWrite, type TaskRecord, type TaskWriteResult,
} from './tasks.ts';
export {
  recordUsage, costSince, monthToDateSpend,
  type UsageRecord, type RecordUsageOptions, type CostSummary,
} from './costs.ts';
export { unreservedReport, type UnreservedReason, type UnreservedReport, type UnreservedUsage } from './unreservedUsage.ts';
export { ensureMonth, setMonthLimit, getBudgetStatus, type MonthBudget } from './budget.ts';
export { ReservationBook } from './ReservationBook.ts';
export {
  leaseSlice, returnSlice, sweepExpiredSlices, getSlice, DEFAULT_SLICE_GRACE_MS, SLICE_TIER,
  type LeaseInput, type LeaseResult, type ReturnResult, type SliceRecord,
} from './budgetSlices.ts';
export { HELD_USD_SQL, heldUsdSql } from './heldSql.ts';
export { openParent, closeParent, cappedParentOf, parentCapState, type ParentCapState, type ParentEnd } from './parentCaps.ts';
export { spendTrees, type TaskTreeNode } from './taskTree.ts';
export { recordRateLimitSignal, latestRateLimitSignals, type RateLimitSignalRecord } from './rateLimits.ts';
export {
  createGatewayKey, findGatewayKeyByDigest, getGatewayKey, listGatewayKeys, revokeGatewayKey, gatewayKeyMonth,
  setTaskClientKey, spendByKey, GATEWAY_KEY_NAME, type GatewayKeyRecord, type KeySpend,
} from './gatewayKeys.ts';
export {
  createDashboardKey, findDashboardKeyByDigest, countLiveDashboardKeys, listDashboardKeys, revokeDashboardKey, type DashboardKeyRecord,
} from './dashboardKeys.ts';
export {
  reserveBudget, releaseReservation, releaseTaskReservations, releaseTierReservations, settleReservation, getReservation,
  type ReservationRecord, type ReservationStatus, type ReserveInput, type ReserveResult,
} from './reservations.ts';
export {
  upsertWorker, getWorker, listWorkers, setPerformanceFactor,
  type WorkerHeartbeat, type WorkerRecord,
} from './workers.ts';
export {
  recordWorkerMetric, workerStats, averageExecutionTimes, workerSpeedSamples, type WorkerSpeedSample,
  type WorkerMetric, type WorkerStats, type WorkerExecutionAverage,
} from './metrics.ts';
export {
  recordRoutingDecision, listRoutingDecisions, recordFallback, listFallbacks, recordRejection,
  listRejections, MAX_PAYLOAD_EXCERPT,
  type RoutingAuditEntry, type FallbackEntry, type RejectionEntry, type FallbackPhase, type AuditQuery,
} from './audit.ts';
export { recordTestOutcome, passRates, type PassRate, type TestOutcomeRecord } from './testOutcomes.ts';
export type { BudgetConfig, BudgetReply, CostReport, CostsReply, ErrorReply, RecentTask, StatusReply, TaskReply } from './replies.ts';
