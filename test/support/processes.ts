/**
 * koubou's actors as real child processes (`node bin/koubou.js <actor>`), so a
 * test can kill -9 one of them mid-run, exactly as a crash would.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { KOUBOU } from './cli.ts';

export class ActorProcess {
  private proc: ChildProcess | null = null;
  output = '';

  constructor(
    readonly name: string,
    private readonly args: string[],
    private readonly env: Record<string, string>,
    private readonly cwd?: string,
    /** A command the actor runs under, e.g. `['ip', 'netns', 'exec', 'host-a']` for another host. */
    private readonly prefix: string[] = [],
  ) {}

  /** Starts and waits for the line that says the actor is ready. */
  async start(ready: RegExp, timeoutMs = 20_000): Promise<this> {
    const [command, ...rest] = [...this.prefix, process.execPath, KOUBOU, ...this.args];
    const proc = spawn(command!, rest, { env: { ...process.env, ...this.env }, cwd: this.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = proc;
    const seen = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.name} not ready within ${timeoutMs} ms:\n${this.output}`)), timeoutMs);
      const onData = (d: Buffer) => {
        this.output += d.toString();
        if (ready.test(this.output)) { clearTimeout(timer); resolve(); }
      };
      proc.stdout!.on('data', onData);
      proc.stderr!.on('data', onData);
      proc.once('exit', (code) => { clearTimeout(timer); reject(new Error(`${this.name} exited (${code}):\n${this.output}`)); });
    });
    await seen;
    return this;
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  /** kill -9: no clean-up, no acks, as in a crash. */
  async kill9(): Promise<void> {
    await this.signal('SIGKILL');
  }

  async stop(): Promise<void> {
    await this.signal('SIGTERM');
  }

  private async signal(sig: NodeJS.Signals): Promise<void> {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill(sig);
    await exited;
  }
}
