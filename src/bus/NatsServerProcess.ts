import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KoubouError } from '../core/errors.ts';

/** How to get nats-server where koubou cannot install it itself: one line, three ways. */
export const NATS_INSTALL_HELP =
  'get it with `sudo apt-get install -y nats-server` (Debian/Ubuntu), `brew install nats-server` (macOS) ' +
  'or a release from https://github.com/nats-io/nats-server/releases, or point koubou at a running server with NATS_URL=nats://host:4222';

export class NatsServerMissingError extends KoubouError {
  /** @param why What stood in the way of installing it, when known. */
  constructor(why?: string) {
    super('NATS_SERVER_MISSING', `nats-server is not installed${why ? ` and ${why}` : ''}: ${NATS_INSTALL_HELP}`);
  }
}

export interface NatsServerOptions {
  /** nats.conf to start with. */
  configFile: string;
  /** JetStream store directory. Default: a new temp directory, removed on `stop({ clean: true })`. */
  storeDir?: string;
  /** Client port; -1 (default) picks a free one. */
  port?: number;
  /** Monitoring port; 0 (default) turns it off, -1 picks a free one. */
  httpPort?: number;
  /** Environment for the server: must hold the passwords nats.conf references. */
  env: Record<string, string>;
  /** Where the server log goes. Default: discarded. */
  logFile?: string;
  /** The address clients reach it at, for `url`. Default 127.0.0.1 (it listens on every interface). */
  host?: string;
  /** A command to run the server under, e.g. `['ip', 'netns', 'exec', 'master']` (tests' hosts). Default none. */
  prefix?: string[];
  /** The directory the server runs in: the project's, for nats-tls.conf's certificate paths (.koubou/tls/…). Default: this process's. */
  cwd?: string;
  /** The conf makes clients use TLS (nats-tls.conf, nats-cluster-tls.conf): `url` says tls://. See serverConfFile(). */
  tls?: boolean;
}

/**
 * A `nats-server` child process: started with a config, on a free port, with
 * its own store. Used by `koubou up` and by the tests.
 *
 * @example
 * const server = await NatsServerProcess.start({ configFile: 'nats.conf', env: creds });
 * server.url; // nats://127.0.0.1:41234
 * await server.stop();
 */
export class NatsServerProcess {
  private child: ChildProcess | null = null;
  private lifeline: ChildProcess | null = null;
  private constructor(
    private readonly options: NatsServerOptions & { storeDir: string },
    private readonly ownsStore: boolean,
    public port: number,
    public httpPort: number,
  ) {}

  get url(): string {
    return `${this.options.tls ? 'tls' : 'nats'}://${this.options.host ?? '127.0.0.1'}:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  static available(): boolean {
    return spawnSync('nats-server', ['--version'], { stdio: 'ignore' }).status === 0;
  }

  static async start(options: NatsServerOptions): Promise<NatsServerProcess> {
    if (!NatsServerProcess.available()) throw new NatsServerMissingError();
    const ownsStore = options.storeDir === undefined;
    const storeDir = options.storeDir ?? mkdtempSync(join(tmpdir(), 'koubou-nats-'));
    const server = new NatsServerProcess({ ...options, storeDir }, ownsStore, options.port ?? -1, options.httpPort ?? 0);
    await server.launch();
    return server;
  }

  private async launch(): Promise<void> {
    const portsDir = mkdtempSync(join(tmpdir(), 'koubou-ports-'));
    mkdirSync(this.options.storeDir, { recursive: true });
    const args = ['-c', this.options.configFile, '-p', String(this.port), '-m', String(this.httpPort),
      '-sd', this.options.storeDir, '--ports_file_dir', portsDir];
    if (this.options.logFile) args.push('-l', this.options.logFile);
    const [command, ...rest] = [...(this.options.prefix ?? []), 'nats-server', ...args];
    const child = spawn(command!, rest, {
      env: { ...process.env, ...this.options.env }, stdio: ['ignore', 'ignore', 'pipe'], ...(this.options.cwd ? { cwd: this.options.cwd } : {}),
    });
    this.child = child;
    // A lifeline: a watchdog that stops the server when this process dies (its stdin, our pipe,
    // closes), so a `koubou up` or a test killed with kill -9 leaves no server running behind it.
    // Shell builtins only (read, kill), so it works whatever PATH the server was given.
    const lifeline = spawn('/bin/sh', ['-c', `while read -r _; do :; done; kill -TERM ${child.pid} 2>/dev/null`], { detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
    // Without a shell there is no lifeline; the server then outlives a crash of its parent, as before.
    lifeline.on('error', () => {});
    lifeline.unref();
    (lifeline.stdin as { unref?: () => void } | null)?.unref?.();
    this.lifeline = lifeline;
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-4000); });
    try {
      const ports = await waitForPortsFile(portsDir, child, () => stderr);
      this.port = Number(new URL(ports.nats[0]!).port);
      if (ports.monitoring?.[0]) this.httpPort = Number(new URL(ports.monitoring[0]).port);
    } finally {
      rmSync(portsDir, { recursive: true, force: true });
    }
  }

  /** Stops gracefully (SIGTERM), or at once with `kill: true` (SIGKILL, as a crash). */
  async stop(opts: { kill?: boolean; clean?: boolean } = {}): Promise<void> {
    const child = this.child;
    this.child = null;
    // Stopped on purpose: the watchdog goes without killing anything.
    this.lifeline?.kill('SIGKILL');
    this.lifeline = null;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill(opts.kill ? 'SIGKILL' : 'SIGTERM');
      await exited;
    }
    if ((opts.clean ?? this.ownsStore) && this.ownsStore) rmSync(this.options.storeDir, { recursive: true, force: true });
  }

  /** Stops and starts again on the same port and store: what was persisted survives. */
  async restart(opts: { kill?: boolean } = {}): Promise<void> {
    await this.stop({ kill: opts.kill, clean: false });
    await this.launch();
  }
}

async function waitForPortsFile(dir: string, child: ChildProcess, stderr: () => string): Promise<{ nats: string[]; monitoring?: string[] }> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new KoubouError('NATS_SERVER_FAILED', `nats-server exited (${child.exitCode}): ${stderr().trim()}`);
    const file = readdirSync(dir).find((f) => f.endsWith('.ports'));
    if (file) {
      try {
        return JSON.parse(readFileSync(join(dir, file), 'utf8'));
      } catch {
        // Written but not complete yet: read again.
      }
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  child.kill('SIGKILL');
  throw new KoubouError('NATS_SERVER_FAILED', `nats-server did not start within 10 s: ${stderr().trim()}`);
}
