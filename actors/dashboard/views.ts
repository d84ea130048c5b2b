/**
 * The JSON the dashboard serves, assembled from the ledger's replies, the live heartbeats and the
 * event index. Pure functions, so each shape is testable on its own.
 */
import type { Heartbeat } from '../../src/bus/index.ts';
import type { TaskStatus, Tier, WorkerStatus } from '../../src/core/types.ts';
import type { PassRate, UnreservedReport, WorkerRecord } from '../../src/db/index.ts';
import { evaluateBudget } from '../../src/policy/index.ts';
import type { CostReport, StatusReply } from '../ledger/queries.ts';
import type { StatusDifficultyCount } from './ledgerSource.ts';
import type { TaskIndex } from './TaskIndex.ts';

/** `GET /api/status`: workers by type and status, tasks of the last 24 h by status and difficulty. */
export interface StatusView {
  at: string;
  /** Where the ledger figures came from: the ledger over NATS, or the SQLite file (`--db`). */
  source: 'nats' | 'sqlite';
  workers: { workerType: Tier; status: WorkerStatus; count: number }[];
  tasks: StatusDifficultyCount[];
  tasksByStatus: Record<TaskStatus, number>;
  /** Verified attempts and how many passed, per tier and task type: the ledger's `passRates`, as `koubou status` shows them; null from a ledger before migration 10. */
  passRates: PassRate[] | null;
}

/** `GET /api/metrics`: 24 h cost and the month's budget. */
export interface MetricsView {
  at: string;
  costs24h: { totalUsd: number; requests: number; avgTokens: number };
  budget: {
    yearMonth: string;
    limitUsd: number;
    spentUsd: number;
    reservedUsd: number;
    /** `limit - spent`, as the ledger's budget_management.remaining_usd. */
    remainingUsd: number;
    alertThresholdPercent: number;
    alertReached: boolean;
  };
  /** Paid usage no granted reservation covered (the budget watch); null from a ledger before migration 7. */
  unreserved: UnreservedReport | null;
}

/** One row of the workers view: the ledger's registry merged with the live heartbeat. */
export interface WorkerRow {
  workerId: string;
  tier: Tier;
  status: WorkerStatus;
  /** `local`, or the LAN host it runs on. */
  location: string;
  model: string;
  performanceFactor: number | null;
  networkLatencyMs: number | null;
  /** Completed ÷ finished over the window, from task events. */
  successRate: number | null;
  finished: number;
  avgDurationMs: number | null;
  currentTasks: string[];
  load: number | null;
  lastSeen: string | null;
}

/** `GET /api/costs`: the last 24 h and the month to date by tier and model, and cost per hour. */
export interface CostsView {
  last24h: CostReport;
  monthToDate: CostReport & { since: string };
  hourly: ReturnType<TaskIndex['hourlyCost']>;
}

/** A heartbeat older than this no longer decides a worker's status (the ledger's does). */
export const HEARTBEAT_FRESH_MS = 10_000;

/** @example statusView(await source.status(), rows, 'nats').workers // => [{ workerType: 'local', status: 'idle', count: 1 }] */
export function statusView(status: StatusReply, tasks: StatusDifficultyCount[], source: StatusView['source']): StatusView {
  const counts = new Map<string, { workerType: Tier; status: WorkerStatus; count: number }>();
  for (const w of status.workers) {
    const key = `${w.workerType}|${w.status}`;
    const row = counts.get(key) ?? counts.set(key, { workerType: w.workerType, status: w.status, count: 0 }).get(key)!;
    row.count += 1;
  }
  return { at: status.at, source, workers: [...counts.values()], tasks, tasksByStatus: status.tasksByStatus, passRates: status.passRates ?? null };
}

/** @example metricsView(await source.status()).budget.remainingUsd */
export function metricsView(status: StatusReply): MetricsView {
  const b = status.budget;
  return {
    at: status.at,
    costs24h: { totalUsd: status.cost24h.totalUsd, requests: status.cost24h.requests, avgTokens: status.cost24h.avgTokens },
    budget: {
      yearMonth: b.yearMonth, limitUsd: b.limitUsd, spentUsd: b.spentUsd, reservedUsd: b.reservedUsd,
      remainingUsd: b.limitUsd - b.spentUsd, alertThresholdPercent: b.alertThresholdPercent,
      // The budget rule the router routes by (src/policy/budget.ts): spent + reserved against the threshold.
      alertReached: evaluateBudget(b).critical,
    },
    unreserved: status.unreserved ?? null,
  };
}

/** Ledger registry ∪ live heartbeats, by tier then id. */
export function workerRows(ledger: WorkerRecord[], heartbeats: Map<string, Heartbeat>, index: TaskIndex, now = Date.now()): WorkerRow[] {
  const ids = new Set([...ledger.map((w) => w.workerId), ...heartbeats.keys()]);
  const rows = [...ids].map((id): WorkerRow => {
    const w = ledger.find((x) => x.workerId === id);
    const h = heartbeats.get(id);
    const fresh = h !== undefined && now - Date.parse(h.at) < HEARTBEAT_FRESH_MS;
    const outcomes = index.workerOutcomes(id, now);
    return {
      workerId: id,
      tier: (h?.tier ?? w?.workerType)!,
      status: (fresh ? h.status : w?.status ?? h?.status)!,
      location: w?.location ?? (h?.location === 'remote' ? h.host : 'local'),
      model: h?.model ?? w?.modelName ?? '',
      performanceFactor: w?.performanceFactor ?? null,
      networkLatencyMs: w?.networkLatencyMs ?? null,
      successRate: outcomes.successRate,
      finished: outcomes.finished,
      avgDurationMs: outcomes.avgDurationMs,
      currentTasks: fresh ? h.currentTasks : [],
      load: fresh ? h.load : null,
      lastSeen: h?.at ?? (w?.lastHeartbeat ? `${w.lastHeartbeat.replace(' ', 'T')}Z` : null),
    };
  });
  return rows.sort((a, b) => a.tier.localeCompare(b.tier) || a.workerId.localeCompare(b.workerId));
}

/** Hours since the start of the current UTC month (at least one second, as the ledger requires > 0). */
export function hoursSinceMonthStart(now = new Date()): { hours: number; since: string } {
  const start = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1);
  return { hours: Math.max(1 / 3600, (now.getTime() - start) / 3_600_000), since: new Date(start).toISOString() };
}
