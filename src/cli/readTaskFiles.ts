import { readFileSync, statSync } from 'node:fs';
import { InputError } from '../core/errors.ts';
import type { TaskFile } from '../core/types.ts';

/** Largest file a task may carry; beyond it the task is refused rather than truncated. */
export const MAX_TASK_FILE_BYTES = 8 * 1024 * 1024;

/**
 * Reads files to attach to a task, refusing unreadable, oversized and binary
 * files with an error naming the file.
 *
 * @example
 * readTaskFiles(['src/index.ts']); // [{ path: 'src/index.ts', content: '...' }]
 */
export function readTaskFiles(paths: string[]): TaskFile[] {
  return paths.map((path) => {
    let bytes: Buffer;
    try {
      const size = statSync(path).size;
      if (size > MAX_TASK_FILE_BYTES) {
        throw new InputError(`--file ${path}: ${size} bytes is over the ${MAX_TASK_FILE_BYTES}-byte limit`, { code: 'FILE_TOO_LARGE' });
      }
      bytes = readFileSync(path);
    } catch (e) {
      if (e instanceof InputError) throw e;
      const code = (e as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : String(e);
      throw new InputError(`--file ${path}: cannot read it (${why})`, { code: 'FILE_UNREADABLE' });
    }
    if (isBinary(bytes)) throw new InputError(`--file ${path}: looks binary (not UTF-8 text); only text files can be attached`, { code: 'FILE_BINARY' });
    return { path, content: bytes.toString('utf8') };
  });
}

const decoder = new TextDecoder('utf-8', { fatal: true });

/** A NUL byte or invalid UTF-8 means binary, as git and grep decide. */
export function isBinary(bytes: Uint8Array): boolean {
  if (bytes.subarray(0, 8192).includes(0)) return true;
  try {
    decoder.decode(bytes);
    return false;
  } catch {
    return true;
  }
}
