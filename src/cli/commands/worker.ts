import { hostname } from 'node:os';
import type { Command } from 'commander';
import { Worker } from '../../../actors/worker/index.ts';
import { checkBackend, resolveBackend, type BackendFlags } from '../../../actors/worker/backend.ts';
import { SAFE_TOKEN, type WorkerLocation } from '../../bus/index.ts';
import { InputError } from '../../core/errors.ts';
import { isCloudTier, tierNames, type KoubouConfig } from '../../config/index.ts';
import type { Tier } from '../../core/types.ts';
import { natsContext, natsOption, untilSignal } from '../natsContext.ts';
import { parseIntOption } from '../parseIntOption.ts';
import { AGENT_KEY_VAR, agentWorkerSetup } from './agentWorker.ts';

interface WorkerCliOptions {
  tier: string;
  id?: string;
  nats?: string;
  maxConcurrent?: string;
  ollama?: string;
  lmstudio?: string;
  openaiBaseUrl?: string;
  sim?: string;
  simLatency?: string;
  model?: string;
  timeout?: string;
  location?: string;
  agent?: boolean;
  gateway?: string;
  codex?: string;
}

const BACKEND_HELP = `
Backend: the tier's provider, model and base_url from the config, unless one of
--ollama, --lmstudio, --openai-base-url, --sim or --sim-latency overrides it.
The openai provider takes its key from OPENAI_API_KEY or the encrypted keystore
(\`koubou keys set openai\` with KOUBOU_MASTER_PASSWORD); it is never printed.

Before taking any work the worker checks its backend (the server answers and
has the model). If it does not, the worker refuses to start and exits 2 with
what to do, e.g. \`ollama pull gpt-oss:20b\` on the Ollama host: a worker that
took tasks it cannot run would only make them fail or fall back after retries.
A backend that fails later (down, overloaded, rate limited) is retried per the
tier's retry policy, then reported so the task falls back to the next tier.

Examples:
  koubou worker --tier gpt5_high
  koubou worker --tier local --ollama http://gpu-box:11434 --nats nats://master:4222 --id remote_lan_001
  koubou worker --tier local --lmstudio http://127.0.0.1:1234 --model openai/gpt-oss-20b
  koubou worker --tier gpt5_medium --sim http://127.0.0.1:11435`;

/**
 * `koubou worker --tier T`: runs one worker of a tier until SIGINT/SIGTERM,
 * then stops gracefully (tasks in flight finish) and exits 0. It connects as
 * `cloud_worker` for the GPT-5 tiers and `local_worker` for `local`, with the
 * password from `KOUBOU_NATS_<ROLE>_PASSWORD` (or .koubou/credentials.env).
 * A backend that is not ready (no key, no model, unreachable) is an input
 * error: exit 2 before the worker touches the bus.
 *
 * @example
 * koubou worker --tier local --ollama http://192.168.1.20:11434 --nats nats://192.168.1.10:4222 --id remote_lan_001
 * koubou worker --tier gpt5_medium --max-concurrent 4 --sim-latency 1500   # in-process simulator
 */
export function registerWorker(program: Command): void {
  natsOption(
    program
      .command('worker')
      .description('run a worker: pulls one tier\'s work, runs it on the tier\'s LLM backend, reports back')
      .requiredOption('--tier <tier>', 'tier to serve: a tier of the config (default: gpt5_high, gpt5_medium, local)')
      .option('--id <workerId>', 'worker id in reports and heartbeats (default: <tier>-<hostname>-<pid>)')
      .option('--max-concurrent <n>', 'tasks in flight at once (default: the config entry for this id, else 1)')
      .option('--ollama <url>', 'use the Ollama server at this URL (location is remote unless it is localhost)')
      .option('--lmstudio <url>', 'use the LM Studio server at this URL')
      .option('--openai-base-url <url>', 'send the openai provider\'s calls to this OpenAI-compatible URL')
      .option('--sim <url>', 'use a `koubou sim` server at this URL (simulated answers)')
      .option('--sim-latency <ms>', 'use the in-process simulator with this latency (tests, benchmarks; simulated answers)')
      .option('--model <name>', 'model name at the backend, instead of the tier\'s')
      .option('--timeout <seconds>', 'give a backend call up after this long without data (default: the id\'s network_timeout in workers.remote_workers, else 600 for OpenAI, 300 for Ollama and LM Studio)')
      .option('--location <where>', 'local (the model server is on the master machine) or remote (a LAN host); default: remote if the id is in workers.remote_workers or the backend URL is not loopback')
      .option('--agent', `take the tier's agent work: run OpenAI's Codex CLI in each task's workspace, its model requests through the gateway ($${AGENT_KEY_VAR} holds a gateway key)`)
      .option('--gateway <url>', 'the gateway an agent\'s model requests go to (default http://127.0.0.1:8788/v1)')
      .option('--codex <path>', 'the Codex CLI (default: codex on PATH)')
      .addHelpText('after', BACKEND_HELP),
  ).action(async (opts: WorkerCliOptions) => {
    const ctx = natsContext(program, opts);
    const tier = parseTier(opts.tier, ctx.config);
    const maxConcurrent = opts.maxConcurrent === undefined ? undefined : parseIntOption('--max-concurrent', opts.maxConcurrent, 1);
    const workerId = opts.id ?? `${tier}-${hostname().replace(/[^A-Za-z0-9_-]/g, '_')}-${process.pid}`.slice(0, 128);
    if (!SAFE_TOKEN.test(workerId)) throw new InputError(`--id must be 1-128 letters, digits, _ or -, got ${JSON.stringify(workerId)}`);
    const location = parseLocation(opts.location);
    const entry = ctx.config.workers.remote_workers.find((w) => w.worker_id === workerId);
    const flags = backendFlags(opts);
    // A configured LAN host: its own Ollama URL and network time-out, unless the command line says otherwise.
    if (entry && !URL_FLAGS.some((f) => flags[f] !== undefined) && flags.simLatencyMs === undefined) flags.ollama = `http://${entry.remote_host}:${entry.remote_port}`;
    if (entry && flags.timeoutMs === undefined) flags.timeoutMs = entry.network_timeout * 1000;
    // A backend is checked before connecting: a missing key or model is the user's to fix, whatever the bus.
    const backend = opts.agent ? null : await resolveBackend(ctx.config, tier, flags, ctx.env as NodeJS.ProcessEnv);
    if (backend) {
      await checkBackend(backend);
      console.error(`worker ${workerId}: backend ${backend.description}`);
    }
    const nc = await ctx.connect(isCloudTier(ctx.config, tier) ? 'cloud_worker' : 'local_worker', `koubou-worker-${workerId}`);
    let worker: Worker;
    try {
      if (!backend) {
        // An agent's model calls go through the gateway: no backend of its own to check.
        const agent = agentWorkerSetup(nc, tier, opts, ctx.env as NodeJS.ProcessEnv, ctx.config);
        console.error(`worker ${workerId}: ${agent.description}`);
        worker = new Worker({
          nc, tier, workerId, provider: agent.provider, config: ctx.config, endpoint: opts.gateway ?? 'http://127.0.0.1:8788/v1',
          executor: agent.executor, consumers: agent.consumers, location: location ?? 'local', log: (l) => console.error(l), ...(maxConcurrent ? { maxConcurrent } : {}),
        });
      } else {
        worker = new Worker({
          nc, tier, workerId, provider: backend.provider, config: backend.config, endpoint: backend.endpoint,
          location: location ?? (entry ? 'remote' : backend.location), log: (l) => console.error(l), ...(maxConcurrent ? { maxConcurrent } : {}),
        });
      }
      await worker.start();
    } catch (e) {
      // Wrong credentials for the tier, an unpriced model: say so and exit, do not hang reconnecting.
      await nc.close();
      throw e;
    }
    console.error(`worker ${workerId}: tier ${tier}, ${worker.maxConcurrent} slots, pulling from ${ctx.url}`);
    await untilSignal();
    await worker.stop();
    await nc.drain().catch(() => {});
  });
}

function backendFlags(opts: WorkerCliOptions): BackendFlags {
  const flags: BackendFlags = {};
  if (opts.ollama !== undefined) flags.ollama = opts.ollama;
  if (opts.lmstudio !== undefined) flags.lmstudio = opts.lmstudio;
  if (opts.openaiBaseUrl !== undefined) flags.openaiBaseUrl = opts.openaiBaseUrl;
  if (opts.sim !== undefined) flags.sim = opts.sim;
  if (opts.simLatency !== undefined) flags.simLatencyMs = parseIntOption('--sim-latency', opts.simLatency, 0);
  if (opts.timeout !== undefined) flags.timeoutMs = parseIntOption('--timeout', opts.timeout, 1) * 1000;
  if (opts.model !== undefined) {
    if (opts.model.trim() === '') throw new InputError('--model must not be empty');
    flags.model = opts.model;
  }
  return flags;
}

const URL_FLAGS = ['ollama', 'lmstudio', 'openaiBaseUrl', 'sim'] as const;

function parseLocation(value: string | undefined): WorkerLocation | undefined {
  if (value === undefined || value === 'local' || value === 'remote') return value;
  throw new InputError(`--location must be local or remote, got ${JSON.stringify(value)}`);
}

function parseTier(value: string, config: KoubouConfig): Tier {
  if (config.tiers[value]) return value;
  throw new InputError(`unknown tier ${JSON.stringify(value)}; valid tiers: ${tierNames(config).join(', ')}`);
}
