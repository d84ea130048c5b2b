/**
 * What the demo's master hands out (the same whichever client plays the master): a subtask
 * holding a secret (it must stay on local), a hard design (gpt5_high), and a trivial fix in a
 * small repository whose test fails unless the fix is right. The local craftsman's simulator is
 * scripted to make the wrong change and gpt5_medium's the right one, so the fix fails its test
 * on local and passes after escalation.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import type { ScriptedCall } from '../llm/sim/index.ts';
import { FAKE_PASSWORD } from './samples.ts';

export interface WorkshopSubtask {
  label: string;
  /** `delegate`'s arguments. */
  args: { prompt: string; repo?: string; test?: string };
}

/**
 * The three subtasks, the repo one on `repo`.
 *
 * @example
 * workshopSubtasks('/srv/demo/master-repo').map((s) => s.label); // ['secret', 'hard', 'trivial']
 */
export function workshopSubtasks(repo: string): WorkshopSubtask[] {
  return [
    { label: 'secret', args: { prompt: `fix the login bug; the staging db password = "${FAKE_PASSWORD}"` } },
    { label: 'hard', args: { prompt: 'design the architecture of a distributed, scalable event pipeline with consensus between regions' } },
    { label: 'trivial', args: { prompt: 'fix a typo in add.js', repo, test: 'node test.js' } },
  ];
}

/** The craftsmen's scripts, by tier: one shell command each, then an answer. */
const edit = (op: string): ScriptedCall[] => [{ name: 'exec_command', arguments: JSON.stringify({ cmd: `sed -i 's/a - b/a ${op} b/' add.js` }) }];
export const CRAFTSMEN_TURNS = { local: edit('*'), gpt5_medium: edit('+') } as const;

/**
 * The master's working tree, made afresh in `dir`: add.js subtracts where it should add, and
 * test.js says so.
 */
export function makeWorkshopRepo(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}/add.js`, 'module.exports = (a, b) => a - b;\n');
  writeFileSync(`${dir}/test.js`, "const r = require('./add.js')(2, 3);\nif (r !== 5) { console.error(`add(2, 3) gave ${r}, want 5`); process.exitCode = 1; }\n");
  const git = (...args: string[]) => spawnSync('git', ['-c', 'user.email=demo@koubou', '-c', 'user.name=koubou demo', ...args], { cwd: dir, encoding: 'utf8' });
  git('init', '-q');
  git('add', '-A');
  git('commit', '-qm', 'add');
}
