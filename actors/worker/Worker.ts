import { hostname } from 'node:os';
import { jetstream, type JsMsg } from '@nats-io/jetstream';
import type { Subscription } from '@nats-io/transport-node';
import { decode, heartbeatSchema, lanesFor, performanceSchema, retryTransient, STREAMS, SUBJECTS, workConsumer, type Heartbeat } from '../../src/bus/index.ts';
import { tierOf } from '../../src/config/index.ts';
import type { WorkerStatus } from '../../src/core/types.ts';
import type { ProviderError } from '../../src/llm/Provider.ts';
import { WorkerRegistry } from '../../src/pool/index.ts';
import { countTokens } from '../../src/policy/index.ts';
import { priceTable } from '../../src/routing/index.ts';
import { HostHealth } from './HostHealth.ts';
import { LanePuller, nak, type PullLane } from './LanePuller.ts';
import { localLanes, plainLanes } from './pullLanes.ts';
import { resolveWorkerOptions, type ResolvedWorkerOptions, type WorkerOptions } from './options.ts';
import { runTask, type AbortReason, type TaskOutcome, type TaskRunnerDeps } from './runTask.ts';
import { sleep } from './sleep.ts';
import { WorkerBus } from './WorkerBus.ts';

/** ack_wait assumed when the consumer does not say. */
const DEFAULT_ACK_WAIT_MS = 10_000;
const ABORT_PREFIX = SUBJECTS.abort('');
/** Least time between two heartbeats sent because a slot was taken or freed. */
const BEAT_ON_CHANGE_MS = 100;
/** Model-server failures that mean "this host, not this task": the work goes to another worker. */
const HOST_FAILURES = new Set(['UNREACHABLE', 'TIMEOUT', 'HOST_BUSY', 'MALFORMED_RESPONSE', 'UPSTREAM_ERROR']);

/**
 * The worker actor: pulls one tier's work from its durable JetStream consumer,
 * runs each item on a `Provider`, and reports `started`, usage, then
 * `completed` or `failed`, acking each item only after its outcome is
 * reported. Heartbeats go out every `heartbeatMs`; `koubou.ctl.abort.<taskId>`
 * cancels a task in flight.
 *
 * Work is pulled only into free slots (see LanePuller), so no message ever
 * waits in a client-side buffer. A local-tier worker pulls the lanes of the
 * priority rules: its own kind's lane first, the shared lane next, the other
 * kind's lane only while no worker of that kind has a free slot (it follows the
 * other workers' heartbeats for that). It checks its model server on a
 * schedule; a failing host is cooled down (no work is taken, the task in hand
 * goes back to the queue for another worker) and comes back by itself.
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
  private ackWaitMs = DEFAULT_ACK_WAIT_MS;
  private readonly subs: Subscription[] = [];
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private beatSoon: NodeJS.Timeout | null = null;
  private lastBeatAt = 0;
  private puller: LanePuller | null = null;
  private health: HostHealth | null = null;
  private readonly peers: WorkerRegistry;
  private performanceFactor: number;
  /** In-flight tasks by a per-delivery key (the same task id may be delivered twice). */
  private readonly inFlight = new Map<number, { taskId: string; controller: AbortController }>();
  private readonly aborted = new Map<string, number>();
  private deps!: TaskRunnerDeps;
  /** Aborted by `stop()`: ends the pull loops and cuts back-off waits short. */
  private readonly halt = new AbortController();
  private nextKey = 0;
  private failuresInARow = 0;
  private lastRateLimitedAt = -Infinity;
  private state: 'new' | 'running' | 'stopping' | 'stopped' = 'new';
  private stopping: Promise<void> | null = null;
  private startedAt = 0;

  constructor(options: WorkerOptions) {
    this.opts = resolveWorkerOptions(options);
    this.workerId = this.opts.workerId;
    this.maxConcurrent = this.opts.maxConcurrent;
    this.performanceFactor = this.opts.performanceFactor;
    this.peers = new WorkerRegistry({ heartbeatMs: this.opts.heartbeatMs });
    this.bus = new WorkerBus({ nc: this.opts.nc, js: jetstream(this.opts.nc), publishAttempts: this.opts.publishAttempts });
  }

  /** The consumer's ack_wait, read at start. */
  get ackWait(): number {
    return this.ackWaitMs;
  }

  /** The durable consumers this worker pulls, most preferred first. */
  get lanes(): string[] {
    const { tier, location, consumers } = this.opts;
    if (consumers.length > 0) return consumers;
    return tier === 'local' ? lanesFor(location).map((lane) => workConsumer(tier, lane)) : [workConsumer(tier)];
  }

  /**
   * Looks up the consumers it pulls (a permission error here means the
   * credentials do not allow this tier), listens for aborts (and, on the local
   * tier, for the other workers' heartbeats and measured performance factors),
   * checks its host, starts heartbeats and pulling.
   */
  async start(): Promise<void> {
    if (this.state !== 'new') throw new Error(`worker ${this.workerId} was already started`);
    const { nc, tier } = this.opts;
    const js = jetstream(nc);
    // A connection that drops while the worker starts (a flaky LAN link) is waited out, not fatal.
    const consumers = await retryTransient(() => Promise.all(this.lanes.map((name) => js.consumers.get(STREAMS.work, name))));
    const ackWaitNs = (await consumers[0]!.info(true)).config.ack_wait;
    if (ackWaitNs) this.ackWaitMs = ackWaitNs / 1_000_000;
    this.deps = this.runnerDeps();
    // Aborts first, so none sent for a task this worker is about to pull is missed.
    this.subs.push(nc.subscribe(SUBJECTS.abortAll, { callback: (err, m) => { if (!err) this.onAbort(m.subject.slice(ABORT_PREFIX.length)); } }));
    if (tier === 'local') {
      this.subs.push(nc.subscribe(SUBJECTS.heartbeatAll, { callback: (err, m) => { if (!err) this.onPeerHeartbeat(m.data, m.subject); } }));
      this.subs.push(nc.subscribe(SUBJECTS.performance, { callback: (err, m) => { if (!err) this.onPerformance(m.data); } }));
      this.health = new HostHealth({
        provider: this.opts.provider, model: tierOf(this.opts.config, tier).model,
        checkEveryMs: this.opts.config.pool.health_check_seconds * 1000,
        cooldownInitialMs: this.opts.config.pool.cooldown.initial_seconds * 1000,
        cooldownMaxMs: this.opts.config.pool.cooldown.max_seconds * 1000,
        // Heartbeats start once the worker runs; the first one carries the first check.
        onChange: () => { if (this.state === 'running') this.beat(); this.puller?.wake(); },
        log: (l) => this.opts.log(`worker ${this.workerId}: ${l}`),
      });
    }
    await retryTransient(() => nc.flush());
    // A paid tier counts each call's prompt before making it (PaidCallGuard): the tokenizer's tables
    // load now (a few hundred ms, synchronously), not inside the first task, where they would hold
    // back its in-progress acks.
    if (tierOf(this.opts.config, tier).cloud) countTokens('warm up');
    this.startedAt = Date.now();
    // The first heartbeat already carries the host's health; a host down now is cooled down at once.
    await this.health?.check();
    if (this.state !== 'new') {
      // stop() was called while the host was being checked: do not start after all.
      for (const s of this.subs) s.unsubscribe();
      return;
    }
    this.state = 'running';
    this.health?.start();
    this.beat();
    this.heartbeatTimer = setInterval(() => this.beat(), this.opts.heartbeatMs);
    this.puller = new LanePuller({
      lanes: this.pullLanes(consumers), slots: this.maxConcurrent, pullExpiresMs: this.opts.pullExpiresMs,
      canPull: () => this.state === 'running' && (this.health?.healthy ?? true),
      run: (msg) => this.run(msg),
      onSlotsChanged: () => this.beatOnChange(),
      isClosed: () => nc.isClosed(),
      halt: this.halt.signal,
      log: (l) => this.opts.log(`worker ${this.workerId}: ${l}`),
    });
    this.puller.start();
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
    const puller = this.puller!;
    await puller.stopPulling();
    const timer = new AbortController();
    const finished = await Promise.race([puller.drained().then(() => true), sleep(timeoutMs, timer.signal).then(() => false)]);
    timer.abort();
    if (!finished) {
      for (const { controller } of this.inFlight.values()) controller.abort('shutdown' satisfies AbortReason);
      await puller.drained();
    }
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    if (this.beatSoon) clearTimeout(this.beatSoon);
    this.health?.stop();
    for (const s of this.subs) s.unsubscribe();
    this.state = 'stopped';
    this.beat();
    await this.opts.nc.flush().catch(() => {});
  }

  /** What the next heartbeat will say. */
  status(): WorkerStatus {
    if (this.state === 'stopped') return 'offline';
    if (this.health && !this.health.healthy) return 'error';
    if (Date.now() - this.lastRateLimitedAt < this.opts.rateLimitedForMs) return 'rate_limited';
    if (this.failuresInARow >= this.opts.errorThreshold) return 'error';
    return this.inFlight.size > 0 ? 'busy' : 'idle';
  }

  /** The lanes with their rules (pullLanes.ts): preferred ones first; the other kind's only while that kind is full or gone. */
  private pullLanes(consumers: PullLane['consumer'][]): PullLane[] {
    const { tier, location, config, heartbeatMs } = this.opts;
    if (tier !== 'local' || this.opts.consumers.length > 0) return plainLanes(this.lanes, consumers);
    return localLanes(this.lanes, consumers, {
      workerId: this.workerId, location, peers: this.peers, performanceFactor: () => this.performanceFactor,
      yieldToFasterMs: config.pool.yield_to_faster_ms, startedAt: () => this.startedAt, heartbeatMs,
    });
  }

  /** runTask catches everything itself; this guard only keeps the worker alive whatever happens. */
  private async run(msg: JsMsg): Promise<void> {
    if (this.state !== 'running') {
      // Arrived as the worker stopped: straight back to the queue for another worker.
      nak(msg);
      return;
    }
    await runTask(this.deps, msg).catch((e) => this.opts.log(`worker ${this.workerId}: ${(e as Error).message}`));
  }

  private runnerDeps(): TaskRunnerDeps {
    const { tier, config } = this.opts;
    const tierConfig = tierOf(config, tier);
    return {
      bus: this.bus,
      workerId: this.workerId,
      tier,
      tierConfig,
      provider: this.opts.provider,
      prices: priceTable(config),
      workingEveryMs: Math.max(100, Math.floor(this.ackWaitMs / 3)),
      holdStartMs: this.opts.holdStartMs,
      retryDelayScale: this.opts.retryDelayScale,
      overflowPolicy: config.context.overflow_policy,
      maxRateLimitWaitMs: config.routing.max_rate_limit_wait_seconds * 1000,
      ...(tier === 'local' ? { hostFailed: (e: ProviderError, deliveries: number) => this.onHostFailure(e, deliveries) } : {}),
      wasAborted: (taskId) => this.wasAborted(taskId),
      track: (taskId, controller) => {
        const key = this.nextKey++;
        this.inFlight.set(key, { taskId, controller });
        return () => this.inFlight.delete(key);
      },
      outcome: (o) => this.onOutcome(o),
      log: this.opts.log,
      executor: this.opts.executor,
    };
  }

  /** A model-server failure cools the host down; the task goes to another worker unless it has bounced too often. */
  private onHostFailure(e: ProviderError, deliveries: number): boolean {
    if (!HOST_FAILURES.has(e.code)) return false;
    this.health?.failed(`${e.code}: ${e.message}`);
    // Handed back at most max_handbacks times; the delivery after that fails with the host's error.
    return deliveries <= this.opts.config.pool.max_handbacks;
  }

  private onOutcome(outcome: TaskOutcome): void {
    if (outcome === 'completed') this.health?.succeeded();
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

  private onPeerHeartbeat(data: Uint8Array, subject: string): void {
    try {
      this.peers.observe(decode(heartbeatSchema, data, subject));
      this.puller?.wake();
    } catch {
      // A malformed heartbeat is the ledger's to report; here it is only not counted.
    }
  }

  private onPerformance(data: Uint8Array): void {
    try {
      const factor = decode(performanceSchema, data, SUBJECTS.performance).factors[this.workerId];
      if (factor !== undefined && factor !== this.performanceFactor) {
        this.opts.log(`worker ${this.workerId}: measured performance factor ${factor.toFixed(2)} (was ${this.performanceFactor.toFixed(2)})`);
        this.performanceFactor = factor;
      }
    } catch {
      // Not for us to reject; the next recompute sends it again.
    }
  }

  /** A heartbeat soon after a slot is taken or freed, so other workers see free slots promptly. */
  private beatOnChange(): void {
    if (this.beatSoon || this.state !== 'running') return;
    this.beatSoon = setTimeout(() => { this.beatSoon = null; this.beat(); }, Math.max(0, this.lastBeatAt + BEAT_ON_CHANGE_MS - Date.now()));
  }

  private beat(): void {
    const { tier, config, location, endpoint, capabilities } = this.opts;
    this.lastBeatAt = Date.now();
    const health = this.health?.report;
    const heartbeat: Heartbeat = {
      workerId: this.workerId, tier, status: this.status(), location, host: hostname(), endpoint,
      model: tierOf(config, tier).model, capabilities, maxConcurrent: this.maxConcurrent,
      currentTasks: [...new Set([...this.inFlight.values()].map((t) => t.taskId))],
      load: Math.min(1, this.inFlight.size / this.maxConcurrent), pid: process.pid,
      performanceFactor: this.performanceFactor, ...(health ? { health } : {}), at: new Date().toISOString(),
    };
    this.bus.heartbeat(heartbeat);
  }
}
