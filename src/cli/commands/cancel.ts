import type { Command } from 'commander';
import { jetstream } from '@nats-io/jetstream';
import { encode, SAFE_TOKEN, SUBJECTS } from '../../bus/index.ts';
import { InputError } from '../../core/errors.ts';
import { followTask } from '../followTask.ts';
import { natsContext, natsOption } from '../natsContext.ts';

export function registerCancel(program: Command): void {
  natsOption(
    program
      .command('cancel')
      .description('cancel a task: stops its routing and aborts work in flight')
      .argument('<taskId>', 'the task to cancel')
      .option('--reason <text>', 'why (recorded with the task)', 'cancelled by user'),
  ).action(async (taskId: string, opts: { nats?: string; reason: string }) => {
    if (!SAFE_TOKEN.test(taskId)) throw new InputError(`task id "${taskId}" is not valid (letters, digits, _ and -)`);
    const ctx = natsContext(program, opts);
    const nc = await ctx.connect('submitter', 'koubou-cancel');
    try {
      await jetstream(nc).publish(SUBJECTS.cancel(taskId), encode({ kind: 'cancel', taskId, reason: opts.reason, at: new Date().toISOString() }));
      const timeout = new AbortController();
      const timer = setTimeout(() => timeout.abort(), 10_000);
      const final = await followTask(nc, taskId, { deliver: 'all', signal: timeout.signal, onEvent: () => {} });
      clearTimeout(timer);
      if (!final) {
        process.stderr.write(`cancel of ${taskId} requested; no final state within 10 s (is a router running?)\n`);
        process.exitCode = 1;
      } else if (final.status === 'cancelled') {
        process.stdout.write(`${taskId} cancelled\n`);
      } else {
        process.stdout.write(`${taskId} had already ended: ${final.status}\n`);
        process.exitCode = final.status === 'completed' ? 0 : 1;
      }
    } finally {
      await nc.close();
    }
  });
}
