import type { NatsConnection } from '@nats-io/transport-node';
import type { Command } from 'commander';
import type { CostsReply } from '../../../actors/ledger/index.ts';
import { natsOption } from '../natsContext.ts';
import { cliLedger, parseDurationHours, withSubmitter } from './ledgerClient.ts';
import { formatCosts } from './status.ts';
import type { TaskTreeNode } from '../../db/index.ts';
import { usd } from '../../core/format.ts';

/** One line per task, children indented under their parent; each with its tree's total. */
export function formatTree(trees: TaskTreeNode[]): string {
  if (trees.length === 0) return '  (no task with children)';
  const lines: string[] = [];
  const walk = (n: TaskTreeNode, depth: number) => {
    const own = n.children.length ? ` (own ${usd(n.costUsd)})` : '';
    lines.push(`${'  '.repeat(depth + 1)}${n.taskId}  ${n.status}  ${n.tier ?? '-'}  ${usd(n.totalUsd)}${own}`);
    for (const c of n.children) walk(c, depth + 1);
  };
  trees.forEach((t) => walk(t, 0));
  return lines.join('\n');
}

/**
 * The ledger's spend over the last `sinceHours`.
 * @example const costs = await fetchCosts(nc, url, 24 * 7);
 */
export function fetchCosts(nc: NatsConnection, url: string, sinceHours: number): Promise<CostsReply> {
  return cliLedger(nc, url).costs(sinceHours);
}

/**
 * `koubou costs [--since 24h] [--json]`.
 * @example registerCosts(program);
 */
export function registerCosts(program: Command): void {
  natsOption(
    program
      .command('costs')
      .description('show provider spend per tier and model (asks the ledger)')
      .option('--since <duration>', 'window: 30m, 24h, 7d', '24h')
      .option('--json', 'print one JSON object')
      .option('--tree', 'spend by parent task: each master\'s session (koubou mcp) and agent task with its children, added up'),
  ).action(async (opts: { nats?: string; since: string; json?: boolean; tree?: boolean }) => {
    // Before connecting: a bad option is the user's mistake, whatever the state of the bus.
    const hours = parseDurationHours(opts.since, '--since');
    if (opts.tree) {
      const reply = await withSubmitter(program, opts, 'koubou-costs', (nc, ctx) => cliLedger(nc, ctx.url).tree(hours));
      process.stdout.write(opts.json ? `${JSON.stringify(reply)}\n` : `Cost by parent (last ${opts.since.trim()})\n${formatTree(reply.trees)}\n`);
      return;
    }
    const costs = await withSubmitter(program, opts, 'koubou-costs', (nc, ctx) => fetchCosts(nc, ctx.url, hours));
    process.stdout.write(opts.json ? `${JSON.stringify(costs)}\n` : `Cost (last ${opts.since.trim()})\n${formatCosts(costs)}\n`);
  });
}
