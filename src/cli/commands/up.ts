import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { planUpBackend, type UpBackendPlan } from '../../../actors/worker/backend.ts';
import {
  busTlsFiles, connectBus, describeReplicas, ensureStreams, loadOrCreateCredentials, NatsCluster, NatsServerProcess, replicasFor, serverConfFile,
  streamOptionsFrom, TLS_CA_VAR,
} from '../../bus/index.ts';
import { loadConfig, tierNames } from '../../config/index.ts';
import { InputError } from '../../core/errors.ts';
import { repoPath } from '../../core/repoPath.ts';
import type { Tier } from '../../core/types.ts';
import { ChildSupervisor } from '../ChildSupervisor.ts';
import { ensureNatsServer } from '../ensureNatsServer.ts';
import { CREDENTIALS_FILE, STATE_DIR, UP_FILE, untilSignal } from '../natsContext.ts';
import { runUpDemo } from './demoUp.ts';
import { DEMO_HIGH_RPM } from '../../demo/samples.ts';
import { GATEWAY_KEYS_VAR } from './gateway.ts';
import { AGENT_KEY_VAR } from './agentWorker.ts';

const ENTRY = repoPath('bin', 'koubou.js');

interface UpOptions {
  port: string;
  dashboardPort: string;
  gatewayPort: string;
  workers: boolean;
  slots?: string;
  demo?: boolean;
  agent: boolean;
  cluster?: string;
}

/**
 * `koubou up`: the whole system on this machine, supervised, until Ctrl-C;
 * with `--demo`, a self-contained tour of the routing on simulated backends.
 *
 * @example
 * koubou up                 # nats-server, ledger, router, one worker per tier
 * koubou up --demo          # the same on simulated backends, a Codex master handing out subtasks, sample tasks, a routing table
 */
export function registerUp(program: Command): void {
  program
    .command('up')
    .description('run the whole system on this machine: nats-server (unless NATS_URL is set), ledger, router, one worker per tier')
    .option('--port <n>', 'client port of the nats-server it starts (0: any free port; with --demo the default is any free port)', '4222')
    .option('--no-workers', 'start no workers (run them elsewhere with `koubou worker`)')
    .option('--slots <n>', 'tasks in flight per worker (default: the config entry for the worker, else 1; --demo: 4)')
    .option('--dashboard-port <n>', 'port of the web dashboard it serves on 127.0.0.1 (0: any free port)', '8787')
    .option('--gateway-port <n>', `port of the OpenAI-API gateway on 127.0.0.1 (keys: koubou keys gateway create, or ${GATEWAY_KEYS_VAR}; --demo makes a demo key; 0: any free port)`, '8788')
    .option('--cluster <nodes>', 'start a JetStream cluster of this many nats-server nodes (3) instead of one, with 3 copies of every stream (nodes on --port, --port+1, ...)')
    .option('--demo', 'run a demo: every tier on a simulated backend (koubou sim), sample tasks through the routing, a table of where each went and why')
    .option('--no-agent', 'with --demo: no Codex CLI (no install) and no master delegating subtasks through koubou mcp')
    .addHelpText('after', [
      '',
      `State (NATS data, ledger, generated credentials) lives in ${STATE_DIR}/. Ctrl-C stops everything cleanly.`,
      '',
      `--cluster 3 runs three nodes from nats-cluster.conf (data in ${STATE_DIR}/nats-cluster/n1..n3, logs`,
      `${STATE_DIR}/nats-n1..3.log); every actor is given all three, so any one node can stop and the system goes on.`,
      '',
      'A tier whose backend is not set up yet (no OpenAI key; no Ollama answering at the',
      "tier's base_url) gets a worker on the in-process simulator, and `up` says so.",
      '',
      `--demo starts its own nats-server, the actors and three simulated backends (state in ${STATE_DIR}/demo/,`,
      `fresh each run; gpt5_high limited to ${DEMO_HIGH_RPM} requests a minute). A master, a real Codex CLI session`,
      '(Codex installed with npm when missing) whose model is a scripted simulator, hands three subtasks to',
      'the tiers through koubou mcp: a secret (local), a hard design (gpt5_high), a trivial fix whose tests',
      'fail on local and pass on gpt5_medium (Codex agents as craftsmen); the tree of its subtasks is printed.',
      'Then sample tasks (a secret, an architecture design, a refactor, a typo fix, a budget near its limit,',
      'a burst against the rate limit) and the routing table with tier, reason, fallbacks, tokens and cost;',
      'then it keeps running for `koubou submit` until Ctrl-C. No API key, no GPU, nothing charged.',
    ].join('\n'))
    .action(async (opts: UpOptions, cmd: Command) => {
      const slots = opts.slots === undefined ? undefined : parseSlots(opts.slots);
      if (opts.agent === false && !opts.demo) throw new InputError('--no-agent goes with --demo: only the demo starts a Codex master');
      if (opts.cluster !== undefined && opts.demo) throw new InputError('--cluster does not go with --demo: the demo runs on one nats-server');
      if (opts.demo) {
        if (!opts.workers) throw new InputError('--demo runs its own workers: drop --no-workers');
        // The default 4222 may be a real `koubou up`'s: the demo takes any free port unless told.
        const port = cmd.getOptionValueSource('port') === 'cli' ? parsePort(opts.port) : -1;
        await runUpDemo(program, {
          port, dashboardPort: Math.max(0, parsePort(opts.dashboardPort, '--dashboard-port')),
          gatewayPort: Math.max(0, parsePort(opts.gatewayPort, '--gateway-port')), ...(slots ? { slots } : {}), master: opts.agent,
        });
        return;
      }
      await up(program, opts, slots);
    });
}

async function up(program: Command, opts: UpOptions, slots: number | undefined): Promise<void> {
  const config = loadConfig({ file: program.opts().config });
  mkdirSync(STATE_DIR, { recursive: true });
  // TLS when `koubou init` made certificates here: the server's conf, and the CA every actor verifies it with.
  const single = serverConfFile('single', process.cwd());
  const caEnv: Record<string, string> = single.tls ? { [TLS_CA_VAR]: busTlsFiles(process.cwd()).caCert } : {};
  const creds = loadOrCreateCredentials(resolve(CREDENTIALS_FILE));
  const env = { ...process.env, ...creds, ...caEnv };
  const plans = new Map<Tier, UpBackendPlan>();
  for (const tier of opts.workers ? tierNames(config) : []) plans.set(tier, await planUpBackend(config, tier, env));
  let server: NatsServerProcess | null = null;
  let cluster: NatsCluster | null = null;
  let url = config.nats.url;
  const nodes = opts.cluster === undefined ? 0 : parseClusterSize(opts.cluster);
  if (nodes && url) throw new InputError(`--cluster starts its own nodes, but NATS_URL (nats.url) is set to ${url}: unset it, or leave out --cluster`);
  if (!url) {
    ensureNatsServer('koubou up runs its own NATS server');
    if (nodes) {
      const base = parsePort(opts.port);
      const conf = serverConfFile('cluster', process.cwd());
      cluster = await NatsCluster.start({
        configFile: conf.configFile, cwd: conf.projectDir, tls: conf.tls, env: { ...creds, ...caEnv }, size: nodes,
        ...(base > 0 ? { ports: Array.from({ length: nodes }, (_, i) => base + i) } : {}),
        storeDir: resolve(STATE_DIR, 'nats-cluster'), logDir: resolve(STATE_DIR),
      });
      url = cluster.url;
    } else {
      server = await NatsServerProcess.start({
        configFile: single.configFile, cwd: single.projectDir, tls: single.tls, env: creds, port: parsePort(opts.port), httpPort: -1,
        storeDir: resolve(STATE_DIR, 'nats'), logFile: resolve(STATE_DIR, 'nats-server.log'),
      });
      url = server.url;
    }
  }
  // Streams first, so that workers (which may not create them) find their queues.
  const nc = await connectBus({ url, role: 'router', env });
  const streamOptions = streamOptionsFrom(config);
  await ensureStreams(nc, streamOptions);
  const replicas = describeReplicas(nc, replicasFor(nc, streamOptions.replicas));
  await nc.close();
  const childEnv = { ...env, NATS_URL: url, KOUBOU_DB: resolve(config.ledger.path) };
  const configArgs = program.opts().config ? ['--config', program.opts().config] : [];
  const supervisor = new ChildSupervisor(ENTRY, (line) => console.log(line));
  supervisor.start({ name: 'ledger', args: [...configArgs, 'ledger'], env: childEnv });
  supervisor.start({ name: 'router', args: [...configArgs, 'router', '--id', 'router-1'], env: childEnv });
  supervisor.start({ name: 'dashboard', args: [...configArgs, 'dashboard', '--port', opts.dashboardPort], env: childEnv });
  // Agent workers, where the Codex CLI is installed: their model requests go through this gateway, with a key made for this run.
  const codex = spawnSync('codex', ['--version'], { encoding: 'utf8' });
  const agentKey = !codex.error && opts.gatewayPort !== '0' && opts.workers ? `kb-agent-${randomBytes(24).toString('hex')}` : null;
  const agentNote = agentKey ? `${codex.stdout.trim()}, one agent worker per tier (koubou submit --repo)`
    : codex.error ? 'none: install OpenAI\'s Codex CLI (npm install -g @openai/codex) for koubou submit --repo'
      : opts.workers ? 'none: the gateway is on a free port (--gateway-port 0), which agent workers cannot be told' : 'none (--no-workers)';
  // The OpenAI API: keys from `koubou keys gateway create` (kept by the ledger) and $KOUBOU_GATEWAY_KEYS.
  const gatewayKeys = [env[GATEWAY_KEYS_VAR], agentKey].filter(Boolean).join(',');
  // The gateway makes cloud calls itself (the interactive path): simulated where their workers are.
  const simulated = [...plans].filter(([, plan]) => plan.simulated).map(([tier]) => tier);
  supervisor.start({
    name: 'gateway', env: { ...childEnv, [GATEWAY_KEYS_VAR]: gatewayKeys },
    args: [...configArgs, 'gateway', '--port', opts.gatewayPort, ...(simulated.length ? ['--simulate-tiers', simulated.join(',')] : [])],
  });
  const agentWorkers = agentKey ? [...plans.keys()].map((tier) => `agent-${tier}`) : [];
  for (const tier of agentKey ? [...plans.keys()] : []) {
    supervisor.start({
      name: `agent-${tier}`, env: { ...childEnv, [AGENT_KEY_VAR]: agentKey! },
      args: [...configArgs, 'worker', '--tier', tier, '--agent', '--id', `${tier}-agent-1`, '--gateway', `http://127.0.0.1:${opts.gatewayPort}/v1`],
    });
  }
  const workers = [...[...plans.keys()].map((tier) => `worker-${tier}`), ...agentWorkers];
  for (const [tier, plan] of plans) {
    supervisor.start({
      name: `worker-${tier}`, env: childEnv,
      args: [...configArgs, 'worker', '--tier', tier, '--id', `${tier}-1`, ...(slots ? ['--max-concurrent', String(slots)] : []), ...plan.args],
    });
  }
  writeFileSync(resolve(UP_FILE), JSON.stringify({ natsUrl: url, pid: process.pid, startedAt: new Date().toISOString() }, null, 2));
  console.log([
    'koubou is up:',
    `  NATS       ${url}${server ? ` (nats-server pid ${server.pid}, data in ${STATE_DIR}/nats, monitoring http://127.0.0.1:${server.httpPort})` : ''}`,
    ...(cluster ? [`             ${nodes}-node cluster: ${cluster.nodes.map((n, i) => `n${i + 1} pid ${n.pid}`).join(', ')}; data in ${STATE_DIR}/nats-cluster/n1..n${nodes}`] : []),
    `  streams    ${replicas}`,
    `  bus        ${busLine(url, env)}`,
    `  ledger     ${resolve(config.ledger.path)}`,
    `  router     router-1`,
    `  dashboard  ${opts.dashboardPort === '0' ? 'on a free port (its log line below gives the address)' : `http://127.0.0.1:${opts.dashboardPort}`}`,
    `  gateway    ${opts.gatewayPort === '0' ? 'on a free port (its log line below gives the address)'
      : `http://127.0.0.1:${opts.gatewayPort}/v1 (models koubou, koubou/<tier>; a key: koubou keys gateway create NAME)`}`,
    `  workers    ${workers.length ? workers.join(', ') : 'none (start them with `koubou worker --tier T`)'}`,
    `  agents     ${agentNote}`,
    ...[...plans].map(([tier, plan], i) => `  ${i === 0 ? 'backends' : '        '}   ${tier}: ${plan.note}`),
    `  submit     koubou submit --wait "fix a typo in README.md"`,
    '  Ctrl-C stops everything.',
  ].join('\n'));
  const sig = await untilSignal();
  console.log(`koubou: ${sig}: stopping dashboard, workers, router, ledger${server ? ', nats-server' : cluster ? `, ${nodes} nats-server nodes` : ''}...`);
  await supervisor.stop([['dashboard', 'gateway', ...workers], ['router'], ['ledger']]);
  await server?.stop({ clean: false });
  await cluster?.stop();
  console.log('koubou: stopped');
}

/**
 * The one line of `up` that says whether the bus is encrypted. It is when the actors were given
 * the CA (connectBus then refuses a server without TLS) or the URL says tls://.
 */
function busLine(url: string, env: Record<string, string | undefined>): string {
  const ca = env[TLS_CA_VAR];
  if (ca) return `encrypted (TLS; every actor verifies the server with ${ca})`;
  if (/(^|,)\s*tls:\/\//.test(url)) return 'encrypted (TLS; the server verified with the system\'s CAs)';
  return 'NOT encrypted (cleartext NATS: `koubou init` makes TLS certificates, then `koubou up` uses them; docs/operations.md)';
}

/** `0` (or anything that is not a port) means any free port, as before. */
/** A port option: 1–65535, or 0 for any free port (returned as -1, nats-server's word for it). */
function parsePort(value: string, option = '--port'): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InputError(`${option} must be a port number from 0 to 65535, got ${JSON.stringify(value)}`);
  return n === 0 ? -1 : n;
}

/** A cluster keeps 3 copies through the loss of one node; more nodes than that want hand-made config. */
function parseClusterSize(value: string): number {
  const n = Number(value);
  if (n !== 3) throw new InputError(`--cluster takes 3 (three nodes, three copies of every stream; more nodes: nats-cluster.conf by hand), got ${JSON.stringify(value)}`);
  return n;
}

function parseSlots(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InputError(`--slots must be a positive integer, got ${JSON.stringify(value)}`);
  return n;
}
