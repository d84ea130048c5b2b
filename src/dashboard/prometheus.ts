/**
 * `GET /metrics`: the ledger's figures in the Prometheus text exposition format (version 0.0.4),
 * so an existing Prometheus/Grafana on the LAN can scrape koubou without anything else.
 */
import type { StatusReply } from '../db/replies.ts';
import { DEFAULT_TIERS, TASK_STATUSES, WORKER_STATUSES } from '../core/types.ts';

/** The Content-Type Prometheus expects for this format. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

type Labels = Record<string, string>;

/** Label values escape backslash, double quote and newline, as the format requires. */
const escapeLabel = (v: string): string => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

function family(name: string, help: string, samples: [Labels, number][], type: 'gauge' | 'counter' = 'gauge'): string {
  const lines = [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`];
  for (const [labels, value] of samples) {
    const l = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',');
    lines.push(`${name}${l ? `{${l}}` : ''} ${Number.isFinite(value) ? String(value) : 'NaN'}`);
  }
  return lines.join('\n');
}

/**
 * The exposition text for one ledger status reply. Every status/tier combination is present (0
 * when none), so series do not appear and vanish as counts pass through zero.
 *
 * @example
 * prometheusText(await ledger.status()) // "# HELP koubou_tasks ...\nkoubou_tasks{status=\"completed\"} 7\n..."
 */
export function prometheusText(status: StatusReply): string {
  const workers = new Map<string, number>();
  for (const w of status.workers) workers.set(`${w.workerType}|${w.status}`, (workers.get(`${w.workerType}|${w.status}`) ?? 0) + 1);
  const cost = status.cost24h.byTierModel;
  return [
    family('koubou_tasks', 'Tasks created in the last 24 hours, by current status.',
      TASK_STATUSES.map((s) => [{ status: s }, status.tasksByStatus[s] ?? 0])),
    family('koubou_cost_usd_24h', 'Provider cost in USD over the last 24 hours, by tier and model.',
      cost.map((c) => [{ tier: c.tier, model: c.model }, c.costUsd])),
    family('koubou_requests_24h', 'Provider calls over the last 24 hours, by tier and model.',
      cost.map((c) => [{ tier: c.tier, model: c.model }, c.requests])),
    family('koubou_budget_limit_usd', `Monthly budget limit in USD (${status.budget.yearMonth}).`, [[{}, status.budget.limitUsd]]),
    family('koubou_budget_spent_usd', `Spent this month in USD (${status.budget.yearMonth}).`, [[{}, status.budget.spentUsd]]),
    family('koubou_budget_reserved_usd', 'Held by active budget reservations this month, in USD.', [[{}, status.budget.reservedUsd]]),
    family('koubou_budget_alert_threshold_ratio', 'Share of the monthly limit at which the budget alert fires.',
      [[{}, status.budget.alertThresholdPercent / 100]]),
    family('koubou_workers', 'Registered workers, by tier and status.',
      [...new Set([...DEFAULT_TIERS, ...status.workers.map((w) => w.workerType)])].flatMap((t) => WORKER_STATUSES.map((s): [Labels, number] => [{ tier: t, status: s }, workers.get(`${t}|${s}`) ?? 0]))),
    // The budget watch: 0 while every paid call is covered by a granted reservation (absent from a ledger before migration 7).
    ...(status.unreserved ? [
      family('koubou_unreserved_usd_total', 'Paid usage in USD that no granted budget reservation of its task covered.', [[{}, status.unreserved.totalUsd]], 'counter'),
      family('koubou_unreserved_calls_total', 'Paid calls that no granted budget reservation of their task fully covered.', [[{}, status.unreserved.calls]], 'counter'),
    ] : []),
  ].join('\n\n') + '\n';
}
