/**
 * What an agent changed, taken by the worker after the agent ended (inside Codex's sandbox the
 * clone's .git is read-only, so the agent never commits): the patch against the workspace
 * commit, new files included, its diffstat and changed paths; then the repository's own tests.
 */
import { spawnSync } from 'node:child_process';
import { git } from '../../../src/workspace/index.ts';

export interface WorkspaceChange {
  patch: string;
  diffstat: string;
  files: string[];
}

export function workspaceChange(clone: string): WorkspaceChange {
  git(clone, ['add', '-A']);
  const patch = git(clone, ['diff', '--cached', '--binary', 'koubou-base']).toString();
  const diffstat = git(clone, ['diff', '--cached', '--stat', 'koubou-base']).toString().trimEnd();
  const files = git(clone, ['diff', '--cached', '--name-only', '-z', 'koubou-base']).toString().split('\0').filter(Boolean);
  return { patch, diffstat, files };
}

/**
 * Runs `command` in the clone with a time limit, inside `sandbox` (a command prefix, e.g. Codex's
 * sandbox, where the host has one: the tests run the code the agent wrote); its exit code (null:
 * killed) and the end of its output.
 */
export function runTests(clone: string, command: string, timeoutMs: number, sandbox: { prefix: string[]; env: Record<string, string> } = { prefix: [], env: {} }): { command: string; exitCode: number | null; output: string } {
  // Inside Codex's sandbox a Node.js process writing straight to a pipe loses its output (a shell's
  // own writes and `cat`'s do not): the command writes to a file in the clone, which `cat` then prints.
  const out = '.koubou-test-output';
  // A subshell, not a { } group: a test command that calls `exit` ends only the subshell, and its output is still printed.
  const script = `( ${command}\n) > ${out} 2>&1; s=$?; cat ${out}; rm -f ${out}; exit $s`;
  const [bin, ...args] = [...sandbox.prefix, 'sh', '-c', script];
  const r = spawnSync(bin!, args, { cwd: clone, encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, ...sandbox.env }, killSignal: 'SIGKILL' });
  const output = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  return { command, exitCode: r.status, output: output.slice(-4000) };
}
