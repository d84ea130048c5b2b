/**
 * The `koubou` command. Only wiring: each command lives in its own file under
 * `commands/` and registers itself on the program; its module is loaded only when the
 * command runs.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { NatsServerMissingError } from '../bus/NatsServerProcess.ts';
import { ConfigError, InputError, KoubouError } from '../core/errors.ts';
import { repoPath } from '../core/repoPath.ts';
import { LedgerMigrationRequiredError, LedgerVersionError } from '../db/errors.ts';

type Register = (program: Command) => void;

/**
 * Every command, with the one-line description `koubou --help` lists. A command's module
 * (and all it imports: NATS, SQLite, the tokenizer, secretlint, XState) is loaded only
 * when that command runs, so `koubou --version` or `koubou submit` do not pay for the
 * others. test/cli.startup.test.ts checks each description against the one its module registers.
 */
export const COMMANDS: Record<string, { description: string; load: () => Promise<Register> }> = {
  up: {
    description: 'run the whole system on this machine: nats-server (unless NATS_URL is set), ledger, router, one worker per tier',
    load: async () => (await import('./commands/up.ts')).registerUp,
  },
  submit: { description: 'submit a task; prints its id (with --wait, follows it to the end)', load: async () => (await import('./commands/submit.ts')).registerSubmit },
  watch: { description: 'stream task events: one task from its start until it ends, or every task from now on', load: async () => (await import('./commands/watch.ts')).registerWatch },
  cancel: { description: 'cancel a task: stops its routing and aborts work in flight', load: async () => (await import('./commands/cancel.ts')).registerCancel },
  status: {
    description: 'show workers, queue depths, tasks and cost of the last 24 h (the newest tasks with what each asked), and the month\'s budget (asks the ledger)',
    load: async () => (await import('./commands/status.ts')).registerStatus,
  },
  dashboard: {
    description: 'serve the web dashboard: workers, tasks, costs, budget, fallbacks and the live task statechart (read-only)',
    load: async () => (await import('./commands/dashboard.ts')).registerDashboard,
  },
  costs: { description: 'show provider spend per tier and model (asks the ledger)', load: async () => (await import('./commands/costs.ts')).registerCosts },
  route: { description: 'show where a task would go and why, without running it', load: async () => (await import('./commands/route.ts')).registerRoute },
  eval: {
    description: 'evaluate routing on a labeled set of asks: agreement, confusion matrix, cost, the rules behind each miss',
    load: async () => (await import('./commands/eval.ts')).registerEval,
  },
  classify: {
    description: 'classify text (and files) as confidential, internal or public, naming what was found',
    load: async () => (await import('./commands/classify.ts')).registerClassify,
  },
  router: {
    description: 'run a router: takes submissions, runs one task machine per task, sends work to the tiers',
    load: async () => (await import('./commands/router.ts')).registerRouter,
  },
  ledger: {
    description: 'run the ledger: records every task event, token and cent in SQLite, and answers budget reservations and queries',
    load: async () => (await import('./commands/ledger.ts')).registerLedger,
  },
  worker: {
    description: 'run a worker: pulls one tier\'s work, runs it on the tier\'s LLM backend, reports back',
    load: async () => (await import('./commands/worker.ts')).registerWorker,
  },
  pool: {
    description: 'run the local tier\'s worker pool on this machine: scales `koubou worker` processes with the queue, restarts dead ones',
    load: async () => (await import('./commands/pool.ts')).registerPool,
  },
  init: {
    description: 'generate NATS credentials for every role in .koubou/credentials.env (mode 600) and the bus\'s TLS certificates in .koubou/tls; keeps existing ones',
    load: async () => (await import('./commands/init.ts')).registerInit,
  },
  keys: {
    description: "provider API keys in the encrypted keystore ($KOUBOU_KEYSTORE), and the gateway's client keys (keys gateway)",
    load: async () => (await import('./commands/keys.ts')).registerKeys,
  },
  gateway: {
    description: 'serve the OpenAI API (chat completions, responses, models) on koubou: every request is a routed, charged task',
    load: async () => (await import('./commands/gateway.ts')).registerGateway,
  },
  mcp: {
    description: 'serve MCP on stdio for a master agent (Codex, Claude Code, opencode, Qwen Code): delegate subtasks to the tiers, wait, take results and patches',
    load: async () => (await import('./commands/mcp.ts')).registerMcp,
  },
  sim: { description: 'run a simulated OpenAI + Ollama + Anthropic server (no GPU, no API key) until Ctrl-C', load: async () => (await import('./commands/sim.ts')).registerSim },
};

/** The command named on the command line, skipping the program's own options. */
function commandNamed(argv: string[]): string | undefined {
  const args = argv.slice(2);
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '-c' || a === '--config') i++;
    else if (!a.startsWith('-')) return a;
  }
  return undefined;
}

function version(): string {
  try {
    return (JSON.parse(readFileSync(repoPath('package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/**
 * The `koubou` program. Given the command line, it loads only the command named there;
 * for `--help`, `--version` or an unknown command it lists every command without loading
 * any. Without a command line, it loads every command (tests, embedding).
 *
 * @example
 * const program = await buildProgram(process.argv);
 * await program.parseAsync(process.argv);
 */
export async function buildProgram(argv?: string[]): Promise<Command> {
  const program = new Command('koubou')
    .description(
      'koubou (工房): routes coding tasks to GPT-5 (high / medium reasoning effort) or a local gpt-oss-20b ' +
        'by sensitivity, difficulty, budget and rate limits. Secrets and personal data never leave the local tier.',
    )
    .version(version(), '-V, --version')
    .option('-c, --config <file>', 'config file merged over config/koubou.yaml (default: $KOUBOU_CONFIG)')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  const named = argv ? commandNamed(argv) : undefined;
  for (const [name, command] of Object.entries(COMMANDS)) {
    if (!argv || name === named) (await command.load())(program);
    else program.command(name).description(command.description);
  }
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
  try {
    const program = await buildProgram(argv);
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
    process.stderr.write(`koubou: unexpected error: ${describeUnexpected(e)}\n`);
    return 1;
  }
}

/** An error we did not expect, as much as it tells: its stack, else its class, code and message (some have none). */
function describeUnexpected(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  if (e.stack && e.stack.trim() !== `${e.name}:` && e.stack.trim() !== e.name) return e.stack;
  const code = (e as { code?: unknown }).code;
  return `${e.constructor.name}${code !== undefined ? ` (code ${String(code)})` : ''}: ${e.message || 'no message'}${e.cause ? `; cause: ${describeUnexpected(e.cause)}` : ''}`;
}
