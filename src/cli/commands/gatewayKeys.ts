/**
 * `koubou keys gateway create|list|revoke`: the API keys of koubou's OpenAI-compatible gateway.
 * They live in the ledger's SQLite file as SHA-256 digests (the key is printed once, when made),
 * each with an optional monthly budget that reservations for its tasks must fit.
 */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../../config/index.ts';
import { usd } from '../../core/format.ts';
import { InputError } from '../../core/errors.ts';
import {
  createGatewayKey, currentYearMonth, gatewayKeyMonth, listGatewayKeys, openLedgerDb, revokeGatewayKey, type LedgerDb,
} from '../../db/index.ts';

/** Runs `run` on the ledger's SQLite file (`--db`, else the config's ledger.path), created when missing. */
export function withLedger<T>(program: Command, opts: { db?: string }, run: (db: LedgerDb, path: string) => T): T {
  const path = resolve(opts.db ?? loadConfig({ file: program.opts().config }).ledger.path);
  mkdirSync(dirname(path), { recursive: true });
  const db = openLedgerDb(path);
  try {
    return run(db, path);
  } finally {
    db.close();
  }
}

function parseBudget(text: string | undefined): number | null {
  if (text === undefined) return null;
  const n = Number(text.replace(/^\$/, ''));
  if (!Number.isFinite(n) || n < 0 || text.trim() === '') throw new InputError(`--budget must be a non-negative amount of US dollars, e.g. 20 or 7.5; got ${JSON.stringify(text)}`, { code: 'KEY_BUDGET_INVALID' });
  return n;
}

/** Registers `gateway` under `koubou keys`. */
export function registerGatewayKeys(keys: Command, program: Command): void {
  const gateway = keys
    .command('gateway')
    .description('API keys of the OpenAI-compatible gateway (kept hashed in the ledger, each with an optional monthly budget)');
  const dbOption = ['--db <path>', 'SQLite ledger file (default: config ledger.path, $KOUBOU_DB)'] as const;

  gateway
    .command('create')
    .description('make a key for a client and print it once')
    .argument('<name>', 'what its spend is shown under, e.g. laptop, ci, aider')
    .option('--budget <usd>', 'its own monthly budget in US dollars (default: none, only the global budget)')
    .option(...dbOption)
    .addHelpText('after', `
The key is printed once: koubou keeps only its SHA-256 digest. Give it to the client as
  Authorization: Bearer <key>
  OPENAI_BASE_URL=http://127.0.0.1:8788/v1 OPENAI_API_KEY=<key>      (openai SDK, Aider, Continue)
  KOUBOU_API_KEY=<key>                                                (Codex CLI, see README.md)
A running gateway accepts it at once.`)
    .action((name: string, opts: { budget?: string; db?: string }) => {
      const budget = parseBudget(opts.budget);
      const { key } = withLedger(program, opts, (db) => createGatewayKey(db, { name, monthlyBudgetUsd: budget }));
      process.stdout.write(`${key}\n`);
      process.stderr.write(`gateway key "${name}" created${budget === null ? '' : ` with a monthly budget of ${usd(budget)}`}. ` +
        'This is the only time it is shown: koubou keeps only its hash.\n');
    });

  gateway
    .command('list')
    .description('the gateway keys, their budgets and this month\'s spend (never the keys themselves)')
    .option(...dbOption)
    .option('--json', 'print one JSON object')
    .action((opts: { db?: string; json?: boolean }) => {
      const rows = withLedger(program, opts, (db) => {
        const month = currentYearMonth();
        return listGatewayKeys(db).map((k) => ({ ...k, month, ...gatewayKeyMonth(db, k.name, month) }));
      });
      if (opts.json) return void process.stdout.write(`${JSON.stringify({ keys: rows })}\n`);
      if (rows.length === 0) return void process.stdout.write('no gateway keys: make one with `koubou keys gateway create NAME`\n');
      const lines = rows.map((k) => [
        k.name.padEnd(20), (k.monthlyBudgetUsd === null ? '-' : usd(k.monthlyBudgetUsd)).padEnd(10),
        usd(k.spentUsd).padEnd(10), usd(k.reservedUsd).padEnd(10), k.revokedAt ? `revoked ${k.revokedAt}` : `since ${k.createdAt}`,
      ].join(' '));
      process.stdout.write(`${['NAME'.padEnd(20), 'BUDGET'.padEnd(10), 'SPENT'.padEnd(10), 'RESERVED'.padEnd(10), 'STATE'].join(' ')}\n${lines.join('\n')}\n`);
    });

  gateway
    .command('revoke')
    .description('stop accepting a key (a running gateway stops within 30 s); its spend stays on record')
    .argument('<name>', 'the key\'s name')
    .option(...dbOption)
    .action((name: string, opts: { db?: string }) => {
      const revoked = withLedger(program, opts, (db) => revokeGatewayKey(db, name));
      if (!revoked) throw new InputError(`no live gateway key named "${name}" (see koubou keys gateway list)`, { code: 'KEY_NOT_FOUND' });
      process.stderr.write(`gateway key "${name}" revoked\n`);
    });
}
