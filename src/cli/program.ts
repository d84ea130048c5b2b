/**
 * The `koubou` command. Only wiring: each command lives in its own file under
 * `commands/` and registers itself on the program.
 */
import { Command, CommanderError } from 'commander';
import { NatsServerMissingError } from '../bus/NatsServerProcess.ts';
import { ConfigError, InputError, KoubouError } from '../core/errors.ts';
import { LedgerMigrationRequiredError, LedgerVersionError } from '../db/errors.ts';
import { registerCancel } from './commands/cancel.ts';
import { registerClassify } from './commands/classify.ts';
import { registerCosts } from './commands/costs.ts';
import { registerDashboard } from './commands/dashboard.ts';
import { registerInit } from './commands/init.ts';
import { registerKeys } from './commands/keys.ts';
import { registerPool } from './commands/pool.ts';
import { registerLedger } from './commands/ledger.ts';
import { registerRoute } from './commands/route.ts';
import { registerRouter } from './commands/router.ts';
import { registerSim } from './commands/sim.ts';
import { registerStatus } from './commands/status.ts';
import { registerSubmit } from './commands/submit.ts';
import { registerUp } from './commands/up.ts';
import { registerWatch } from './commands/watch.ts';
import { registerWorker } from './commands/worker.ts';

export function buildProgram(): Command {
  const program = new Command('koubou')
    .description(
      'koubou (工房): routes coding tasks to GPT-5 (high / medium reasoning effort) or a local gpt-oss-20b ' +
        'by sensitivity, difficulty, budget and rate limits. Secrets and personal data never leave the local tier.',
    )
    .version(process.env.npm_package_version ?? '0.1.0', '-V, --version')
    .option('-c, --config <file>', 'config file merged over config/koubou.yaml (default: $KOUBOU_CONFIG)')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerUp(program);
  registerSubmit(program);
  registerWatch(program);
  registerCancel(program);
  registerStatus(program);
  registerDashboard(program);
  registerCosts(program);
  registerRoute(program);
  registerClassify(program);
  registerRouter(program);
  registerLedger(program);
  registerWorker(program);
  registerPool(program);
  registerInit(program);
  registerKeys(program);
  registerSim(program);
  program.addHelpText(
    'after',
    '\nExamples:\n' +
      '  koubou route --dry-run "design a distributed architecture for our queue"\n' +
      '  koubou classify --file .env.example "deploy this"\n' +
      '  cat prompts.jsonl | koubou classify --jsonl\n\n' +
      'Exit codes: 0 success, 1 task failed or internal error, 2 bad input or configuration.',
  );
  return program;
}

/** Runs the CLI and returns the exit code; errors become one clear line on stderr. */
export async function runCli(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return process.exitCode === undefined ? 0 : Number(process.exitCode);
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version end through here with code 0.
      return e.exitCode === 0 ? 0 : 2;
    }
    // What the user must fix (input, configuration, a ledger file of another version, a missing
    // nats-server) is one line and exit code 2; anything else is ours: exit code 1.
    if (e instanceof LedgerVersionError || e instanceof LedgerMigrationRequiredError) {
      process.stderr.write(`koubou: ${e.message}\n`);
      return 2;
    }
    if (e instanceof KoubouError) {
      process.stderr.write(`koubou: ${e.message}\n`);
      return e instanceof InputError || e instanceof ConfigError || e instanceof NatsServerMissingError ? 2 : 1;
    }
    process.stderr.write(`koubou: unexpected error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    return 1;
  }
}


