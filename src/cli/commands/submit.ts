import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { jetstream } from '@nats-io/jetstream';
import { encode, MSG_ID, SUBJECTS, type TaskEventMessage } from '../../bus/index.ts';
import { InputError } from '../../core/errors.ts';
import { followTask, formatEvent } from '../followTask.ts';
import { jsonlInput, submitJsonl } from '../submitJsonl.ts';
import { natsContext, natsOption } from '../natsContext.ts';
import { taskFromOptions, taskOptions, type TaskOptions } from '../taskOptions.ts';

interface SubmitOptions extends TaskOptions {
  jsonl?: string | true;
  wait?: boolean;
  json?: boolean;
  out?: string;
  nats?: string;
}

export function registerSubmit(program: Command): void {
  const cmd = program
    .command('submit')
    .description('submit a task; prints its id (with --wait, follows it to the end)')
    .argument('[prompt]', 'the task, in words')
    .option('--jsonl [file]', 'submit many tasks: one JSON object a line ({"prompt", "type", "priority", "files", "taskId"}) from FILE or stdin (-); prints one id a line')
    .option('-w, --wait', 'show each state as it happens, then the result; exit 0 when completed, 1 when failed or cancelled')
    .option('--json', 'print one JSON object (with --wait: the final outcome)')
    .option('-o, --out <file>', 'write the result to this file (implies --wait)');
  natsOption(taskOptions(cmd)).action(async (prompt: string | undefined, opts: SubmitOptions) => {
    if (opts.jsonl !== undefined) {
      await submitMany(program, prompt, opts);
      return;
    }
    if (prompt === undefined) throw new InputError('give the task in words (koubou submit "<prompt>"), or --jsonl FILE for many');
    const task = taskFromOptions(prompt, opts);
    const ctx = natsContext(program, opts);
    const nc = await ctx.connect('submitter', 'koubou-submit');
    try {
      const ack = await jetstream(nc).publish(SUBJECTS.submit, encode(task), { msgID: MSG_ID.submission(task.taskId) });
      const wait = opts.wait || opts.out !== undefined;
      if (!wait) {
        process.stdout.write(opts.json ? `${JSON.stringify({ taskId: task.taskId, duplicate: ack.duplicate })}\n` : `${task.taskId}\n`);
        return;
      }
      if (!opts.json) process.stderr.write(`task ${task.taskId} submitted${ack.duplicate ? ' (already submitted: following it)' : ''}\n`);
      const live = process.stderr.isTTY && !opts.json;
      let progressShown = false;
      const final = await followTask(nc, task.taskId, {
        deliver: 'all',
        onEvent: (e) => {
          if (opts.json) return;
          if (progressShown) { process.stderr.write('\r\x1b[2K'); progressShown = false; }
          process.stderr.write(`${formatEvent(e)}\n`);
        },
        onProgress: (p) => {
          if (opts.json) return;
          const line = `  generating on ${p.workerId}: ${p.tokens} tokens, ${p.tokensPerSecond.toFixed(1)} tokens/s`;
          if (live) { process.stderr.write(`\r\x1b[2K${line}`); progressShown = true; }
        },
      });
      if (progressShown) process.stderr.write('\r\x1b[2K');
      reportOutcome(final!, opts);
      process.exitCode = final!.status === 'completed' ? 0 : 1;
    } finally {
      await nc.close();
    }
  });
}

/** `koubou submit --jsonl`: many tasks from one process, for scripts. */
async function submitMany(program: Command, prompt: string | undefined, opts: SubmitOptions): Promise<void> {
  if (prompt !== undefined || opts.wait || opts.out || opts.file.length > 0 || opts.id) {
    throw new InputError('--jsonl takes its tasks from the lines: give no prompt, --file, --id, --wait or --out with it');
  }
  const input = jsonlInput(opts.jsonl === true ? '-' : opts.jsonl!);
  const ctx = natsContext(program, opts);
  const nc = await ctx.connect('submitter', 'koubou-submit');
  try {
    const summary = await submitJsonl(jetstream(nc), input, (id) => process.stdout.write(`${id}\n`), (m) => process.stderr.write(`koubou: ${m}\n`));
    process.stderr.write(`koubou: submitted ${summary.submitted} task(s)${summary.refused ? `, ${summary.refused} line(s) refused` : ''}\n`);
    if (summary.refused > 0) process.exitCode = 2;
  } finally {
    await nc.close();
  }
}

function reportOutcome(final: TaskEventMessage, opts: SubmitOptions): void {
  const text = final.result?.text ?? '';
  if (opts.out && final.status === 'completed') writeFileSync(opts.out, text);
  if (opts.json) {
    process.stdout.write(`${JSON.stringify({
      taskId: final.taskId, status: final.status, tier: final.tier, result: final.result ?? null, error: final.error,
    })}\n`);
    return;
  }
  if (final.status === 'completed') {
    const cost = final.result?.costUsd !== undefined ? `, $${final.result.costUsd.toFixed(4)}` : '';
    process.stderr.write(`completed on ${final.tier} by ${final.result?.workerId}${cost}${opts.out ? `; result written to ${opts.out}` : ''}\n`);
    if (!opts.out) process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  } else {
    process.stderr.write(`${final.status}: ${final.error ? `${final.error.code}: ${final.error.message}` : final.reason}\n`);
  }
}
