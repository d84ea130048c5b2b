/**
 * The dashboard's view of the bus: one resuming ordered consumer on KOUBOU_EVENTS (task events, usage,
 * the calls an execution charges, rate-limit signals) starting `backfillHours` ago, and core subscriptions to heartbeats and
 * progress. One consumer for backfill and live events alike, so nothing falls in a gap between
 * "history" and "from now on" and nothing is seen twice. Only what the `dashboard` role may do in
 * nats.conf: create/read consumers on KOUBOU_EVENTS, subscribe to heartbeats and progress.
 */
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import {
  decode, decodeTaskEvents, executionSchema, heartbeatSchema, progressSchema, rateLimitSignalSchema, StreamFollower, STREAMS, SUBJECTS, usageEventSchema,
  type Heartbeat, type Progress, type RateLimitSignal, type TaskEventMessage, type UsageEvent,
} from '../../src/bus/index.ts';

/** What the follower hands on; each message is decoded and validated first. */
export interface FollowerHandlers {
  onTaskEvent(e: TaskEventMessage): void;
  onUsage(u: UsageEvent): void;
  onRateLimit(s: RateLimitSignal): void;
  onHeartbeat(h: Heartbeat): void;
  onProgress?(p: Progress): void;
  /** Once, when the backfill has been read (or could not be within the wait). */
  onCaughtUp?(): void;
}

/** How much history to read, and how long to wait for it. */
export interface FollowerOptions {
  /** How far back the stream is read at start. Default 24 h. */
  backfillHours?: number;
  /** How long `start()` waits for the backfill before resolving anyway. Default 10 s. */
  readyTimeoutMs?: number;
  /** Retry interval while KOUBOU_EVENTS does not exist yet. Default 2 s. */
  retryMs?: number;
  log?: (line: string) => void;
}

const TASK_PREFIX = 'koubou.evt.task.';
const RATE_PREFIX = 'koubou.evt.ratelimit.';

/**
 * @example
 * const follower = new EventFollower(nc, { onTaskEvent, onUsage, onRateLimit, onHeartbeat });
 * await follower.start(); // resolves once the last 24 h are read
 */
export class EventFollower {
  private readonly subs: Subscription[] = [];
  private follower: StreamFollower | null = null;
  private stopped = false;
  private caughtUp = false;
  private markReady: () => void = () => {};
  private retryTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly nc: NatsConnection,
    private readonly handlers: FollowerHandlers,
    private readonly options: FollowerOptions = {},
  ) {}

  /** Subscribes and starts reading; resolves when caught up with the backfill, or after `readyTimeoutMs`. */
  async start(): Promise<void> {
    const core = <T>(subject: string, decodeOne: (data: Uint8Array, subject: string) => T, handle?: (v: T) => void) => {
      if (!handle) return;
      this.subs.push(this.nc.subscribe(subject, {
        callback: (err, m) => { if (!err) this.safely(m.subject, () => handle(decodeOne(m.data, m.subject))); },
      }));
    };
    core(SUBJECTS.heartbeatAll, (d, s) => decode(heartbeatSchema, d, s), (h) => this.handlers.onHeartbeat(h));
    core(SUBJECTS.progressAll, (d, s) => decode(progressSchema, d, s), this.handlers.onProgress?.bind(this.handlers));
    const ready = new Promise<void>((resolve) => { this.markReady = resolve; });
    void this.follow();
    const timer = setTimeout(() => this.ready(), this.options.readyTimeoutMs ?? 10_000);
    await ready;
    clearTimeout(timer);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    await this.follower?.stop();
    await Promise.allSettled(this.subs.map((s) => s.drain()));
    this.ready();
  }

  private ready(): void {
    if (this.caughtUp) return;
    this.caughtUp = true;
    this.handlers.onCaughtUp?.();
    this.markReady();
  }

  private async follow(): Promise<void> {
    const hours = this.options.backfillHours ?? 24;
    // Resumes from the last event read after a server restart or node loss: nothing missed, nothing twice.
    const follower = new StreamFollower(this.nc, {
      stream: STREAMS.events,
      from: new Date(Date.now() - hours * 3_600_000),
      onMessage: (m) => this.safely(m.subject, () => this.dispatch(m.subject, m.data)),
      onCaughtUp: () => this.ready(),
      log: (line) => this.options.log?.(`dashboard: ${line}`),
    });
    try {
      await follower.start();
    } catch (e) {
      // The stream may not exist yet (the dashboard started before router and ledger): there is
      // no history to wait for, so serve now and try again in the background.
      this.options.log?.(`dashboard: cannot read ${STREAMS.events} yet (${(e as Error).message}); retrying`);
      this.ready();
      if (!this.stopped) this.retryTimer = setTimeout(() => void this.follow(), this.options.retryMs ?? 2000);
      return;
    }
    if (this.stopped) await follower.stop();
    else this.follower = follower;
  }

  private dispatch(subject: string, data: Uint8Array): void {
    if (subject.startsWith(TASK_PREFIX)) for (const e of decodeTaskEvents(data, subject)) this.handlers.onTaskEvent(e);
    else if (subject === SUBJECTS.usage) this.handlers.onUsage(decode(usageEventSchema, data, subject));
    // A one-call execution charges its call in its own message (protocol 4).
    else if (subject === SUBJECTS.execution) for (const u of decode(executionSchema, data, subject).calls ?? []) this.handlers.onUsage(u);
    else if (subject.startsWith(RATE_PREFIX)) this.handlers.onRateLimit(decode(rateLimitSignalSchema, data, subject));
    // Rejections (koubou.task.rejected) are the ledger's record; the dashboard does not show them.
  }

  /** A message that does not decode (or a handler that throws) is logged, never fatal: the view goes on. */
  private safely(subject: string, fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.options.log?.(`dashboard: ignored ${subject}: ${(e as Error).message}`);
    }
  }
}

/**
 * Every event of one task from the stream (oldest first), for tasks older than the backfill.
 * @example const events = await readTaskEvents(nc, 't-1');
 */
export async function readTaskEvents(nc: NatsConnection, taskId: string, timeoutMs = 3000): Promise<TaskEventMessage[]> {
  const consumer = await jetstream(nc).consumers.get(STREAMS.events, { filter_subjects: SUBJECTS.taskEvent(taskId) });
  const expected = (await consumer.info(true)).num_pending;
  if (expected === 0) return [];
  const out: TaskEventMessage[] = [];
  const messages = await consumer.consume();
  const timer = setTimeout(() => messages.stop(), timeoutMs);
  let read = 0;
  try {
    for await (const m of messages) {
      out.push(...decodeTaskEvents(m.data, m.subject));
      if (m.info.pending === 0 || ++read >= expected) break;
    }
  } finally {
    clearTimeout(timer);
    messages.stop();
  }
  return out;
}
