import { hostname } from 'node:os';
import type { Command } from 'commander';
import { PoolManager } from '../../../actors/pool/PoolManager.ts';
import { InputError } from '../../core/errors.ts';
import { repoPath } from '../../core/repoPath.ts';
import { ChildSupervisor } from '../ChildSupervisor.ts';
import { natsContext, natsOption, untilSignal } from '../natsContext.ts';
import { parseIntOption } from '../parseIntOption.ts';

const ENTRY = repoPath('bin', 'koubou.js');

interface PoolCliOptions {
  nats?: string;
  min?: string;
  max?: string;
  maxActiveTasks?: string;
  idPrefix?: string;
  remote: boolean;
  ollama?: string;
  lmstudio?: string;
  sim?: string;
  simLatency?: string;
  model?: string;
}

const PASSED_ON = [['ollama', '--ollama'], ['lmstudio', '--lmstudio'], ['sim', '--sim'], ['simLatency', '--sim-latency'], ['model', '--model']] as const;

/**
 * `koubou pool`: the local tier's worker pool on this machine (the seed's
 * WorkerPoolManager). It runs between `--min` and `--max` `koubou worker
 * --tier local` processes against this machine's model server, more while the
 * local queue is deep and fewer after it has been empty for
 * `pool.scale_down_idle_seconds`, restarts one that dies, and runs one worker
 * for each configured `workers.remote_workers` host (they are restarted too).
 *
 * @example
 * koubou pool --min 1 --max 4 --max-active-tasks 2 --ollama http://127.0.0.1:11434
 */
export function registerPool(program: Command): void {
  natsOption(
    program
      .command('pool')
      .description('run the local tier\'s worker pool on this machine: scales `koubou worker` processes with the queue, restarts dead ones')
      .option('--min <n>', 'worker processes kept running at least (default: config pool.min_workers)')
      .option('--max <n>', 'worker processes at most (default: config pool.max_workers)')
      .option('--max-active-tasks <n>', 'tasks in flight per worker process (default: config pool.max_active_tasks)')
      .option('--id-prefix <prefix>', 'worker ids are <prefix>-<n> (default: pool-<hostname>)')
      .option('--no-remote', 'do not run workers for the configured workers.remote_workers hosts')
      .option('--ollama <url>', 'the Ollama server the pool\'s workers use (default: tiers.local\'s)')
      .option('--lmstudio <url>', 'an LM Studio server instead')
      .option('--sim <url>', 'a `koubou sim` server instead (simulated answers)')
      .option('--sim-latency <ms>', 'the in-process simulator instead (simulated answers)')
      .option('--model <name>', 'model name at the backend, instead of the tier\'s'),
  ).action(async (opts: PoolCliOptions) => {
    const ctx = natsContext(program, opts);
    const pool = ctx.config.pool;
    const min = opts.min === undefined ? pool.min_workers : parseIntOption('--min', opts.min, 0);
    const max = opts.max === undefined ? pool.max_workers : parseIntOption('--max', opts.max, 1);
    if (min > max) throw new InputError(`--min (${min}) must not exceed --max (${max})`);
    const perWorker = opts.maxActiveTasks === undefined ? pool.max_active_tasks : parseIntOption('--max-active-tasks', opts.maxActiveTasks, 1);
    const prefix = opts.idPrefix ?? `pool-${hostname().replace(/[^A-Za-z0-9_-]/g, '_')}`.slice(0, 100);
    if (!/^[A-Za-z0-9_-]{1,100}$/.test(prefix)) throw new InputError(`--id-prefix must be letters, digits, _ or -, got ${JSON.stringify(prefix)}`);
    const common = [
      ...(program.opts().config ? ['--config', String(program.opts().config)] : []),
      '--nats', ctx.url,
    ];
    const backend = PASSED_ON.flatMap(([key, flag]) => (opts[key] === undefined ? [] : [flag, String(opts[key])]));
    const env = { ...ctx.env };
    const supervisor = new ChildSupervisor(ENTRY, (line) => console.error(line));
    if (opts.remote) {
      for (const w of ctx.config.workers.remote_workers) {
        supervisor.start({ name: w.worker_id, args: ['worker', '--tier', 'local', '--id', w.worker_id, ...common], env });
        console.error(`pool: ${w.worker_id} for the LAN host ${w.remote_host}:${w.remote_port}`);
      }
    }
    const nc = await ctx.connect('local_worker', `koubou-pool-${prefix}`);
    const manager = new PoolManager({
      nc, processes: supervisor, minWorkers: min, maxWorkers: max, maxActiveTasks: perWorker,
      checkEveryMs: pool.scale_check_seconds * 1000, scaleDownIdleMs: pool.scale_down_idle_seconds * 1000,
      workerSpec: (n) => ({
        name: `${prefix}-${n}`,
        args: ['worker', '--tier', 'local', '--id', `${prefix}-${n}`, '--max-concurrent', String(perWorker), ...backend, ...common],
        env,
      }),
      log: (line) => console.error(line),
    });
    await manager.start();
    console.error(`pool: ${min}-${max} local workers of ${perWorker} slots, scaling with the local queue on ${ctx.url}`);
    await untilSignal();
    manager.stop();
    await supervisor.stop([supervisor.names()]);
    await nc.drain().catch(() => {});
  });
}
