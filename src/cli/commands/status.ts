import type { NatsConnection } from '@nats-io/transport-node';
import type { Command } from 'commander';
import { usd } from '../../core/format.ts';
import type { BudgetReply, CostReport, StatusReply } from '../../db/replies.ts';
import type { UnreservedReport } from '../../db/index.ts';
import { tierNames } from '../../config/index.ts';
import { TASK_STATUSES, type Tier } from '../../core/types.ts';
import { evaluateBudget } from '../../policy/index.ts';
import { natsOption } from '../natsContext.ts';
import { DEFAULT_COLUMNS, formatRecentTasks, terminalColumns } from '../recentTasks.ts';
import { ago, cliLedger, queueDepths, table, withSubmitter } from './ledgerClient.ts';

/** What `koubou status` shows: the ledger's status plus the work queued per tier. */
export interface StatusReport extends StatusReply {
  /** Messages waiting or unacked per tier; null when the queue could not be read. */
  queues: Record<Tier, number | null>;
}

/**
 * Asks the ledger and JetStream for the system's state.
 * @example const report = await fetchStatus(nc, 'nats://127.0.0.1:4222');
 */
export async function fetchStatus(nc: NatsConnection, url: string, tiers?: readonly Tier[]): Promise<StatusReport> {
  const [status, queues] = await Promise.all([
    cliLedger(nc, url).status(),
    queueDepths(nc, tiers),
  ]);
  return { ...status, queues };
}

/** `$12.34 spent + $1.00 reserved of $100.00 (13.3 %), alert at 80 %`, with ALERT once past the threshold. */
export function formatBudget(b: BudgetReply): string {
  const e = evaluateBudget(b);
  const pct = Number.isFinite(e.percentUsed) ? `${e.percentUsed.toFixed(1)} %` : 'over';
  return `  ${b.yearMonth}: ${usd(b.spentUsd)} spent + ${usd(b.reservedUsd)} reserved of ${usd(b.limitUsd)} ` +
    `(${pct}), alert at ${b.alertThresholdPercent} %${e.critical ? '  ALERT' : ''}`;
}

/**
 * The budget watch: an ALERT naming what no granted reservation covered, or that every paid call was.
 * @example formatUnreserved({ totalUsd: 0, calls: 0, recent: [] }) // '  every paid call covered by a granted reservation'
 */
export function formatUnreserved(u: UnreservedReport | undefined): string {
  if (!u) return '  unknown (a ledger older than migration 7)';
  if (u.calls === 0) return '  every paid call covered by a granted reservation';
  const newest = u.recent.map((r) => `    ${r.at}  ${r.usageId}  ${r.tier}  ${usd(r.uncoveredUsd)} of ${usd(r.costUsd)}  ${r.reason}`);
  return [`  ALERT: ${usd(u.totalUsd)} of paid usage in ${u.calls} call${u.calls === 1 ? '' : 's'} not covered by a granted reservation (newest first):`, ...newest].join('\n');
}

/** The per tier/model cost table and its total line. */
export function formatCosts(c: CostReport): string {
  const rows = c.byTierModel.map((r) => [r.tier, r.model, String(r.requests), String(r.totalTokens), usd(r.costUsd)]);
  const lines = rows.length ? [table(['TIER', 'MODEL', 'REQUESTS', 'TOKENS', 'COST'], rows)] : ['  no provider calls'];
  lines.push(`  total ${usd(c.totalUsd)} over ${c.requests} request${c.requests === 1 ? '' : 's'}, ${c.avgTokens} tokens on average`);
  // By gateway key, when any spend came through the gateway.
  if ((c.byKey ?? []).some((k) => k.key !== null)) {
    lines.push('  by gateway key:', table(['KEY', 'REQUESTS', 'COST'], c.byKey.map((k) => [k.key ?? '(not the gateway)', String(k.requests), usd(k.usd)])));
  }
  return lines.join('\n');
}

/** The human view of `koubou status`, its lines at most `columns` wide where an ask would be longer. */
export function formatStatus(r: StatusReport, columns = DEFAULT_COLUMNS): string {
  const now = new Date(r.at);
  const workers = r.workers.length
    ? table(['WORKER', 'TIER', 'STATUS', 'LOCATION', 'MODEL', 'HEARTBEAT'],
      r.workers.map((w) => [w.workerId, w.workerType, w.status, w.location, w.modelName, ago(w.lastHeartbeat, now)]))
    : '  none registered';
  const queues = table(['TIER', 'WAITING'], Object.entries(r.queues).map(([t, n]) => [t, n === null ? '?' : String(n)]));
  const tasks = table(['STATUS', 'TASKS'], TASK_STATUSES.map((s) => [s, String(r.tasksByStatus[s] ?? 0)]));
  const rates = r.passRates?.length
    ? table(['TIER', 'TYPE', 'VERIFIED', 'PASSED', 'RATE'], r.passRates.map((p) => [p.tier, p.taskType, String(p.runs), String(p.passed), `${Math.round((100 * p.passed) / p.runs)} %`]))
    : '  no verified attempts';
  return [
    'Workers', workers, '', 'Queues', queues, '', 'Tasks (24 h)', tasks, '',
    'Recent tasks (newest first)', formatRecentTasks(r.recentTasks, columns), '',
    'Cost (24 h)', formatCosts(r.cost24h), '', 'Budget', formatBudget(r.budget), '',
    'Paid calls without a reservation', formatUnreserved(r.unreserved), '',
    'Tests passed (verified attempts, per tier and task type)', rates, '',
  ].join('\n');
}

/**
 * `koubou status [--json]`.
 * @example registerStatus(program);
 */
export function registerStatus(program: Command): void {
  natsOption(
    program
      .command('status')
      .description('show workers, queue depths, tasks and cost of the last 24 h (the newest tasks with what each asked), and the month\'s budget (asks the ledger)')
      .option('--json', 'print one JSON object'),
  ).action(async (opts: { nats?: string; json?: boolean }) => {
    const report = await withSubmitter(program, opts, 'koubou-status', (nc, ctx) => fetchStatus(nc, ctx.url, tierNames(ctx.config)));
    process.stdout.write(opts.json ? `${JSON.stringify(report)}\n` : formatStatus(report, terminalColumns()));
  });
}
