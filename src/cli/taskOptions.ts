import { randomUUID } from 'node:crypto';
import { Option, type Command } from 'commander';
import { parseTaskInput } from '../core/taskInput.ts';
import { TASK_TYPES, type TaskInput } from '../core/types.ts';
import { readTaskFiles } from './readTaskFiles.ts';

export interface TaskOptions {
  type: string;
  priority: string;
  file: string[];
  id?: string;
}

/** The options every command that takes a task shares. */
export function taskOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('-t, --type <type>', 'task type').choices([...TASK_TYPES]).default('general'))
    .option('-p, --priority <n>', 'priority, 1 (lowest) to 10 (highest)', '5')
    .option('-f, --file <path>', 'attach a file (repeatable); its path travels with it', (v: string, acc: string[]) => [...acc, v], [])
    .option('--id <taskId>', 'task id (default: a new UUID); the same id submitted twice runs once');
}

/** Builds a validated task from a prompt and options; errors name the option. */
export function taskFromOptions(prompt: string, opts: TaskOptions): TaskInput {
  const priority = Number(opts.priority);
  return parseTaskInput({
    taskId: opts.id ?? randomUUID(),
    type: opts.type,
    priority: Number.isFinite(priority) && opts.priority.trim() !== '' ? priority : opts.priority,
    prompt,
    files: readTaskFiles(opts.file),
  });
}
