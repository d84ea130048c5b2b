import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { decode, heartbeatSchema, STREAMS, SUBJECTS, workConsumer, type Heartbeat } from '../../src/bus/index.ts';
import type { ChildSpec } from '../../src/cli/ChildSupervisor.ts';
import { desiredWorkers } from '../../src/pool/index.ts';

/** What the pool needs of a process supervisor (src/cli/ChildSupervisor.ts is one). */
export interface WorkerProcesses {
  /** Starts a process and restarts it with back-off whenever it dies. */
  start(spec: ChildSpec): void;
  /** Stops one process for good (SIGTERM: its tasks finish or go back to the queue). */
  retire(name: string): Promise<void>;
}

export interface PoolManagerOptions {
  /** A connection allowed to read the local lanes' consumer info (role `local_worker`). */
  nc: NatsConnection;
  processes: WorkerProcesses;
  /** The `koubou worker` command of the n-th worker (1, 2, …). */
  workerSpec(n: number): ChildSpec;
  /** Default 1. */
  minWorkers?: number;
  /** Default 5. */
  maxWorkers?: number;
  /** Tasks each worker runs at once. Default 2. */
  maxActiveTasks?: number;
  /** Default 5000 ms. */
  checkEveryMs?: number;
  /** Default 30 000 ms. */
  scaleDownIdleMs?: number;
  log?: (line: string) => void;
}

/**
 * The seed's WorkerPoolManager for the local tier: keeps between min and max
 * `koubou worker` processes on this machine, grown with the local queue's depth
 * and shrunk after it has been empty a while. A worker that dies is restarted
 * by the supervisor; the pool only decides how many there are.
 *
 * @example
 * const pool = new PoolManager({ nc, processes: supervisor, workerSpec: (n) => ({ name: `pool-${n}`, args: ['worker', '--tier', 'local', '--id', `pool-${n}`], env }) });
 * await pool.start();
 */
export class PoolManager {
  private readonly running: string[] = [];
  private jsm!: JetStreamManager;
  private timer: NodeJS.Timeout | null = null;
  private sub: Subscription | null = null;
  /** The pool's own workers' latest heartbeats. */
  private readonly beats = new Map<string, Heartbeat>();
  private emptySince: number | null = null;
  private checking: Promise<void> | null = null;
  private next = 1;

  constructor(private readonly o: PoolManagerOptions) {}

  /** Worker processes the pool runs now, by name. */
  get workers(): readonly string[] {
    return this.running;
  }

  async start(): Promise<void> {
    this.jsm = await jetstreamManager(this.o.nc);
    this.sub = this.o.nc.subscribe(SUBJECTS.heartbeatAll, {
      callback: (err, m) => {
        if (err) return;
        try {
          const hb = decode(heartbeatSchema, m.data, m.subject);
          if (this.running.includes(hb.workerId)) this.beats.set(hb.workerId, hb);
        } catch { /* the ledger reports bad heartbeats */ }
      },
    });
    await this.check();
    this.timer = setInterval(() => { void this.check(); }, this.o.checkEveryMs ?? 5000);
  }

  /** Stops checking; the processes are the supervisor's to stop. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.sub?.unsubscribe();
  }

  /** Compares the queue with the workers once and starts or stops one or more. */
  check(): Promise<void> {
    this.checking ??= this.rescale().finally(() => { this.checking = null; });
    return this.checking;
  }

  private async rescale(): Promise<void> {
    const depth = await this.depth();
    if (!depth) return;
    const now = Date.now();
    this.emptySince = depth.pending > 0 ? null : (this.emptySince ?? now);
    const want = desiredWorkers({
      ...depth, current: this.running.length, min: this.o.minWorkers ?? 1, max: this.o.maxWorkers ?? 5,
      perWorker: this.o.maxActiveTasks ?? 2, idleForMs: this.emptySince === null ? 0 : now - this.emptySince,
      scaleDownIdleMs: this.o.scaleDownIdleMs ?? 30_000,
    });
    while (this.running.length < want) {
      const spec = this.o.workerSpec(this.next++);
      this.running.push(spec.name);
      this.o.processes.start(spec);
      this.o.log?.(`pool: started ${spec.name} (${this.running.length} worker(s); ${depth.pending} waiting, ${depth.inFlight} running)`);
    }
    if (this.running.length > want) {
      // The newest idle worker goes; none idle: none goes this time.
      const name = [...this.running].reverse().find((n) => { const b = this.beats.get(n); return b?.status === 'idle' && b.currentTasks.length === 0; });
      if (!name) return;
      this.running.splice(this.running.indexOf(name), 1);
      this.beats.delete(name);
      // The idle clock restarts: the next worker goes only after another quiet period.
      this.emptySince = now;
      this.o.log?.(`pool: stopping ${name} (queue empty; ${this.running.length} worker(s) left)`);
      await this.o.processes.retire(name);
    }
  }

  /**
   * Work for this machine's workers: items waiting on the lanes they pull first
   * (`local`, `any`), and the tasks they run now (from their heartbeats: work on
   * LAN hosts is not theirs). Null when the queue cannot be read.
   */
  private async depth(): Promise<{ pending: number; inFlight: number } | null> {
    try {
      let pending = 0;
      for (const lane of ['local', 'any'] as const) {
        pending += (await this.jsm.consumers.info(STREAMS.work, workConsumer('local', lane))).num_pending;
      }
      const inFlight = this.running.reduce((n, name) => n + (this.beats.get(name)?.currentTasks.length ?? 0), 0);
      return { pending, inFlight };
    } catch (e) {
      this.o.log?.(`pool: cannot read the local queue: ${(e as Error).message}`);
      return null;
    }
  }
}
