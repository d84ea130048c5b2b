import { hostname } from 'node:os';
import type { Command } from 'commander';
import { Worker } from '../../../actors/worker/index.ts';
import { SAFE_TOKEN } from '../../bus/index.ts';
import { InputError } from '../../core/errors.ts';
import { isCloudTier, TIERS, type Tier } from '../../core/types.ts';
import { InProcessSimProvider } from '../../llm/InProcessSimProvider.ts';
import { natsContext, natsOption, untilSignal } from '../natsContext.ts';

interface WorkerCliOptions {
  tier: string;
  id?: string;
  nats?: string;
  maxConcurrent?: string;
  simLatency?: string;
}

/**
 * `koubou worker --tier T`: runs one worker of a tier until SIGINT/SIGTERM,
 * then stops gracefully (tasks in flight finish) and exits 0. It connects as
 * `cloud_worker` for the GPT-5 tiers and `local_worker` for `local`, with the
 * password from `KOUBOU_NATS_<ROLE>_PASSWORD` (or .koubou/credentials.env).
 *
 * @example
 * koubou worker --tier gpt5_medium --max-concurrent 4 --sim-latency 1500
 */
export function registerWorker(program: Command): void {
  natsOption(
    program
      .command('worker')
      .description('run a worker: pulls one tier\'s work, runs it, reports back (simulated provider for now)')
      .requiredOption('--tier <tier>', `tier to serve: ${TIERS.join(', ')}`)
      .option('--id <workerId>', 'worker id in reports and heartbeats (default: <tier>-<hostname>-<pid>)')
      .option('--max-concurrent <n>', 'tasks in flight at once (default: the config entry for this id, else 1)')
      .option('--sim-latency <ms>', 'latency of the simulated provider in milliseconds', '0'),
  ).action(async (opts: WorkerCliOptions) => {
    const tier = parseTier(opts.tier);
    const maxConcurrent = opts.maxConcurrent === undefined ? undefined : parseCount('--max-concurrent', opts.maxConcurrent, 1);
    const latencyMs = parseCount('--sim-latency', opts.simLatency ?? '0', 0);
    const workerId = opts.id ?? `${tier}-${hostname().replace(/[^A-Za-z0-9_-]/g, '_')}-${process.pid}`.slice(0, 128);
    const ctx = natsContext(program, opts);
    const provider = new InProcessSimProvider({ latencyMs });
    if (!SAFE_TOKEN.test(workerId)) throw new InputError(`--id must be 1-128 letters, digits, _ or -, got ${JSON.stringify(workerId)}`);
    const nc = await ctx.connect(isCloudTier(tier) ? 'cloud_worker' : 'local_worker', `koubou-worker-${workerId}`);
    let worker: Worker;
    try {
      worker = new Worker({
        nc, tier, workerId, provider, config: ctx.config, endpoint: 'sim://in-process', log: (l) => console.error(l),
        ...(maxConcurrent ? { maxConcurrent } : {}),
      });
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

function parseTier(value: string): Tier {
  if ((TIERS as readonly string[]).includes(value)) return value as Tier;
  throw new InputError(`unknown tier ${JSON.stringify(value)}; valid tiers: ${TIERS.join(', ')}`);
}

function parseCount(option: string, value: string, min: number): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < min) {
    throw new InputError(`${option} must be an integer of at least ${min}, got ${JSON.stringify(value)}`);
  }
  return n;
}
