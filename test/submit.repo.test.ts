/**
 * The submitter's end of an agent task, on real git: the patch applies to the working tree only
 * as a whole, and when the tree moved under it nothing changes and the error names the file in
 * the way; `--branch` commits the submitted tree plus the patch on top of HEAD.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { applyPatch, commitOnBranch } from '../src/cli/submitRepo.ts';
import { git, packWorkspace } from '../src/workspace/index.ts';

function repo(): string {
  const dir = mkdtempSync(join(tmpdir(), 'koubou-apply-'));
  const run = (...args: string[]) => spawnSync('git', args, { cwd: dir, encoding: 'utf8' });
  run('init', '-q');
  writeFileSync(join(dir, 'README.md'), '# orders\n\nline two\n');
  writeFileSync(join(dir, 'orders.ts'), 'export const orders = [];\n');
  run('add', '-A');
  run('-c', 'user.email=t@example.com', '-c', 'user.name=t', 'commit', '-qm', 'base');
  return dir;
}

/** A patch as an agent worker makes one: against the packed tree. */
function agentPatch(dir: string, change: (clone: string) => void): string {
  const clone = mkdtempSync(join(tmpdir(), 'koubou-apply-clone-'));
  spawnSync('git', ['clone', '-q', dir, clone]);
  change(clone);
  git(clone, ['add', '-A']);
  return git(clone, ['diff', '--cached', '--binary', 'HEAD']).toString();
}

describe('the patch of an agent task', () => {
  it('applies as a whole to an unchanged working tree', () => {
    const dir = repo();
    const patch = agentPatch(dir, (c) => { writeFileSync(join(c, 'README.md'), '# orders\n\nline two, edited\n'); writeFileSync(join(c, 'total.ts'), 'export {};\n'); });
    applyPatch(dir, patch);
    expect(readFileSync(join(dir, 'README.md'), 'utf8')).toBe('# orders\n\nline two, edited\n');
    expect(readFileSync(join(dir, 'total.ts'), 'utf8')).toBe('export {};\n');
  });

  it('refuses when the tree moved under it, naming the file in the way, and changes nothing', () => {
    const dir = repo();
    const patch = agentPatch(dir, (c) => { writeFileSync(join(c, 'README.md'), '# orders\n\nline two, edited\n'); writeFileSync(join(c, 'total.ts'), 'export {};\n'); });
    writeFileSync(join(dir, 'README.md'), '# orders\n\nline two, edited by hand meanwhile\n');
    expect(() => applyPatch(dir, patch)).toThrow(/the patch does not apply: the working tree moved since the task was submitted \(README\.md\); nothing was changed/);
    expect(readFileSync(join(dir, 'README.md'), 'utf8')).toBe('# orders\n\nline two, edited by hand meanwhile\n');
    expect(spawnSync('git', ['status', '--porcelain'], { cwd: dir, encoding: 'utf8' }).stdout).not.toContain('total.ts');
  });

  it('commits on a new branch over HEAD, uncommitted work at submission included, the working tree untouched', () => {
    const dir = repo();
    writeFileSync(join(dir, 'orders.ts'), 'export const orders: string[] = [];\n'); // uncommitted at submission
    const packed = packWorkspace(dir);
    const patch = agentPatch(dir, (c) => writeFileSync(join(c, 'total.ts'), 'export {};\n'));
    commitOnBranch(dir, packed, patch, 'agent/total', 'add total');
    expect(git(dir, ['show', 'agent/total:orders.ts']).toString()).toBe('export const orders: string[] = [];\n');
    expect(git(dir, ['show', 'agent/total:total.ts']).toString()).toBe('export {};\n');
    expect(git(dir, ['rev-parse', 'agent/total~1']).toString()).toBe(git(dir, ['rev-parse', 'HEAD']).toString());
    expect(spawnSync('git', ['status', '--porcelain'], { cwd: dir, encoding: 'utf8' }).stdout.trim()).toBe('M orders.ts');
  });
});
