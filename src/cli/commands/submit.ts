import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { jetstream } from '@nats-io/jetstream';
import { type TaskEventMessage, publishSubmission } from '../../bus/index.ts';
import { InputError } from '../../core/errors.ts';
import { followTask, formatEvent } from '../followTask.ts';
import { jsonlInput, submitJsonl } from '../submitJsonl.ts';
import { natsContext, natsOption } from '../natsContext.ts';
import { taskFromOptions, taskOptions, type TaskOptions } from '../taskOptions.ts';
import { agentSummary, applyPatch, attachWorkspace, commitOnBranch, type RepoOptions } from '../submitRepo.ts';

interface SubmitOptions extends TaskOptions, RepoOptions {
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
    .option('-o, --out <file>', 'write the result to this file (implies --wait)')
    .option('--repo [dir]', 'a coding agent does the task in this git repository (default: the current one); the result is a patch')
    .option('--test <command>', 'with --repo: the repository\'s test command, run after the agent; its outcome is in the result')
    .option('--apply', 'with --repo: apply the patch to the working tree when the task completes (implies --wait)')
    .option('--branch <name>', 'with --repo: commit the patch on this new branch instead (implies --wait)')
    .option('--agent-timeout <seconds>', 'with --repo: the agent\'s time limit (default: the worker\'s, 1800)')
    .option('--max-turns <n>', 'with --repo: the most commands the agent may run (default: the worker\'s, 50)')
    .option('--max-tokens <n>', 'with --repo: the most tokens all the agent\'s model requests may use (default: the worker\'s, 5,000,000)')
    .addHelpText('after', `
A coding agent (--repo): the working tree (tracked files and untracked ones git does not ignore,
uncommitted changes included, minus what .koubouignore names) travels as a git bundle; a secret
in any file keeps the task on the local tier. The agent (OpenAI's Codex CLI on an agent worker)
works in a clone, and its every model request is a task of its own: routed, reserved, charged.
  koubou submit --repo . --wait --apply --test "npm test" "make the failing test in src/orders pass"`);
  natsOption(taskOptions(cmd)).action(async (prompt: string | undefined, opts: SubmitOptions) => {
    if (opts.jsonl !== undefined) {
      await submitMany(program, prompt, opts);
      return;
    }
    if (prompt === undefined) throw new InputError('give the task in words (koubou submit "<prompt>"), or --jsonl FILE for many');
    const repo = opts.repo !== undefined;
    for (const flag of ['test', 'apply', 'branch', 'agentTimeout', 'maxTurns', 'maxTokens'] as const) {
      if (opts[flag] !== undefined && !repo) throw new InputError(`--${flag.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} goes with --repo`);
    }
    if (opts.apply && opts.branch !== undefined) throw new InputError('--apply and --branch exclude each other: apply to the working tree, or commit on a branch');
    let task = taskFromOptions(prompt, opts);
    const ctx = natsContext(program, opts);
    const nc = await ctx.connect('submitter', 'koubou-submit');
    try {
      const workspace = repo ? await attachWorkspace(nc, task, { ...opts, maxBytes: ctx.config.workspace.max_bytes }, (l) => process.stderr.write(`${l}\n`)) : null;
      if (workspace) task = workspace.task;
      const ack = await publishSubmission(jetstream(nc), task);
      const wait = opts.wait || opts.out !== undefined || opts.apply || opts.branch !== undefined;
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
          if (p.activity) {
            // An agent at work: every step on its own line.
            if (progressShown) { process.stderr.write('\r\x1b[2K'); progressShown = false; }
            process.stderr.write(`  ${p.workerId}: ${p.activity}\n`);
            return;
          }
          const line = `  generating on ${p.workerId}: ${p.tokens} tokens, ${p.tokensPerSecond.toFixed(1)} tokens/s`;
          if (live) { process.stderr.write(`\r\x1b[2K${line}`); progressShown = true; }
        },
      });
      if (progressShown) process.stderr.write('\r\x1b[2K');
      if (workspace && final!.status === 'completed' && !opts.json) {
        process.stderr.write(`completed on ${final!.tier} by ${final!.result?.workerId}\n`);
        process.stdout.write(`${agentSummary(final!)}\n`);
        const patch = final!.result?.patch ?? '';
        if (opts.apply) {
          applyPatch(workspace.root, patch);
          process.stderr.write(patch ? `applied to ${workspace.root}\n` : 'nothing to apply: the agent changed no file\n');
        } else if (opts.branch !== undefined) {
          const commit = commitOnBranch(workspace.root, workspace.packed, patch, opts.branch, `${prompt.split('\n')[0]!.slice(0, 72)}\n\nkoubou task ${task.taskId} (agent on ${final!.tier})`);
          process.stderr.write(`committed on branch ${opts.branch} (${commit.slice(0, 12)}); the working tree is unchanged\n`);
        }
      } else {
        reportOutcome(final!, opts);
      }
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
