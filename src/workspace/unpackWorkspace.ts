/**
 * A workspace bundle back into files: checked out into a fresh clone (for an agent to work in),
 * or read into memory (for the sensitivity scan).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TaskFile } from '../core/types.ts';
import { git } from './packWorkspace.ts';

/** Checks the workspace commit out into `dir` (a new repository), on a branch named `koubou-base`. */
export function checkoutWorkspace(bundle: Uint8Array, commit: string, dir: string): void {
  const file = join(dir, '..', `${commit}.bundle`);
  writeFileSync(file, bundle);
  try {
    git(dir, ['init', '-q']);
    git(dir, ['fetch', '-q', file, '+refs/koubou/*:refs/koubou/*']);
    git(dir, ['checkout', '-q', '-b', 'koubou-base', commit]);
  } finally {
    rmSync(file, { force: true });
  }
}

/**
 * Every file of the workspace with its text; binary files (a NUL byte) are listed with empty
 * content, since the scanner reads text.
 */
export function readWorkspaceFiles(bundle: Uint8Array, commit: string): TaskFile[] {
  const dir = mkdtempSync(join(tmpdir(), 'koubou-scan-'));
  try {
    git(dir, ['init', '-q', '--bare']);
    const file = join(dir, 'ws.bundle');
    writeFileSync(file, bundle);
    git(dir, ['fetch', '-q', file, '+refs/koubou/*:refs/koubou/*']);
    const entries = git(dir, ['ls-tree', '-r', '-z', commit]).toString().split('\0').filter(Boolean).map((line) => {
      const [meta, path] = line.split('\t') as [string, string];
      const [, type, sha] = meta.split(' ') as [string, string, string];
      return { type, sha, path };
    }).filter((e) => e.type === 'blob');
    if (entries.length === 0) return [];
    // One git process for every blob: `<sha> blob <size>\n<content>\n` each.
    const out = git(dir, ['cat-file', '--batch'], { input: entries.map((e) => e.sha).join('\n') + '\n' });
    const files: TaskFile[] = [];
    let at = 0;
    for (const e of entries) {
      const nl = out.indexOf(10, at);
      const size = Number(out.subarray(at, nl).toString().split(' ')[2]);
      const body = out.subarray(nl + 1, nl + 1 + size);
      at = nl + 1 + size + 1;
      files.push({ path: e.path, content: body.includes(0) ? '' : body.toString('utf8') });
    }
    return files;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
