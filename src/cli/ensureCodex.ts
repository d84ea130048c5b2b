import { spawnSync } from 'node:child_process';
import { repoPath } from '../core/repoPath.ts';

/** Whether OpenAI's Codex CLI is here: its version line, or why it is not. */
export type CodexPresence = { ok: true; version: string } | { ok: false; why: string };

/** `codex --version`, or why it cannot be run. */
export function codexVersion(codex = 'codex'): CodexPresence {
  const r = spawnSync(codex, ['--version'], { encoding: 'utf8', timeout: 20_000 });
  if (r.status === 0) return { ok: true, version: r.stdout.trim() };
  return { ok: false, why: r.error ? `${codex} is not installed` : `${codex} --version exited ${r.status}` };
}

/**
 * Makes sure OpenAI's Codex CLI is here before the demo's master and craftsmen run it: when it is
 * missing, the install routine that scripts/test uses (scripts/ensure-deps.sh, `npm install -g` of
 * the release the tests were written against) installs it, saying what and why when it starts
 * and its time when it ends, or, when that fails, why in one line. Unlike nats-server, Codex is
 * not needed to go on: the caller says what it does without it.
 *
 * @example
 * const codex = ensureCodex('the demo\'s master and craftsmen are Codex sessions');
 * if (!codex.ok) console.log(`no Codex CLI (${codex.why})`);
 */
export function ensureCodex(why: string): CodexPresence {
  const before = codexVersion();
  if (before.ok) return before;
  const r = spawnSync('/bin/bash', [repoPath('scripts', 'ensure-deps.sh'), 'codex', why], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, KOUBOU_ONE_LINE_FAILURE: '1' },
  });
  const after = codexVersion();
  if (after.ok) return after;
  return { ok: false, why: r.status === 0 ? `installed, yet ${after.why}` : 'its install failed' };
}
