import { writeFileSync, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { connectBus, ensureStreams, loadOrCreateCredentials, NatsServerProcess, streamOptionsFrom } from '../../bus/index.ts';
import { loadConfig } from '../../config/index.ts';
import { TIERS } from '../../core/types.ts';
import { ChildSupervisor } from '../ChildSupervisor.ts';
import { CREDENTIALS_FILE, STATE_DIR, UP_FILE, untilSignal } from '../natsContext.ts';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const ENTRY = `${REPO}bin/koubou.js`;

export function registerUp(program: Command): void {
  program
    .command('up')
    .description('run the whole system on this machine: nats-server (unless NATS_URL is set), ledger, router, one worker per tier')
    .option('--port <n>', 'client port of the nats-server it starts (0: any free port)', '4222')
    .option('--no-workers', 'start no workers (run them elsewhere with `koubou worker`)')
    .option('--slots <n>', 'tasks in flight per worker (default: the config entry for the worker, else 1)')
    .addHelpText('after', `\nState (NATS data, ledger, generated credentials) lives in ${STATE_DIR}/. Ctrl-C stops everything cleanly.`)
    .action(async (opts: { port: string; workers: boolean; slots?: string }) => {
      const config = loadConfig({ file: program.opts().config });
      mkdirSync(STATE_DIR, { recursive: true });
      const creds = loadOrCreateCredentials(resolve(CREDENTIALS_FILE));
      const env = { ...process.env, ...creds };
      let server: NatsServerProcess | null = null;
      let url = config.nats.url;
      if (!url) {
        server = await NatsServerProcess.start({
          configFile: `${REPO}nats.conf`, env: creds, port: Number(opts.port) || -1, httpPort: -1,
          storeDir: resolve(STATE_DIR, 'nats'), logFile: resolve(STATE_DIR, 'nats-server.log'),
        });
        url = server.url;
      }
      // Streams first, so that workers (which may not create them) find their queues.
      const nc = await connectBus({ url, role: 'router', env });
      await ensureStreams(nc, streamOptionsFrom(config));
      await nc.close();
      const childEnv = { ...env, NATS_URL: url, KOUBOU_DB: resolve(config.ledger.path) };
      const configArgs = program.opts().config ? ['--config', program.opts().config] : [];
      const supervisor = new ChildSupervisor(ENTRY, (line) => console.log(line));
      supervisor.start({ name: 'ledger', args: [...configArgs, 'ledger'], env: childEnv });
      supervisor.start({ name: 'router', args: [...configArgs, 'router', '--id', 'router-1'], env: childEnv });
      const workers = opts.workers ? TIERS.map((tier) => `worker-${tier}`) : [];
      for (const tier of opts.workers ? TIERS : []) {
        supervisor.start({ name: `worker-${tier}`, args: [...configArgs, 'worker', '--tier', tier, '--id', `${tier}-1`, ...(opts.slots ? ['--max-concurrent', opts.slots] : [])], env: childEnv });
      }
      writeFileSync(resolve(UP_FILE), JSON.stringify({ natsUrl: url, pid: process.pid, startedAt: new Date().toISOString() }, null, 2));
      console.log([
        'koubou is up:',
        `  NATS       ${url}${server ? ` (nats-server pid ${server.pid}, data in ${STATE_DIR}/nats, monitoring http://127.0.0.1:${server.httpPort})` : ''}`,
        `  ledger     ${resolve(config.ledger.path)}`,
        `  router     router-1`,
        `  workers    ${workers.length ? workers.join(', ') : 'none (start them with `koubou worker --tier T`)'}`,
        `  submit     koubou submit --wait "fix a typo in README.md"`,
        '  Ctrl-C stops everything.',
      ].join('\n'));
      const sig = await untilSignal();
      console.log(`koubou: ${sig}: stopping workers, router, ledger${server ? ', nats-server' : ''}...`);
      await supervisor.stop([workers, ['router'], ['ledger']]);
      await server?.stop({ clean: false });
      console.log('koubou: stopped');
    });
}
