import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { Ledger } from '../../../actors/ledger/index.ts';
import { ensureStreams, streamOptionsFrom } from '../../bus/index.ts';
import { openLedgerDb, schemaVersion } from '../../db/index.ts';
import { natsContext, natsOption, untilSignal } from '../natsContext.ts';

/**
 * `koubou ledger`: runs the ledger actor until SIGINT/SIGTERM.
 *
 * @example
 * registerLedger(program); // koubou ledger --db .koubou/koubou.db --nats nats://127.0.0.1:4222
 */
export function registerLedger(program: Command): void {
  natsOption(
    program
      .command('ledger')
      .description('run the ledger: records every task event, token and cent in SQLite, and answers budget reservations and queries')
      .option('--db <path>', 'SQLite ledger file (default: config ledger.path, $KOUBOU_DB)'),
  ).action(async (opts: { nats?: string; db?: string }) => {
    const ctx = natsContext(program, opts);
    const path = resolve(opts.db ?? ctx.config.ledger.path);
    mkdirSync(dirname(path), { recursive: true });
    const db = openLedgerDb(path);
    try {
      const nc = await ctx.connect('ledger', 'koubou-ledger');
      try {
        // The ledger may start before the router: the stream and its durable consumer must exist.
        await ensureStreams(nc, streamOptionsFrom(ctx.config));
        const ledger = new Ledger({ nc, db, config: ctx.config, log: (l) => console.error(l) });
        await ledger.start();
        console.error(`ledger: writing ${path} (schema v${schemaVersion(db)}), serving budget on ${ctx.url}`);
        const sig = await untilSignal();
        console.error(`ledger: ${sig}: finishing in-flight events`);
        await ledger.stop();
        console.error(`ledger: stopped (${ledger.stats.applied} events written this run, in ${ledger.stats.commits} commits)`);
      } finally {
        await nc.drain().catch(() => nc.close());
      }
    } finally {
      db.close();
    }
  });
}
