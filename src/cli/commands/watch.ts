import type { Command } from 'commander';
import { SAFE_TOKEN } from '../../bus/index.ts';
import { InputError } from '../../core/errors.ts';
import { followTask, formatEvent } from '../followTask.ts';
import { natsContext, natsOption, untilSignal } from '../natsContext.ts';

export function registerWatch(program: Command): void {
  natsOption(
    program
      .command('watch')
      .description('stream task events: one task from its start until it ends, or every task from now on')
      .argument('[taskId]', 'the task to follow (default: all tasks)')
      .option('--json', 'one JSON event per line'),
  ).action(async (taskId: string | undefined, opts: { nats?: string; json?: boolean }) => {
    if (taskId !== undefined && !SAFE_TOKEN.test(taskId)) throw new InputError(`task id "${taskId}" is not valid (letters, digits, _ and -)`);
    const ctx = natsContext(program, opts);
    const nc = await ctx.connect('submitter', 'koubou-watch');
    const stop = new AbortController();
    void untilSignal().then(() => stop.abort());
    // On stderr, so that `--json` output stays one event per line.
    process.stderr.write(taskId ? `watching ${taskId} (Ctrl-C to stop)\n` : 'watching every task from now on (Ctrl-C to stop)\n');
    try {
      const final = await followTask(nc, taskId, {
        deliver: taskId ? 'all' : 'new',
        signal: stop.signal,
        onEvent: (e) => process.stdout.write(`${opts.json ? JSON.stringify(e) : formatEvent(e, !taskId)}\n`),
        // An agent at work: each command it runs, each file it changes, as it happens.
        onProgress: (p) => {
          if (!p.activity) return;
          process.stdout.write(opts.json ? `${JSON.stringify({ kind: 'activity', ...p })}\n` : `${p.at.slice(11, 23)} ${taskId ? '' : `${p.taskId} `}agent      ${p.workerId}: ${p.activity}\n`);
        },
      });
      if (final) process.exitCode = final.status === 'completed' ? 0 : 1;
    } finally {
      await nc.close();
    }
  });
}
