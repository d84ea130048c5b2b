import type { NatsConnection } from '@nats-io/transport-node';
import type { Command } from 'commander';
import type { CostsReply } from '../../../actors/ledger/index.ts';
import { SUBJECTS } from '../../bus/index.ts';
import { natsOption } from '../natsContext.ts';
import { askLedger, parseDurationHours, withSubmitter } from './ledgerClient.ts';
import { formatCosts } from './status.ts';

/**
 * The ledger's spend over the last `sinceHours`.
 * @example const costs = await fetchCosts(nc, url, 24 * 7);
 */
export function fetchCosts(nc: NatsConnection, url: string, sinceHours: number): Promise<CostsReply> {
  return askLedger<CostsReply>(nc, url, SUBJECTS.ledgerQuery('costs'), { sinceHours });
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
      .option('--json', 'print one JSON object'),
  ).action(async (opts: { nats?: string; since: string; json?: boolean }) => {
    // Before connecting: a bad option is the user's mistake, whatever the state of the bus.
    const hours = parseDurationHours(opts.since, '--since');
    const costs = await withSubmitter(program, opts, 'koubou-costs', (nc, ctx) => fetchCosts(nc, ctx.url, hours));
    process.stdout.write(opts.json ? `${JSON.stringify(costs)}\n` : `Cost (last ${opts.since.trim()})\n${formatCosts(costs)}\n`);
  });
}
