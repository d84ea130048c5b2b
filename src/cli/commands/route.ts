import type { Command } from 'commander';
import { loadConfig } from '../../config/index.ts';
import { InputError } from '../../core/errors.ts';
import { dryRunRoute, offlineServices } from '../../routing/index.ts';
import { formatDecision } from '../formatDecision.ts';
import { taskFromOptions, taskOptions, type TaskOptions } from '../taskOptions.ts';

export function registerRoute(program: Command): void {
  const cmd = program
    .command('route')
    .description('show where a task would go and why, without running it')
    .argument('<prompt>', 'the task, in words')
    .option('--dry-run', 'route only; nothing is sent or written (required: use `koubou submit` to run a task)')
    .option('--json', 'print one JSON object instead of text');
  taskOptions(cmd).action(async (prompt: string, opts: TaskOptions & { dryRun?: boolean; json?: boolean }) => {
    if (!opts.dryRun) throw new InputError('route needs --dry-run (to run a task, use `koubou submit`)');
    const config = loadConfig({ file: program.opts().config });
    const task = taskFromOptions(prompt, opts);
    const services = offlineServices(config);
    try {
      const decision = await dryRunRoute(task, config, services);
      process.stdout.write(opts.json ? `${JSON.stringify(decision)}\n` : formatDecision(decision));
    } finally {
      services.close();
    }
  });
}
