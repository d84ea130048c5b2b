/**
 * `koubou keys dashboard create|list|revoke`: who may open a dashboard bound to anything but
 * loopback. The keys live in the ledger's SQLite file as SHA-256 digests (a key is printed once,
 * when made), like the gateway's.
 */
import type { Command } from 'commander';
import { InputError } from '../../core/errors.ts';
import { createDashboardKey, listDashboardKeys, revokeDashboardKey } from '../../db/index.ts';
import { withLedger } from './gatewayKeys.ts';

/**
 * Registers `dashboard` under `koubou keys`.
 *
 * @example
 * registerDashboardKeys(keys, program); // koubou keys dashboard create grafana
 */
export function registerDashboardKeys(keys: Command, program: Command): void {
  const dashboard = keys
    .command('dashboard')
    .description('access keys of the web dashboard when it listens on anything but loopback (kept hashed in the ledger)');
  const dbOption = ['--db <path>', 'SQLite ledger file (default: config ledger.path, $KOUBOU_DB)'] as const;

  dashboard
    .command('create')
    .description('make a dashboard key and print it once')
    .argument('<name>', 'who or what uses it, e.g. laptop, prometheus')
    .option(...dbOption)
    .addHelpText('after', `
The key is printed once: koubou keeps only its SHA-256 digest. Use it as
  http://HOST:8787/?token=<key>          (a browser: opened once, it becomes an HttpOnly cookie)
  Authorization: Bearer <key>            (curl, /api/*, /events)
  bearer_token: <key>                    (Prometheus scrape config for /metrics)
A running dashboard accepts it at once.`)
    .action((name: string, opts: { db?: string }) => {
      const { key } = withLedger(program, opts, (db) => createDashboardKey(db, { name }));
      process.stdout.write(`${key}\n`);
      process.stderr.write(`dashboard key "${name}" created. This is the only time it is shown: koubou keeps only its hash.\n`);
    });

  dashboard
    .command('list')
    .description('the dashboard keys and whether each is live (never the keys themselves)')
    .option(...dbOption)
    .option('--json', 'print one JSON object')
    .action((opts: { db?: string; json?: boolean }) => {
      const rows = withLedger(program, opts, (db) => listDashboardKeys(db));
      if (opts.json) return void process.stdout.write(`${JSON.stringify({ keys: rows })}\n`);
      if (rows.length === 0) return void process.stdout.write('no dashboard keys: make one with `koubou keys dashboard create NAME`\n');
      const lines = rows.map((k) => `${k.name.padEnd(20)} ${k.revokedAt ? `revoked ${k.revokedAt}` : `since ${k.createdAt}`}`);
      process.stdout.write(`${'NAME'.padEnd(20)} STATE\n${lines.join('\n')}\n`);
    });

  dashboard
    .command('revoke')
    .description('stop accepting a dashboard key (a running dashboard stops within 30 s)')
    .argument('<name>', 'the key\'s name')
    .option(...dbOption)
    .action((name: string, opts: { db?: string }) => {
      const revoked = withLedger(program, opts, (db) => revokeDashboardKey(db, name));
      if (!revoked) throw new InputError(`no live dashboard key named "${name}" (see koubou keys dashboard list)`, { code: 'KEY_NOT_FOUND' });
      process.stderr.write(`dashboard key "${name}" revoked\n`);
    });
}
