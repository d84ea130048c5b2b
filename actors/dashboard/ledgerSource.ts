/**
 * Where the dashboard gets the ledger's figures: from the ledger actor over NATS request/reply
 * (the default, works from any host), or straight from the SQLite file opened read-only (`--db`,
 * on the ledger's host; also answers while the ledger is down). Both give the same shapes as the
 * ledger's own replies (`actors/ledger/queries.ts`), so the page cannot tell them apart.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { costReport, taskReply, type BudgetConfig, type BudgetReply, type CostReport, type StatusReply, type TaskReply } from '../ledger/queries.ts';
import { LedgerClient, LedgerError } from '../../src/bus/index.ts';
import type { DifficultyLevel, TaskStatus } from '../../src/core/types.ts';
import type { DashboardKeyAnswer } from './access.ts';
import {
  countLiveDashboardKeys, countTasksByStatus, findDashboardKeyByDigest, currentYearMonth, getBudgetStatus, listWorkers, openLedgerDb, passRates, sinceTimestamp,
  spendTrees, unreservedReport, type LedgerDb, type TaskTreeNode,
} from '../../src/db/index.ts';

/** One cell of the tasks-by-status-and-difficulty table. */

/**
 * How long one answer about the trees serves every caller: each open page re-reads a parent's tree
 * while its children's events arrive, and the ledger adds up days of trees for each read.
 */
const TREES_SHARED_MS = 1000;

/** `load`, its answer for one argument shared by every caller for `ms` (a failed one is not kept). */
function sharedFor<A, T>(ms: number, load: (arg: A) => Promise<T>): (arg: A) => Promise<T> {
  let last: { arg: A; at: number; answer: Promise<T> } | null = null;
  return (arg) => {
    if (last !== null && last.arg === arg && Date.now() - last.at < ms) return last.answer;
    const answer = load(arg);
    last = { arg, at: Date.now(), answer };
    answer.catch(() => { if (last?.answer === answer) last = null; });
    return answer;
  };
}

export interface StatusDifficultyCount {
  status: TaskStatus;
  difficulty: DifficultyLevel;
  count: number;
}

/** The ledger's answers the dashboard needs. */
export interface LedgerSource {
  readonly kind: 'nats' | 'sqlite';
  /** `koubou.ledger.query.status`. */
  status(): Promise<StatusReply>;
  /** `koubou.ledger.query.costs` for the last `sinceHours`. */
  costs(sinceHours: number): Promise<CostReport>;
  /** `koubou.ledger.query.task`; null when the ledger has no such task. */
  task(taskId: string): Promise<TaskReply | null>;
  /**
   * Tasks created in the last `hours` by status and difficulty, when this source can count them
   * (SQLite); the ledger's NATS API has no such query, so the dashboard counts from the event stream.
   */
  tasksByStatusAndDifficulty?(hours: number): Promise<StatusDifficultyCount[]>;
  /** `koubou.ledger.query.tree`: every task tree with a root created in the last `sinceHours`, spend rolled up (`spendTrees`). */
  trees(sinceHours: number): Promise<TaskTreeNode[]>;
  /** `koubou.ledger.query.dashboardKey`: whose key a digest is (none asked: null), and how many keys are live. */
  dashboardKey(digest?: string): Promise<DashboardKeyAnswer>;
  close(): void;
}

/** How long to wait for the ledger over NATS. */
export const LEDGER_QUERY_TIMEOUT_MS = 3000;

/**
 * Asks the ledger actor over NATS (role `dashboard` may publish `koubou.ledger.query.>`).
 * @example const source = natsLedgerSource(nc); await source.status();
 */
export function natsLedgerSource(nc: NatsConnection, timeoutMs = LEDGER_QUERY_TIMEOUT_MS): LedgerSource {
  const ledger = new LedgerClient(nc, { timeoutMs });
  return {
    kind: 'nats',
    status: () => ledger.status(),
    costs: (sinceHours) => ledger.costs(sinceHours),
    async task(taskId) {
      try {
        return await ledger.task(taskId);
      } catch (e) {
        // A task the ledger has no record of (yet, or any more) is no failure of the page.
        if (e instanceof LedgerError && e.code === 'LEDGER_ERROR' && /^unknown task/.test(e.ledgerMessage ?? '')) return null;
        throw e;
      }
    },
    trees: sharedFor(TREES_SHARED_MS, async (sinceHours: number) => (await ledger.tree(sinceHours)).trees),
    dashboardKey: (digest) => ledger.dashboardKey(digest),
    close() {},
  };
}

/**
 * Reads the SQLite ledger read-only: never writes (not even the month row the ledger would create),
 * so a month without a row shows the configured limit and nothing spent.
 * @example const source = sqliteLedgerSource('.koubou/koubou.db', { monthlyLimitUsd: 100, alertThresholdPercent: 80 });
 */
export function sqliteLedgerSource(path: string, budget: BudgetConfig): LedgerSource {
  const db: LedgerDb = openLedgerDb(path, { readonly: true });
  const budgetNow = (now: Date): BudgetReply => {
    const yearMonth = currentYearMonth(now);
    const s = getBudgetStatus(db, yearMonth);
    return s
      ? { yearMonth, limitUsd: s.limitUsd, spentUsd: s.spentUsd, reservedUsd: s.reservedUsd, alertThresholdPercent: s.alertThresholdPercent }
      : { yearMonth, limitUsd: budget.monthlyLimitUsd, spentUsd: 0, reservedUsd: 0, alertThresholdPercent: budget.alertThresholdPercent };
  };
  const byStatusDifficulty = db.prepare<[string], StatusDifficultyCount>(`SELECT status, difficulty_level AS difficulty,
      COUNT(*) AS count FROM task_master WHERE created_at > ? GROUP BY status, difficulty_level ORDER BY status, difficulty_level`);
  return {
    kind: 'sqlite',
    async status() {
      const now = new Date();
      return {
        workers: listWorkers(db), tasksByStatus: countTasksByStatus(db, 24, { now }), cost24h: costReport(db, 24, now),
        budget: budgetNow(now), unreserved: unreservedReport(db), passRates: passRates(db), at: now.toISOString(),
      };
    },
    costs: async (sinceHours) => costReport(db, sinceHours),
    async task(taskId) {
      const answer = taskReply(db, taskId);
      return 'error' in answer ? null : answer;
    },
    trees: sharedFor(TREES_SHARED_MS, async (sinceHours: number) => spendTrees(db, sinceHours)),
    tasksByStatusAndDifficulty: async (hours) => byStatusDifficulty.all(sinceTimestamp(hours)),
    async dashboardKey(digest) {
      const key = digest ? findDashboardKeyByDigest(db, digest) : null;
      return { key: key ? { name: key.name } : null, liveKeys: countLiveDashboardKeys(db) };
    },
    close: () => db.close(),
  };
}
