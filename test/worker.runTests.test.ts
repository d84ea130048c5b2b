/**
 * The agent worker's test run (runTests): its exit code and its output, whatever the command does
 * with its shell: the output is what an escalation's next prompt is given.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runTests } from '../actors/worker/executors/workspaceResult.ts';

const dirs: string[] = [];
afterEach(() => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }); });
const clone = () => { const d = mkdtempSync(join(tmpdir(), 'koubou-runtests-')); dirs.push(d); return d; };

describe('runTests', () => {
  it('gives a failing command\'s exit code and its output', () => {
    const r = runTests(clone(), 'echo one test failed >&2; false', 10_000);
    expect(r).toMatchObject({ exitCode: 1, output: 'one test failed\n' });
  });

  it('keeps the output of a command that calls exit, and leaves no file behind in the clone', () => {
    const dir = clone();
    const r = runTests(dir, 'echo 2 of 5 failed; exit 3', 10_000);
    expect(r).toMatchObject({ exitCode: 3, output: '2 of 5 failed\n' });
    expect(existsSync(join(dir, '.koubou-test-output'))).toBe(false);
  });
});
