import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../../config/index.ts';
import { InputError } from '../../core/errors.ts';
import { repoPath } from '../../core/repoPath.ts';
import { evaluateRouting, formatEvalRun, parseEvalCases, wrapperOf, type CapturedRequest, type ClientWrapper } from '../../routing/index.ts';

/** Where the captured clients' traffic is kept, shipped with koubou: one folder per client, one file per session. */
export const CLIENT_CAPTURES_DIR = repoPath('data', 'clients');
/** The labeled set koubou ships (`koubou eval routing` without a file), and the asks held out from tuning on it. */
export const LABELED_ASKS = repoPath('data', 'routing', 'labeled-asks.jsonl');
export const HELD_OUT_ASKS = repoPath('data', 'routing', 'held-out-asks.jsonl');

/** Every captured client's wrapper, by name (its `trivial` session's first main turn, else its first session's). */
export function loadClientWrappers(dir: string): Map<string, ClientWrapper> {
  if (!existsSync(dir)) throw new InputError(`no client captures in ${dir}`);
  const wrappers = new Map<string, ClientWrapper>();
  for (const client of readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort()) {
    const files = readdirSync(join(dir, client)).filter((f) => f.endsWith('.json')).sort();
    const file = files.includes('trivial.json') ? 'trivial.json' : files[0];
    if (!file) continue;
    const { requests } = JSON.parse(readFileSync(join(dir, client, file), 'utf8')) as { requests: CapturedRequest[] };
    wrappers.set(client, wrapperOf(client, requests));
  }
  return wrappers;
}

interface EvalOptions {
  client?: string;
  clientsDir?: string;
  json?: boolean;
  misses?: boolean;
}

export function registerEval(program: Command): void {
  const evalCmd = program.command('eval').description('evaluate routing on a labeled set of asks: agreement, confusion matrix, cost, the rules behind each miss');
  evalCmd
    .command('routing')
    .description('judge each ask of FILE.jsonl as the router would and compare with its expected level')
    .argument('[file]', 'one JSON object per line: {"ask": "...", "expected": "low|medium|high"}, optionally "client", "type", "id", "tags", or "conversation" instead of "ask" (default: the labeled set koubou ships)')
    .option('--client <names>', 'wrap every ask in these clients\' captured requests, comma-separated ("bare" = as a plain task; "all" = bare and every captured client)', 'bare')
    .option('--clients-dir <dir>', 'captured client traffic, one folder per client', CLIENT_CAPTURES_DIR)
    .option('--no-misses', 'leave out the list of misses')
    .option('--json', 'print one JSON object per run')
    .addHelpText('after', `
Cost is priced at the config's prices: each ask's prompt tokens plus the routed tier's
expected_output_tokens, against the same asks all on the high tier and all on the medium tier.
The labeled set koubou ships (the default FILE): ${LABELED_ASKS}.
Examples:
  koubou eval routing --client all
  koubou eval routing my-asks.jsonl --client codex`)
    .action((file: string | undefined, opts: EvalOptions) => {
      const config = loadConfig({ file: program.opts().config });
      file ??= LABELED_ASKS;
      const path = resolve(file);
      if (!existsSync(path)) throw new InputError(`${file}: no such file`);
      const cases = parseEvalCases(readFileSync(path, 'utf8'), file);
      const needsCaptures = opts.client !== 'bare' || cases.some((c) => c.client);
      const wrappers = needsCaptures ? loadClientWrappers(resolve(opts.clientsDir ?? CLIENT_CAPTURES_DIR)) : new Map<string, ClientWrapper>();
      const names = (opts.client ?? 'bare').split(',').map((n) => n.trim()).filter(Boolean)
        .flatMap((n) => (n === 'all' ? ['bare', ...wrappers.keys()] : [n]));
      for (const name of names) {
        if (name !== 'bare' && !wrappers.has(name)) throw new InputError(`--client ${name}: no capture of that client (known: ${[...wrappers.keys()].join(', ') || 'none'})`);
      }
      for (const name of names) {
        const run = evaluateRouting(cases, config, name === 'bare' ? null : wrappers.get(name)!, wrappers);
        process.stdout.write(opts.json ? `${JSON.stringify(run)}\n` : `${formatEvalRun(run, { misses: opts.misses !== false })}\n`);
      }
    });
}
