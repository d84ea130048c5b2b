import type { Command } from 'commander';
import { Router } from '../../../actors/router/index.ts';
import { describeReplicas, DOOR_KEY_VAR } from '../../bus/index.ts';
import { natsContext, natsOption, untilSignal } from '../natsContext.ts';

export function registerRouter(program: Command): void {
  natsOption(
    program
      .command('router')
      .description('run a router: takes submissions, runs one task machine per task, sends work to the tiers')
      .option('--id <routerId>', 'name in logs and rejections (default: router-<pid>)'),
  ).action(async (opts: { nats?: string; id?: string }) => {
    const ctx = natsContext(program, opts);
    const nc = await ctx.connect('router', opts.id ?? 'koubou-router');
    const doorKey = ctx.env[DOOR_KEY_VAR];
    const router = new Router({ nc, config: ctx.config, ...(opts.id ? { routerId: opts.id } : {}), ...(doorKey ? { doorKey } : {}), log: (l) => console.error(l) });
    await router.start();
    if (!doorKey) console.error(`router ${router.routerId}: no ${DOOR_KEY_VAR} (koubou init writes one): submissions through the gateway will be refused`);
    console.error(`router ${router.routerId}: routing submissions from ${ctx.url}, streams and buckets with ${describeReplicas(nc, router.replicas)}`);
    await untilSignal();
    await router.stop();
    await nc.drain();
  });
}
