import type { Command } from 'commander';
import { InputError } from '../../core/errors.ts';
import { DEFAULT_SIM_URL } from '../../llm/createProvider.ts';
import { DEFAULT_OLLAMA_MODELS, DEFAULT_OPENAI_MODELS, startSimServer, type SimOptions } from '../../llm/sim/index.ts';
import { untilSignal } from '../natsContext.ts';

export interface SimCliOptions {
  port: string;
  host: string;
  latency: string;
  tokensPerSecond: string;
  outputTokens?: string;
  rpm?: string;
  tpm?: string;
  apiKey?: string;
  models?: string;
  maxQueue?: string;
}

const DEFAULT_PORT = new URL(DEFAULT_SIM_URL).port;

/**
 * `koubou sim`: a simulated OpenAI + Ollama server on one port, for trying
 * koubou (and its providers) without a GPU or an API key. Runs until
 * SIGINT/SIGTERM. Answers say they are simulated.
 *
 * @example
 * koubou sim --port 11435 --latency 800 --tokens-per-second 40 --rpm 10 --api-key sk-sim
 * # OpenAI: OPENAI_BASE_URL=http://127.0.0.1:11435/v1   Ollama: OLLAMA_HOST=http://127.0.0.1:11435
 */
export function registerSim(program: Command): void {
  program
    .command('sim')
    .description('run a simulated OpenAI + Ollama server (no GPU, no API key) until Ctrl-C')
    .option('--port <n>', 'port to listen on (0 = any free port)', DEFAULT_PORT)
    .option('--host <addr>', 'interface to bind', '127.0.0.1')
    .option('--latency <ms>', 'time to first token in milliseconds', '0')
    .option('--tokens-per-second <n>', 'output pace after the first token (0 = all at once)', '0')
    .option('--output-tokens <n>', 'visible tokens per answer (default 24)')
    .option('--rpm <n>', 'OpenAI requests per minute before 429 (default: unlimited)')
    .option('--tpm <n>', 'OpenAI tokens per minute before 429 (default: unlimited)')
    .option('--api-key <key>', 'bearer key the OpenAI side requires (default: none checked)')
    .option('--models <list>', `comma-separated models served on both protocols (default: ${[...DEFAULT_OPENAI_MODELS, ...DEFAULT_OLLAMA_MODELS].join(',')})`)
    .option('--max-queue <n>', 'Ollama chat requests in flight before 503 (default: unlimited)')
    .action(async (opts: SimCliOptions) => {
      const sim = await startSimServer(simOptionsFromCli(opts)).catch((e: NodeJS.ErrnoException) => {
        if (e.code === 'EADDRINUSE') throw new InputError(`port ${opts.port} is in use: pick another with --port`);
        throw e;
      });
      process.stdout.write(
        `koubou sim listening on ${sim.url} (simulated answers)\n` +
          `  OpenAI: ${sim.url}/v1   (OpenAI SDK baseURL / tier base_url)\n` +
          `  Ollama: ${sim.url}      (OLLAMA_HOST / tier base_url)\n` +
          `${opts.apiKey ? '  OpenAI side requires the --api-key given\n' : ''}` +
          `  tier config: { provider: sim, base_url: ${sim.url}, model: gpt-oss:20b }  (or base_url …/v1, model: gpt-5)\n` +
          'Ctrl-C to stop.\n',
      );
      const signal = await untilSignal();
      await sim.close();
      process.stderr.write(`koubou sim: stopped on ${signal} after ${sim.stats.requests} requests\n`);
    });
}

/** The CLI's options as {@link SimOptions}; bad numbers are input errors. */
export function simOptionsFromCli(opts: SimCliOptions): SimOptions {
  const options: SimOptions = {
    port: count('--port', opts.port, 0),
    host: opts.host,
    latencyMs: count('--latency', opts.latency, 0),
    tokensPerSecond: count('--tokens-per-second', opts.tokensPerSecond, 0),
  };
  if (opts.outputTokens !== undefined) options.outputTokens = count('--output-tokens', opts.outputTokens, 0);
  if (opts.rpm !== undefined || opts.tpm !== undefined) {
    options.rateLimit = {
      rpm: opts.rpm === undefined ? null : count('--rpm', opts.rpm, 1),
      tpm: opts.tpm === undefined ? null : count('--tpm', opts.tpm, 1),
    };
  }
  if (opts.apiKey !== undefined) {
    if (opts.apiKey.trim() === '') throw new InputError('--api-key must not be empty');
    options.apiKey = opts.apiKey;
  }
  if (opts.models !== undefined) {
    const models = opts.models.split(',').map((m) => m.trim()).filter(Boolean);
    if (models.length === 0) throw new InputError('--models needs at least one model name');
    options.models = { openai: models, ollama: models };
  }
  if (opts.maxQueue !== undefined) options.maxQueue = count('--max-queue', opts.maxQueue, 1);
  return options;
}

function count(option: string, value: string, min: number): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < min) {
    throw new InputError(`${option} must be an integer of at least ${min}, got ${JSON.stringify(value)}`);
  }
  return n;
}
