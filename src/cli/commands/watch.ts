import type { Command } from 'commander';
import { SAFE_TOKEN } from '../../bus/index.ts';
import { InputError } from '../../core/errors.ts';
import { descendantFilter } from '../descendantFilter.ts';
import { followTask, formatEvent } from '../followTask.ts';
import { natsContext, natsOption, untilSignal } from '../natsContext.ts';

export function registerWatch(program: Command): void {
  natsOption(
    program
      .command('watch')
      .description('stream task events: one task from its start until it ends, or every task from now on')
      .argument('[taskId]', 'the task to follow (default: all tasks)')
      .option('--json', 'one JSON event per line')
      .option('--parent <id>', 'every child of this task, and their children (a master\'s session of koubou mcp), from the start of the event stream'),
  ).action(async (taskId: string | undefined, opts: { nats?: string; json?: boolean; parent?: string }) => {
    if (taskId !== undefined && !SAFE_TOKEN.test(taskId)) throw new InputError(`task id "${taskId}" is not valid (letters, digits, _ and -)`);
    if (opts.parent !== undefined) {
      if (taskId !== undefined) throw new InputError('--parent follows a tree: give it without a task id');
      if (!SAFE_TOKEN.test(opts.parent)) throw new InputError(`--parent "${opts.parent}" is not a task id (letters, digits, _ and -)`);
      await watchTree(program, opts.parent, opts);
      return;
    }
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

/** `koubou watch --parent ID`: the events of every task under ID, until Ctrl-C. */
async function watchTree(program: Command, parent: string, opts: { nats?: string; json?: boolean }): Promise<void> {
  const ctx = natsContext(program, opts);
  const nc = await ctx.connect('submitter', 'koubou-watch');
  const stop = new AbortController();
  void untilSignal().then(() => stop.abort());
  process.stderr.write(`watching every child of ${parent} (Ctrl-C to stop)\n`);
  const inTree = descendantFilter(parent);
  try {
    await followTask(nc, undefined, {
      deliver: 'all', untilFinal: false, signal: stop.signal,
      onEvent: (e) => { if (inTree(e)) process.stdout.write(`${opts.json ? JSON.stringify(e) : formatEvent(e, true)}\n`); },
    });
  } finally {
    await nc.close();
  }
}
