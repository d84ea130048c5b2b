/**
 * One run of OpenAI's Codex CLI in batch mode (`codex exec --json`), as a process group of its
 * own so that a cancel or a limit stops it and everything it started at once. Its JSON events
 * are read as they come: commands run, files changed, turns, usage, the final message.
 */
import { spawn } from 'node:child_process';

export interface CodexRunOptions {
  codex: string;
  /** The clone the agent works in. */
  cwd: string;
  /** CODEX_HOME: the locked config (provider = the koubou gateway). */
  home: string;
  prompt: string;
  env: Record<string, string>;
  /** `workspace-write` where the host supports it; `danger-full-access` where it does not. */
  sandbox: 'workspace-write' | 'danger-full-access';
  signal: AbortSignal;
  maxWallMs: number;
  /** Most commands the agent may run (each one a step between model requests). */
  maxCommands: number;
  onActivity(line: string): void;
}

export interface CodexRunResult {
  /** How it ended: `done`, or why it was stopped. */
  end: 'done' | 'failed' | 'cancelled' | 'time_limit' | 'turn_limit';
  exitCode: number | null;
  message: string;
  commands: number;
  turns: number;
  usage: { input: number; cached: number; output: number; reasoning: number };
  /** The last lines of stderr, for a failure's message. */
  stderrTail: string;
  error?: string;
}

type Event = { type?: string; item?: { type?: string; command?: string; text?: string; exit_code?: number | null; changes?: { path: string; kind: string }[] }; usage?: Record<string, number>; error?: { message?: string }; message?: string };

export function runCodex(o: CodexRunOptions): Promise<CodexRunResult> {
  const args = ['exec', '--json', '--ephemeral', '--skip-git-repo-check', '--sandbox', o.sandbox, '-C', o.cwd, '-'];
  const child = spawn(o.codex, args, {
    cwd: o.cwd, detached: true, stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, ...o.env, CODEX_HOME: o.home },
  });
  // A lifeline: a watchdog that kills the agent's group when this worker dies (its stdin, our pipe, closes),
  // so a worker killed with kill -9 leaves no agent behind to keep working and spending.
  const lifeline = child.pid ? spawn('sh', ['-c', `cat >/dev/null; kill -9 -${child.pid} 2>/dev/null`], { detached: true, stdio: ['pipe', 'ignore', 'ignore'] }) : null;
  lifeline?.unref();
  (lifeline?.stdin as { unref?: () => void } | null)?.unref?.();
  const result: CodexRunResult = { end: 'done', exitCode: null, message: '', commands: 0, turns: 0, usage: { input: 0, cached: 0, output: 0, reasoning: 0 }, stderrTail: '' };
  const stop = (why: CodexRunResult['end']) => {
    if (result.end === 'done') result.end = why;
    try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone */ }
  };
  const onAbort = () => stop('cancelled');
  o.signal.addEventListener('abort', onAbort, { once: true });
  if (o.signal.aborted) onAbort();
  const timer = setTimeout(() => stop('time_limit'), o.maxWallMs);
  let buffered = '';
  child.stdout.on('data', (d: Buffer) => {
    buffered += d.toString('utf8');
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl).trim();
      buffered = buffered.slice(nl + 1);
      if (line.startsWith('{')) {
        try { onEvent(JSON.parse(line) as Event); } catch { /* not an event */ }
      }
    }
  });
  child.stderr.on('data', (d: Buffer) => { result.stderrTail = (result.stderrTail + d.toString('utf8')).slice(-2000); });
  const onEvent = (e: Event) => {
    if (e.type === 'turn.completed' && e.usage) {
      result.turns++;
      result.usage.input += e.usage.input_tokens ?? 0;
      result.usage.cached += e.usage.cached_input_tokens ?? 0;
      result.usage.output += e.usage.output_tokens ?? 0;
      result.usage.reasoning += e.usage.reasoning_output_tokens ?? 0;
    } else if (e.type === 'item.started' && e.item?.type === 'command_execution') {
      o.onActivity(`running: ${e.item.command}`);
    } else if (e.type === 'item.completed' && e.item?.type === 'command_execution') {
      result.commands++;
      o.onActivity(`ran (exit ${e.item.exit_code ?? '?'}): ${e.item.command}`);
      if (result.commands >= o.maxCommands) stop('turn_limit');
    } else if (e.type === 'item.completed' && e.item?.type === 'file_change') {
      o.onActivity(`changed: ${(e.item.changes ?? []).map((c) => c.path).join(', ')}`);
    } else if (e.type === 'item.completed' && e.item?.type === 'agent_message') {
      result.message = e.item.text ?? '';
    } else if (e.type === 'turn.failed' || e.type === 'error') {
      result.error = e.error?.message ?? e.message ?? 'codex reported an error';
    }
  };
  child.stdin.end(o.prompt);
  return new Promise((resolve) => {
    child.on('error', (e) => {
      result.end = 'failed';
      result.error = `cannot run ${o.codex}: ${e.message}`;
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      // Ended by itself: the watchdog goes without killing anything.
      lifeline?.kill('SIGKILL');
      o.signal.removeEventListener('abort', onAbort);
      result.exitCode = code;
      if (result.end === 'done' && (code !== 0 || result.error)) result.end = 'failed';
      resolve(result);
    });
  });
}
