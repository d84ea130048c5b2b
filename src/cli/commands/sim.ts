import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { InputError } from '../../core/errors.ts';
import { DEFAULT_SIM_URL } from '../../llm/createProvider.ts';
import { DEFAULT_OLLAMA_MODELS, DEFAULT_OPENAI_MODELS, startSimServer, type ScriptedCall, type SimFault, type SimOptions } from '../../llm/sim/index.ts';
import { untilSignal } from '../natsContext.ts';
import { parseIntOption } from '../parseIntOption.ts';

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
  fail?: string;
  failRatio?: string;
  call?: string[];
  script?: string;
}

const FAULT_HELP = `
Injected failures (--fail KIND, to every chat request, or to a share of them with
--fail-ratio R, drawn reproducibly):
  500, 503, 429 ...   an HTTP error with the protocol's error body (429 with Retry-After: 1)
  malformed           a 200 whose body is not valid JSON
  cut                 the stream starts, then the connection is cut halfway
  hang                the request is accepted and never answered

Examples:
  koubou sim --port 11435 --latency 800 --tokens-per-second 40 --rpm 10
  koubou sim --fail 503 --fail-ratio 0.2     # one request in five: 503 (Ollama: "server busy")
  koubou sim --fail cut --fail-ratio 0.1`;

const DEFAULT_PORT = new URL(DEFAULT_SIM_URL).port;

/**
 * `koubou sim`: a simulated OpenAI + Ollama + Anthropic server on one port, for trying
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
    .description('run a simulated OpenAI + Ollama + Anthropic server (no GPU, no API key) until Ctrl-C')
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
    .option('--fail <kind>', 'inject failures: an HTTP status (500, 503, 429 ...), malformed, cut or hang')
    .option('--fail-ratio <r>', 'share of chat requests that get the --fail failure, 0 to 1 (default 1)')
    .option('--call <tool:json>', 'call the function TOOL with these JSON arguments when a request offers it, until the conversation holds its output (Responses, Chat Completions and Ollama; repeatable), e.g. --call \'exec_command:{"cmd":"ls"}\'', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--script <file>', 'an agent\'s turns: a JSON array of {"call": TOOL, "arguments": {...}}, one call per request in order, then answers (see below)')
    .addHelpText('after', FAULT_HELP + SCRIPT_HELP)
    .action(async (opts: SimCliOptions) => {
      const sim = await startSimServer(simOptionsFromCli(opts)).catch((e: NodeJS.ErrnoException) => {
        if (e.code === 'EADDRINUSE') throw new InputError(`port ${opts.port} is in use: pick another with --port`);
        throw e;
      });
      process.stdout.write(
        `koubou sim listening on ${sim.url} (simulated answers)\n` +
          `  OpenAI: ${sim.url}/v1   (OpenAI SDK baseURL / tier base_url)\n` +
          `  Ollama: ${sim.url}      (OLLAMA_HOST / tier base_url)\n` +
          `  Anthropic: ${sim.url}   (Anthropic SDK baseURL / an anthropic tier's base_url: POST /v1/messages)\n` +
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
    port: parseIntOption('--port', opts.port, 0),
    host: opts.host,
    latencyMs: parseIntOption('--latency', opts.latency, 0),
    tokensPerSecond: parseIntOption('--tokens-per-second', opts.tokensPerSecond, 0),
  };
  if (opts.outputTokens !== undefined) options.outputTokens = parseIntOption('--output-tokens', opts.outputTokens, 0);
  if (opts.rpm !== undefined || opts.tpm !== undefined) {
    options.rateLimit = {
      rpm: opts.rpm === undefined ? null : parseIntOption('--rpm', opts.rpm, 1),
      tpm: opts.tpm === undefined ? null : parseIntOption('--tpm', opts.tpm, 1),
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
  if (opts.call && opts.call.length > 0) options.toolCalls = Object.fromEntries(opts.call.map(toolCallOf));
  if (opts.script !== undefined) options.turns = readTurns(opts.script);
  if (opts.maxQueue !== undefined) options.maxQueue = parseIntOption('--max-queue', opts.maxQueue, 1);
  if (opts.failRatio !== undefined && opts.fail === undefined) throw new InputError('--fail-ratio needs --fail KIND');
  if (opts.fail !== undefined) {
    const ratio = opts.failRatio === undefined ? 1 : Number(opts.failRatio);
    if (opts.failRatio !== undefined && (opts.failRatio.trim() === '' || !(ratio >= 0 && ratio <= 1))) {
      throw new InputError(`--fail-ratio must be a number from 0 to 1, got ${JSON.stringify(opts.failRatio)}`);
    }
    options.inject = { fault: faultOf(opts.fail), ratio };
  }
  return options;
}

const SCRIPT_HELP = `
Agent turns (--script FILE): the n-th request of a conversation (one holding n-1 tool outputs)
gets the n-th call when it offers that function; after the last, an answer. Codex CLI's shell
tool is exec_command, e.g.
  [{ "call": "exec_command", "arguments": { "cmd": "mkdir -p src && echo 'export const x = 1;' > src/x.ts" } },
   { "call": "exec_command", "arguments": { "cmd": "npm test" } }]
`;

/** `--script FILE`: the turns, each a call of a function with a JSON object of arguments. */
export function readTurns(file: string): ScriptedCall[] {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new InputError(`--script ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : `not JSON (${(e as Error).message})`}`);
  }
  if (!Array.isArray(value)) throw new InputError(`--script ${file}: expected a JSON array of turns, found ${typeof value}`);
  return value.map((t, i) => {
    const turn = t as { call?: unknown; arguments?: unknown };
    if (typeof turn?.call !== 'string' || !/^[A-Za-z0-9_-]+$/.test(turn.call)) throw new InputError(`--script ${file}: turn ${i + 1}: "call" must be a function name`);
    if (turn.arguments === null || typeof turn.arguments !== 'object' || Array.isArray(turn.arguments)) throw new InputError(`--script ${file}: turn ${i + 1}: "arguments" must be a JSON object`);
    return { name: turn.call, arguments: JSON.stringify(turn.arguments) };
  });
}

/** `--call NAME:JSON`: a function to call and the arguments, which must be a JSON object. */
function toolCallOf(spec: string): [string, string] {
  const colon = spec.indexOf(':');
  const name = spec.slice(0, colon);
  const args = spec.slice(colon + 1);
  if (colon < 1 || !/^[A-Za-z0-9_-]+$/.test(name)) throw new InputError(`--call must be TOOL:JSON (a function name, a colon, its arguments), got ${JSON.stringify(spec)}`);
  try {
    const parsed: unknown = JSON.parse(args);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
  } catch {
    throw new InputError(`--call ${name}: the arguments must be a JSON object, got ${JSON.stringify(args)}`);
  }
  return [name, args];
}

function faultOf(kind: string): SimFault {
  if (kind === 'malformed') return { malformedJson: true };
  if (kind === 'cut') return { cutStream: true };
  if (kind === 'hang') return { hang: true };
  const status = Number(kind);
  if (/^\d{3}$/.test(kind) && status >= 400 && status <= 599) return status === 429 ? { status, retryAfterMs: 1000 } : { status };
  throw new InputError(`--fail must be an HTTP status from 400 to 599, malformed, cut or hang; got ${JSON.stringify(kind)}`);
}
