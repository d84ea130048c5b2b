import { resolve } from 'node:path';
import type { Command } from 'commander';
import { createTaskMachine } from '../../../machines/task.machine.ts';
import { tierPlanOf } from '../../config/index.ts';
import { Dashboard } from '../../../actors/dashboard/index.ts';
import { InputError } from '../../core/errors.ts';
import { isLoopbackHost } from '../../../actors/dashboard/access.ts';
import { natsContext, natsOption, untilSignal } from '../natsContext.ts';

interface DashboardCliOptions {
  port: string;
  host: string;
  nats?: string;
  db?: string;
  inspect?: boolean;
}

/**
 * `koubou dashboard`: the web dashboard until SIGINT/SIGTERM.
 *
 * @example
 * registerDashboard(program); // koubou dashboard --port 8787 --db .koubou/koubou.db
 */
export function registerDashboard(program: Command): void {
  natsOption(
    program
      .command('dashboard')
      .description('serve the web dashboard: workers, tasks, costs, budget, fallbacks and the live task statechart (read-only)')
      .option('--port <n>', 'HTTP port (0: any free port)', '8787')
      .option('--host <addr>', 'address to listen on; 0.0.0.0 serves the LAN (then every request needs a dashboard key)', '127.0.0.1')
      .option('--db <path>', 'read the ledger\'s SQLite file read-only instead of asking the ledger over NATS')
      .option('--inspect', 'also send live task states to Stately\'s hosted inspector (needs internet access to stately.ai; off by default)'),
  ).addHelpText('after', '\nEvery script, style and font is served by koubou itself: the page works offline on a LAN.\n' +
    'On anything but loopback every request needs a dashboard key (`koubou keys dashboard create NAME`): a browser opens\n' +
    'http://HOST:PORT/?token=KEY once (the key then lives in an HttpOnly cookie), programs send Authorization: Bearer KEY.')
    .action(async (opts: DashboardCliOptions) => {
      const port = Number(opts.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InputError(`--port "${opts.port}" is not a port number (0..65535)`);
      const ctx = natsContext(program, opts);
      const nc = await ctx.connect('dashboard', 'koubou-dashboard');
      const dashboard = new Dashboard({
        nc, port, host: opts.host, inspect: opts.inspect === true, log: (l) => console.error(l),
        ...(opts.db ? { dbPath: resolve(opts.db) } : {}),
        budget: { monthlyLimitUsd: ctx.config.budget.monthly_usd, alertThresholdPercent: ctx.config.budget.alert_threshold_percent },
        machine: createTaskMachine(tierPlanOf(ctx.config)),
      });
      try {
        const { url } = await dashboard.start().catch((e: NodeJS.ErrnoException) => {
          if (e.code === 'EADDRINUSE' || e.code === 'EACCES') throw new InputError(`cannot listen on ${opts.host}:${port} (${e.code}): choose another --port or --host`);
          throw e;
        });
        console.error(`dashboard: ${url} (events from ${ctx.url}, figures from ${opts.db ? resolve(opts.db) : 'the ledger over NATS'})`);
        if (!isLoopbackHost(opts.host)) console.error(`dashboard: listening on ${opts.host}: every request needs a dashboard key (open ${url}?token=KEY once in a browser; Authorization: Bearer KEY for programs)`);
        if (opts.inspect) console.error('dashboard: --inspect: live task states go to Stately\'s inspector (stately.ai)');
        const sig = await untilSignal();
        console.error(`dashboard: ${sig}: stopping`);
      } finally {
        await dashboard.stop();
        await nc.drain().catch(() => nc.close());
      }
    });
}
