import { spawn, type ChildProcess } from 'node:child_process';

/** Set in a supervised child's environment: its stdin closes when its supervisor dies. */
export const LIFELINE_VAR = 'KOUBOU_LIFELINE';

/**
 * In a supervised child: stop (as on SIGTERM, cleanly) when the supervisor's end of stdin closes.
 * Does nothing in a command a person started.
 */
export function watchLifeline(env: NodeJS.ProcessEnv = process.env): void {
  if (env[LIFELINE_VAR] !== 'stdin') return;
  process.stdin.on('end', () => process.kill(process.pid, 'SIGTERM'));
  process.stdin.on('error', () => process.kill(process.pid, 'SIGTERM'));
  process.stdin.resume();
  (process.stdin as { unref?: () => void }).unref?.();
}

export interface ChildSpec {
  name: string;
  args: string[];
  env: Record<string, string | undefined>;
}

/**
 * Runs koubou's own commands as child processes, prefixes their output with
 * their name, restarts one that dies unexpectedly (with backoff), and stops
 * them in the order given.
 */
export class ChildSupervisor {
  private readonly children = new Map<string, { spec: ChildSpec; proc: ChildProcess | null; restarts: number }>();
  private stopping = false;

  constructor(private readonly entry: string, private readonly log: (line: string) => void) {}

  start(spec: ChildSpec): void {
    const slot = this.children.get(spec.name) ?? { spec, proc: null, restarts: 0 };
    this.children.set(spec.name, slot);
    // KOUBOU_CPU_PROF_DIR: each child writes a CPU profile there when it stops (`npm run bench`'s profiles).
    const prof = process.env.KOUBOU_CPU_PROF_DIR;
    const node = prof ? ['--cpu-prof', `--cpu-prof-dir=${prof}`, `--cpu-prof-name=${spec.name}.cpuprofile`] : [];
    // stdin is a lifeline (KOUBOU_LIFELINE): the child stops by itself when this supervisor dies, even by kill -9.
    const proc = spawn(process.execPath, [...node, this.entry, ...spec.args], {
      env: { ...spec.env, [LIFELINE_VAR]: 'stdin' } as NodeJS.ProcessEnv, stdio: ['pipe', 'pipe', 'pipe'],
    });
    slot.proc = proc;
    const prefix = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) if (line.trim()) this.log(`[${spec.name}] ${line}`);
    };
    proc.stdout!.on('data', prefix);
    proc.stderr!.on('data', prefix);
    proc.on('exit', (code, signal) => {
      if (this.stopping || slot.proc !== proc) return;
      slot.restarts += 1;
      const delay = Math.min(30_000, 500 * 2 ** Math.min(slot.restarts, 6));
      this.log(`[${spec.name}] exited (${signal ?? code}); restarting in ${(delay / 1000).toFixed(1)} s`);
      // Not if it was retired (or stopped) meanwhile.
      setTimeout(() => { if (!this.stopping && this.children.get(spec.name) === slot) this.start(spec); }, delay);
    });
  }

  /** SIGTERM each group in turn and wait for it to exit (SIGKILL after `graceMs`). */
  async stop(order: string[][], graceMs = 15_000): Promise<void> {
    this.stopping = true;
    for (const group of order) {
      await Promise.all(group.map((name) => terminate(this.children.get(name)?.proc ?? null, graceMs)));
    }
  }

  /**
   * Stops one child for good: SIGTERM, SIGKILL after `graceMs` (longer than a
   * worker's own 30 s stop time-out, so its tasks finish or go back to the
   * queue); it is not restarted.
   */
  async retire(name: string, graceMs = 45_000): Promise<void> {
    const slot = this.children.get(name);
    if (!slot) return;
    this.children.delete(name);
    const proc = slot.proc;
    slot.proc = null;
    await terminate(proc, graceMs);
  }

  names(): string[] {
    return [...this.children.keys()];
  }
}

/** SIGTERM, SIGKILL after `graceMs`; resolves once the process has exited (at once if it had). */
async function terminate(proc: ChildProcess | null, graceMs: number): Promise<void> {
  if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}
