import { randomUUID } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { createInterface } from 'node:readline';
import type { JetStreamClient } from '@nats-io/jetstream';
import { publishSubmission } from '../bus/index.ts';
import { InputError } from '../core/errors.ts';
import { refuseIdentityFields } from '../core/identityFields.ts';
import { parseTaskInput } from '../core/taskInput.ts';
import type { TaskFile, TaskInput } from '../core/types.ts';
import { readTaskFiles } from './readTaskFiles.ts';

/** Publishes awaiting their acknowledgement at once: enough to keep the server busy, bounded in memory. */
const IN_FLIGHT = 256;

export interface JsonlSummary {
  submitted: number;
  refused: number;
}

/**
 * Reads one task per line (`{"prompt": …, "type"?, "priority"?, "files"?, "taskId"?}`, where a
 * file is a path to read or `{ "path", "content" }`) and submits each, many at a time. Prints
 * each task's id on its own line, in input order; a line that is not a valid task is reported
 * on stderr with its line number and skipped, and the rest go on.
 *
 * @example
 * // koubou submit --jsonl tasks.jsonl
 * await submitJsonl(js, createReadStream('tasks.jsonl'), (id) => console.log(id), console.error);
 */
export async function submitJsonl(
  js: JetStreamClient,
  input: Readable,
  printId: (taskId: string) => void,
  warn: (message: string) => void,
): Promise<JsonlSummary> {
  const pending: Promise<string | null>[] = [];
  const summary: JsonlSummary = { submitted: 0, refused: 0 };
  const settleOldest = async () => {
    const id = await pending.shift()!;
    if (id !== null) { summary.submitted++; printId(id); }
  };
  let lineNo = 0;
  for await (const raw of createInterface({ input, crlfDelay: Infinity })) {
    lineNo++;
    if (raw.trim() === '') continue;
    let task: TaskInput;
    try {
      task = taskFromLine(raw);
    } catch (e) {
      summary.refused++;
      warn(`line ${lineNo}: ${(e as Error).message}`);
      continue;
    }
    const at = lineNo;
    pending.push(publishSubmission(js, task).then(
      () => task.taskId,
      (e: Error) => { summary.refused++; warn(`line ${at}: not submitted: ${e.message}`); return null; },
    ));
    if (pending.length >= IN_FLIGHT) await settleOldest();
  }
  while (pending.length > 0) await settleOldest();
  return summary;
}

/** One line's task, validated; errors name the field. */
function taskFromLine(line: string): TaskInput {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new InputError('not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new InputError('expected a JSON object with a "prompt"');
  const { files, taskId, ...rest } = value as { files?: unknown; taskId?: unknown };
  const task = parseTaskInput({ ...rest, taskId: taskId ?? randomUUID(), files: filesOf(files) });
  // The CLI is a plain submitter: the router would refuse these; say so here, with the line.
  refuseIdentityFields(task, null);
  return task;
}

function filesOf(files: unknown): TaskFile[] {
  if (files === undefined) return [];
  if (!Array.isArray(files)) throw new InputError('files: expected an array of paths or { "path", "content" } objects');
  return files.map((f, i) => {
    if (typeof f === 'string') return readTaskFiles([f])[0]!;
    if (typeof f === 'object' && f !== null && typeof (f as TaskFile).path === 'string' && typeof (f as TaskFile).content === 'string') return f as TaskFile;
    throw new InputError(`files.${i}: expected a path or a { "path", "content" } object`);
  });
}

/** The lines' source: a file, or stdin for `-`. */
export function jsonlInput(source: string): Readable {
  if (source === '-') return process.stdin;
  if (!existsSync(source)) throw new InputError(`--jsonl ${source}: no such file`);
  return createReadStream(source);
}
