import type { Heartbeat } from '../../src/bus/index.ts';
import type { Provider } from '../../src/llm/Provider.ts';

export interface HostHealthOptions {
  provider: Provider;
  model: string;
  /** Time between checks while healthy. Default 15 000 ms. */
  checkEveryMs?: number;
  /** First wait of a cool-down; doubled after each failed check. Default 1000 ms. */
  cooldownInitialMs?: number;
  /** Longest wait between checks of a cooled-down host. Default 60 000 ms. */
  cooldownMaxMs?: number;
  /** Called whenever the host turns healthy or unhealthy, or a check result changes. */
  onChange?: () => void;
  log?: (line: string) => void;
}

export type HealthReport = NonNullable<Heartbeat['health']>;

/**
 * The active health of a worker's model server. It is checked on a schedule
 * (server version, the model present, latency). A failed check, or a call that
 * failed at the host (connection refused or reset, time-out, 503, a stream
 * broken off), cools the host down: the worker takes no work while
 * `healthy` is false, and the host is checked again after 1 s, 2 s, 4 s ... up
 * to the maximum, and comes back by itself on the first good check.
 *
 * @example
 * const health = new HostHealth({ provider, model: 'gpt-oss:20b', onChange: () => worker.beat() });
 * health.start();
 * health.failed('connect ECONNREFUSED'); // cooled down; checked again in 1 s
 */
export class HostHealth {
  private timer: NodeJS.Timeout | null = null;
  private failures = 0;
  private cooling = false;
  private last: HealthReport | null = null;
  private running = false;
  private checking: Promise<void> | null = null;
  /** Bumped by every failed call: a check that began before one does not clear its cool-down. */
  private generation = 0;
  private readonly checkEveryMs: number;
  private readonly initialMs: number;
  private readonly maxMs: number;

  constructor(private readonly options: HostHealthOptions) {
    this.checkEveryMs = options.checkEveryMs ?? 15_000;
    this.initialMs = options.cooldownInitialMs ?? 1000;
    this.maxMs = options.cooldownMaxMs ?? 60_000;
  }

  /** False while cooling down: take no work. */
  get healthy(): boolean {
    return !this.cooling;
  }

  /** The last check, for the heartbeat (null before the first). */
  get report(): HealthReport | null {
    return this.last;
  }

  /** Checks on schedule from now on (now too, unless a check has already run). */
  start(): void {
    this.running = true;
    if (this.last === null) void this.check();
    else if (!this.timer) this.schedule(this.cooling ? this.initialMs : this.checkEveryMs);
  }

  stop(): void {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** A call failed at the host: cool it down (a host already cooling keeps its back-off). */
  failed(reason: string): void {
    this.generation += 1;
    if (this.cooling) return;
    this.enterCooldown(reason);
  }

  /**
   * A call succeeded: the back-off starts from the beginning again. (A good health
   * check alone does not reset it: a host whose checks pass while its calls keep
   * failing is cooled down for longer each time.)
   */
  succeeded(): void {
    if (!this.cooling) this.failures = 0;
  }

  /** Checks the host now (concurrent callers share one check). */
  check(): Promise<void> {
    this.checking ??= this.runCheck().finally(() => { this.checking = null; });
    return this.checking;
  }

  private async runCheck(): Promise<void> {
    const { provider, model } = this.options;
    const checkedAt = new Date().toISOString();
    const generation = this.generation;
    try {
      const r = provider.health ? await provider.health(model) : { ok: true as const, latencyMs: null, version: undefined };
      // A call failed while this check ran: its cool-down stands.
      if (generation !== this.generation) return;
      this.last = { ok: true, latencyMs: r.latencyMs ?? null, checkedAt, version: r.version ?? null, error: null, retryAt: null };
      const wasCooling = this.cooling;
      this.cooling = false;
      if (wasCooling) this.options.log?.(`host ${provider.name} is healthy again`);
      this.schedule(this.checkEveryMs);
      this.options.onChange?.();
    } catch (e) {
      this.enterCooldown((e as Error).message, checkedAt);
    }
  }

  private enterCooldown(reason: string, checkedAt = new Date().toISOString()): void {
    const waitMs = Math.min(this.maxMs, this.initialMs * 2 ** this.failures);
    this.failures += 1;
    if (!this.cooling) this.options.log?.(`host ${this.options.provider.name} cooled down: ${reason}`);
    this.cooling = true;
    this.last = {
      ok: false, latencyMs: null, checkedAt, version: this.last?.version ?? null, error: reason,
      retryAt: new Date(Date.now() + waitMs).toISOString(),
    };
    this.schedule(waitMs);
    this.options.onChange?.();
  }

  private schedule(ms: number): void {
    if (!this.running) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => { this.timer = null; void this.check(); }, ms);
    this.timer.unref?.();
  }
}
