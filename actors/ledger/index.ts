/**
 * The ledger actor: the single writer of the SQLite ledger.
 *
 * @example
 * import { Ledger } from './actors/ledger/index.ts';
 * const ledger = new Ledger({ nc, db, config });
 * await ledger.start();
 */
export { Ledger, type LedgerOptions, type LedgerStats } from './Ledger.ts';
export { EventWriter, RESULT_SUMMARY_CHARS, type EventWriterOptions, type WriteOutcome } from './EventWriter.ts';
export { HeartbeatMonitor, type HeartbeatMonitorOptions } from './HeartbeatMonitor.ts';
export { LedgerService, SERVICE_SUBJECTS, usd } from './LedgerService.ts';
export { AppliedLog, messageDigest } from './AppliedLog.ts';
export {
  budgetReply, costReport, statusReply, taskReply,
  type BudgetConfig, type BudgetReply, type CostReport, type CostsReply, type StatusReply, type TaskReply, type ErrorReply,
} from './queries.ts';
export { isTransientSqliteError } from './sqliteErrors.ts';
