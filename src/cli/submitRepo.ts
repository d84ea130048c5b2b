/**
 * `koubou submit --repo`: the repository goes with the task as a workspace (a git bundle of the
 * working tree in the `koubou_ws` Object Store bucket), a coding agent works in it, and the
 * result is a patch: printed as a diffstat, applied to the working tree (`--apply`, refused
 * with the conflicting files named if the tree moved), or committed on a new branch
 * (`--branch NAME`) without touching the working tree.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import { BUCKETS, type TaskEventMessage } from '../bus/index.ts';
import { InputError } from '../core/errors.ts';
import type { TaskInput } from '../core/types.ts';
import { parseIntOption } from './parseIntOption.ts';
import { git, packWorkspace, putObject, type PackedWorkspace } from '../workspace/index.ts';

export interface RepoOptions {
  repo?: string | true;
  test?: string;
  apply?: boolean;
  branch?: string;
  agentTimeout?: string;
  maxTurns?: string;
  maxTokens?: string;
}

/** Packs the repository, puts it on the bus, and makes the task an agent task that refers to it. */
export async function attachWorkspace(nc: NatsConnection, task: TaskInput, opts: RepoOptions & { maxBytes?: number }, say: (line: string) => void): Promise<{ task: TaskInput; packed: PackedWorkspace; root: string }> {
  if (opts.branch !== undefined && !/^[A-Za-z0-9._/-]{1,200}$/.test(opts.branch)) throw new InputError(`--branch ${JSON.stringify(opts.branch)} is not a branch name`);
  const dir = opts.repo === true || opts.repo === undefined ? '.' : opts.repo;
  const root = git(dir, ['rev-parse', '--show-toplevel']).toString().trim();
  if (opts.branch !== undefined) {
    try { git(root, ['rev-parse', '--verify', '-q', `refs/heads/${opts.branch}`]); throw new InputError(`branch ${opts.branch} exists: name a new one`); } catch (e) { if (e instanceof InputError) throw e; }
  }
  const packed = packWorkspace(root, opts.maxBytes === undefined ? {} : { maxBytes: opts.maxBytes });
  await putObject(nc, BUCKETS.workspaces, task.taskId, packed.bundle);
  say(`workspace: ${packed.files.length} files, ${(packed.bytes / 1024).toFixed(0)} KiB as a ${(packed.bundle.length / 1024).toFixed(0)} KiB bundle` +
    (packed.keptOut.length ? `; ${packed.keptOut.length} kept out by .koubouignore` : ''));
  const agent = {
    ...(opts.test ? { test: opts.test } : {}),
    ...(opts.agentTimeout ? { maxWallSeconds: parseIntOption('--agent-timeout', opts.agentTimeout, 1) } : {}),
    ...(opts.maxTurns ? { maxTurns: parseIntOption('--max-turns', opts.maxTurns, 1) } : {}),
    ...(opts.maxTokens ? { maxTokens: parseIntOption('--max-tokens', opts.maxTokens, 1) } : {}),
  };
  return {
    root, packed,
    task: {
      ...task, executor: 'agent', agent,
      workspace: { object: task.taskId, commit: packed.commit, files: packed.files.length, bytes: packed.bytes, keptOut: packed.keptOut.length },
    },
  };
}

/** What the agent did, in a few lines: its message, the diffstat, the tests. */
export function agentSummary(final: TaskEventMessage): string {
  const r = final.result;
  const a = r?.agent;
  if (!r || !a) return r?.text ?? '';
  return [
    r.text.trim(),
    '',
    a.diffstat || '(no change)',
    `${a.turns} turn${a.turns === 1 ? '' : 's'}, ${a.commands} command${a.commands === 1 ? '' : 's'}` +
      (a.test ? `; tests: \`${a.test.command}\` ${a.test.exitCode === 0 ? 'passed' : `failed (exit ${a.test.exitCode ?? 'killed'})`}` : ''),
  ].join('\n');
}

/**
 * Applies the agent's patch to the working tree. It applies only as a whole: when the tree moved
 * so that it does not, nothing changes and the error names the files in the way.
 */
export function applyPatch(root: string, patch: string): void {
  if (!patch) return;
  const file = join(mkdtempSync(join(tmpdir(), 'koubou-patch-')), 'agent.patch');
  writeFileSync(file, patch);
  try {
    try {
      git(root, ['apply', '--check', '--whitespace=nowarn', file]);
    } catch (e) {
      const files = [...new Set([...(e as Error).message.matchAll(/(?:patch failed: |error: )([^:\s]+)(?::\d+)?(?:: already exists in working directory|: does not exist in index|: No such file or directory)?/g)].map((m) => m[1]!))]
        .filter((f) => f !== 'patch' && f !== 'error');
      throw new InputError(`the patch does not apply: the working tree moved since the task was submitted (${files.join(', ') || (e as Error).message}); nothing was changed. Try --branch NAME instead`, { code: 'PATCH_CONFLICT' });
    }
    git(root, ['apply', '--whitespace=nowarn', file]);
  } finally {
    rmSync(join(file, '..'), { recursive: true, force: true });
  }
}

/**
 * Commits the agent's patch on a new branch: the working tree as it was submitted, plus the
 * patch, on top of HEAD. The working tree and the current branch are left as they are.
 */
export function commitOnBranch(root: string, packed: PackedWorkspace, patch: string, branch: string, message: string): string {
  const scratch = mkdtempSync(join(tmpdir(), 'koubou-branch-'));
  try {
    const env = { GIT_INDEX_FILE: join(scratch, 'index') };
    git(root, ['read-tree', packed.tree], { env });
    if (patch) {
      writeFileSync(join(scratch, 'agent.patch'), patch);
      git(root, ['apply', '--cached', '--whitespace=nowarn', join(scratch, 'agent.patch')], { env });
    }
    const tree = git(root, ['write-tree'], { env }).toString().trim();
    const parents = packed.head ? ['-p', packed.head] : [];
    const commit = git(root, ['commit-tree', tree, ...parents, '-m', message], { env }).toString().trim();
    git(root, ['branch', branch, commit]);
    return commit;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
