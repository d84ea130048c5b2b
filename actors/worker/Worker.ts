import { hostname } from 'node:os';
import { jetstream, type Consumer, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';
import type { Subscription } from '@nats-io/transport-node';
import { STREAMS, SUBJECTS, type Heartbeat } from '../../src/bus/index.ts';
import type { WorkerStatus } from '../../src/core/types.ts';
import { priceTable } from '../../src/routing/createRoutingActors.ts';
import { resolveWorkerOptions, type ResolvedWorkerOptions, type WorkerOptions } from './options.ts';
import { runTask, type AbortReason, type TaskOutcome, type TaskRunnerDeps } from './runTask.ts';
import { sleep } from './sleep.ts';
import { WorkerBus } from './WorkerBus.ts';

/** ack_wait assumed when the consumer does not say. */
const DEFAULT_ACK_WAIT_MS = 10_000;
const ABORT_PREFIX = SUBJECTS.abort('');

/**
 * The worker actor: pulls one tier's work from its durable JetStream consumer,
 * runs each item on a `Provider`, and reports `started`, usage, then
 * `completed` or `failed`, acking each item only after its outcome is
 * reported. Heartbeats go out every `heartbeatMs`; `koubou.ctl.abort.<taskId>`
 * cancels a task in flight.
 *
 * Each of the `maxConcurrent` slots pulls one message at a time and only when
 * free, so no message ever waits in a client-side buffer (where its ack_wait
 * would run out unseen and it would be kept from idle workers).
 *
 * @example
 * const nc = await connectBus({ url, role: 'cloud_worker' });
 * const backend = await resolveBackend(config, 'gpt5_high'); // OpenAI, key from OPENAI_API_KEY or the keystore
 * const worker = new Worker({ nc, tier: 'gpt5_high', workerId: 'gpt5_high-1', provider: backend.provider, config: backend.config });
 * await worker.start();
 * // ... on SIGTERM:
 * await worker.stop();
 */
export class Worker {
  readonly workerId: string;
  readonly maxConcurrent: number;
  private readonly opts: ResolvedWorkerOptions;
  private readonly bus: WorkerBus;
  private consumer!: Consumer;
  private ackWaitMs = DEFAULT_ACK_WAIT_MS;
  private abortSub: Subscription | null = null;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private readonly pulls = new Set<ConsumerMessages>();
  private readonly slots: Promise<void>[] = [];
  /** In-flight tasks by a per-delivery key (the same task id may be delivered twice). */
  private readonly inFlight = new Map<number, { taskId: string; controller: AbortController }>();
  private readonly aborted = new Map<string, number>();
  private deps!: TaskRunnerDeps;
  /** Aborted by `stop()`: cuts pull back-off waits short. */
  private readonly halt = new AbortController();
  private nextKey = 0;
  private failuresInARow = 0;
  private lastRateLimitedAt = -Infinity;
  private state: 'new' | 'running' | 'stopping' | 'stopped' = 'new';
  private stopping: Promise<void> | null = null;

  constructor(options: WorkerOptions) {
    this.opts = resolveWorkerOptions(options);
    this.workerId = this.opts.workerId;
    this.maxConcurrent = this.opts.maxConcurrent;
    this.bus = new WorkerBus({ nc: this.opts.nc, js: jetstream(this.opts.nc) });
  }

  /** The consumer's ack_wait, read at start. */
  get ackWait(): number {
    return this.ackWaitMs;
  }

  /**
   * Looks up the tier's consumer (a permission error here means the
   * credentials do not allow this tier), listens for aborts, starts
   * heartbeats and the pulling slots.
   */
  async start(): Promise<void> {
    if (this.state !== 'new') throw new Error(`worker ${this.workerId} was already started`);
    const { nc, tier } = this.opts;
    this.consumer = await jetstream(nc).consumers.get(STREAMS.work, tier);
    const ackWaitNs = (await this.consumer.info(true)).config.ack_wait;
    if (ackWaitNs) this.ackWaitMs = ackWaitNs / 1_000_000;
    this.deps = this.runnerDeps();
    // Aborts first, so none sent for a task this worker is about to pull is missed.
    this.abortSub = nc.subscribe(SUBJECTS.abortAll, { callback: (err, m) => { if (!err) this.onAbort(m.subject.slice(ABORT_PREFIX.length)); } });
    await nc.flush();
    this.state = 'running';
    this.beat();
    this.heartbeatTimer = setInterval(() => this.beat(), this.opts.heartbeatMs);
    for (let i = 0; i < this.maxConcurrent; i++) this.slots.push(this.slot());
  }

  /**
   * Stops pulling, lets tasks in flight finish for up to `timeoutMs` (default
   * the `stopTimeoutMs` option), hands any still running back to the queue
   * (nak: another worker redoes them at once), then sends an `offline`
   * heartbeat. The connection stays open: it belongs to the caller.
   */
  stop(opts: { timeoutMs?: number } = {}): Promise<void> {
    if (this.state === 'new') this.state = 'stopped';
    this.stopping ??= this.state === 'running' ? this.shutdown(opts.timeoutMs ?? this.opts.stopTimeoutMs) : Promise.resolve();
    return this.stopping;
  }

  private async shutdown(timeoutMs: number): Promise<void> {
    this.state = 'stopping';
    this.halt.abort();
    for (const pull of this.pulls) pull.stop();
    const all = Promise.allSettled(this.slots);
    const timer = new AbortController();
    const finished = await Promise.race([all.then(() => true), sleep(timeoutMs, timer.signal).then(() => false)]);
    timer.abort();
    if (!finished) {
      for (const { controller } of this.inFlight.values()) controller.abort('shutdown' satisfies AbortReason);
      await all;
    }
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.abortSub?.unsubscribe();
    this.state = 'stopped';
    this.beat();
    await this.opts.nc.flush().catch(() => {});
  }

  /** What the next heartbeat will say. */
  status(): WorkerStatus {
    if (this.state === 'stopped') return 'offline';
    if (Date.now() - this.lastRateLimitedAt < this.opts.rateLimitedForMs) return 'rate_limited';
    if (this.failuresInARow >= this.opts.errorThreshold) return 'error';
    return this.inFlight.size > 0 ? 'busy' : 'idle';
  }

  /** One pulling slot: fetch a single message when free, run it, repeat until stopped. */
  private async slot(): Promise<void> {
    let errors = 0;
    while (this.state === 'running') {
      let msg: JsMsg | null = null;
      try {
        const pull = await this.consumer.fetch({ max_messages: 1, expires: this.opts.pullExpiresMs });
        this.pulls.add(pull);
        // stop() may have run while fetch() was being set up.
        if (this.state !== 'running') pull.stop();
        try {
          for await (const m of pull) { msg = m; break; }
        } finally {
          this.pulls.delete(pull);
        }
        errors = 0;
      } catch (e) {
        // Missed heartbeats, no responders while the server restarts, a closed
        // connection: never fatal while running; back off and pull again.
        if (this.opts.nc.isClosed()) return;
        if (errors++ === 0) this.opts.log(`worker ${this.workerId}: pull failed (${(e as Error).message}); retrying`);
        await sleep(Math.min(250 * 2 ** errors, 5000), this.halt.signal);
        continue;
      }
      if (!msg) continue;
      if (this.state !== 'running') {
        // Arrived as the worker stopped: straight back to the queue for another worker.
        try { msg.nak(); } catch { /* closed */ }
        return;
      }
      // runTask catches everything itself; this guard only keeps a slot alive whatever happens.
      await runTask(this.deps, msg).catch((e) => this.opts.log(`worker ${this.workerId}: ${(e as Error).message}`));
    }
  }

  private runnerDeps(): TaskRunnerDeps {
    const tierConfig = this.opts.config.tiers[this.opts.tier];
    return {
      bus: this.bus,
      workerId: this.workerId,
      tier: this.opts.tier,
      tierConfig,
      provider: this.opts.provider,
      prices: priceTable(this.opts.config),
      workingEveryMs: Math.max(100, Math.floor(this.ackWaitMs / 3)),
      retryDelayScale: this.opts.retryDelayScale,
      overflowPolicy: this.opts.config.context.overflow_policy,
      maxRateLimitWaitMs: this.opts.config.routing.max_rate_limit_wait_seconds * 1000,
      wasAborted: (taskId) => this.wasAborted(taskId),
      track: (taskId, controller) => {
        const key = this.nextKey++;
        this.inFlight.set(key, { taskId, controller });
        return () => this.inFlight.delete(key);
      },
      outcome: (o) => this.onOutcome(o),
      log: this.opts.log,
    };
  }

  private onOutcome(outcome: TaskOutcome): void {
    if (outcome === 'completed') this.failuresInARow = 0;
    else if (outcome === 'failed') this.failuresInARow += 1;
    else if (outcome === 'rate_limited') this.lastRateLimitedAt = Date.now();
  }

  private onAbort(taskId: string): void {
    const now = Date.now();
    for (const [id, expires] of this.aborted) if (expires <= now) this.aborted.delete(id);
    this.aborted.set(taskId, now + this.opts.abortMemoryMs);
    for (const t of this.inFlight.values()) {
      if (t.taskId === taskId) t.controller.abort('cancelled' satisfies AbortReason);
    }
  }

  private wasAborted(taskId: string): boolean {
    const expires = this.aborted.get(taskId);
    return expires !== undefined && expires > Date.now();
  }

  private beat(): void {
    const { tier, config, location, endpoint, capabilities } = this.opts;
    const heartbeat: Heartbeat = {
      workerId: this.workerId, tier, status: this.status(), location, host: hostname(), endpoint,
      model: config.tiers[tier].model, capabilities, maxConcurrent: this.maxConcurrent,
      currentTasks: [...new Set([...this.inFlight.values()].map((t) => t.taskId))],
      load: Math.min(1, this.inFlight.size / this.maxConcurrent), pid: process.pid, at: new Date().toISOString(),
    };
    this.bus.heartbeat(heartbeat);
  }
}
