import type { Consumer, JsMsg } from '@nats-io/jetstream';
import { sleep } from './sleep.ts';

/** One durable consumer a worker pulls from. */
export interface PullLane {
  name: string;
  consumer: Consumer;
  /** True while the worker may take this lane's work (the other kind's lane: only while none of that kind can). */
  eligible(): boolean;
  /** How long to wait, after a slot frees, before pulling this lane: preferred lanes go first. */
  delayMs(): number;
  /**
   * Whether to pass this message on to another worker instead (a faster one is
   * idle). The message is handed back at once and this lane rests for the returned ms.
   */
  yieldMs?(msg: JsMsg): number;
}

export interface LanePullerOptions {
  lanes: PullLane[];
  slots: number;
  /** How long one pull request waits on the server. */
  pullExpiresMs: number;
  /** False while the worker must take nothing (its host cooling down). */
  canPull(): boolean;
  /** Runs one message to its end (ack or nak included); never rejects. */
  run(msg: JsMsg): Promise<void>;
  /** Called when a slot is taken or freed. */
  onSlotsChanged(): void;
  isClosed(): boolean;
  /** Aborted by the worker's stop(): ends every loop. */
  halt: AbortSignal;
  log(line: string): void;
}

/**
 * Pulls work from one or more lanes into a fixed number of slots. Each lane has
 * one loop that, while a slot is free, fetches one message at a time, so no
 * message waits in a client-side buffer (where its ack_wait would run out
 * unseen and idle workers elsewhere could not have it). A message that arrives
 * when every slot has just been taken by another lane, or for a lane that is no
 * longer eligible, goes straight back to the queue (nak) for another worker.
 */
export class LanePuller {
  private used = 0;
  private readonly running = new Set<Promise<void>>();
  private readonly loops: Promise<void>[] = [];
  private waiters: (() => void)[] = [];
  private readonly pulls = new Set<{ stop(): void }>();
  /** Per lane: since when its pull request has waited on the server without a message (null: not waiting). */
  private readonly waitingSince = new Map<PullLane, number | null>();

  constructor(private readonly o: LanePullerOptions) {}

  start(): void {
    for (const lane of this.o.lanes) this.loops.push(this.loop(lane));
  }

  /** Something that decides whether to pull changed (a slot, health, another worker's heartbeat). */
  wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const resolve of w) resolve();
  }

  /** Stops pulling (the halt signal must be aborted first) and waits for the loops; running tasks go on. */
  async stopPulling(): Promise<void> {
    for (const p of this.pulls) p.stop();
    this.wake();
    await Promise.allSettled(this.loops);
  }

  /** Settles when every running task has ended. */
  async drained(): Promise<void> {
    await Promise.allSettled([...this.running]);
  }

  private full(): boolean {
    return this.used >= this.o.slots;
  }

  private ready(lane: PullLane): boolean {
    return !this.o.halt.aborted && !this.full() && this.o.canPull() && lane.eligible();
  }

  /**
   * A less preferred lane waits its delay so that a preferred one may take the free
   * slot first — unless every preferred lane's request has already waited that long
   * on the server without a message: their queues are empty, and waiting would only
   * slow this lane down.
   */
  private delayFor(lane: PullLane): number {
    const delay = lane.delayMs();
    if (delay <= 0) return 0;
    const now = Date.now();
    const higher = this.o.lanes.slice(0, this.o.lanes.indexOf(lane));
    const allIdle = higher.every((h) => {
      const since = this.waitingSince.get(h);
      return since !== null && since !== undefined && now - since >= delay;
    });
    return allIdle ? 0 : delay;
  }

  private waitForChange(maxMs = 1000): Promise<void> {
    const { halt } = this.o;
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        halt.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, maxMs);
      this.waiters.push(done);
      halt.addEventListener('abort', done, { once: true });
    });
  }

  private async loop(lane: PullLane): Promise<void> {
    let errors = 0;
    while (!this.o.halt.aborted) {
      if (!this.ready(lane)) {
        await this.waitForChange();
        continue;
      }
      const delay = this.delayFor(lane);
      if (delay > 0) {
        await sleep(delay, this.o.halt);
        if (!this.ready(lane)) continue;
      }
      let msg: JsMsg | null = null;
      try {
        this.waitingSince.set(lane, Date.now());
        const pull = await lane.consumer.fetch({ max_messages: 1, expires: this.o.pullExpiresMs });
        this.pulls.add(pull);
        // stop() may have run while fetch() was being set up.
        if (this.o.halt.aborted) pull.stop();
        try {
          for await (const m of pull) { msg = m; break; }
        } finally {
          this.pulls.delete(pull);
          this.waitingSince.set(lane, null);
        }
        errors = 0;
      } catch (e) {
        // Missed heartbeats, no responders while the server restarts: back off and pull again.
        if (this.o.isClosed()) return;
        if (errors++ === 0) this.o.log(`pulling ${lane.name} failed (${(e as Error).message}); retrying`);
        await sleep(Math.min(250 * 2 ** errors, 5000), this.o.halt);
        continue;
      }
      if (!msg) continue;
      if (!this.ready(lane)) {
        nak(msg);
        continue;
      }
      const rest = lane.yieldMs?.(msg) ?? 0;
      if (rest > 0) {
        nak(msg);
        await sleep(rest, this.o.halt);
        continue;
      }
      this.used += 1;
      this.o.onSlotsChanged();
      const p = this.o.run(msg).finally(() => {
        this.used -= 1;
        this.running.delete(p);
        this.o.onSlotsChanged();
        this.wake();
      });
      this.running.add(p);
    }
  }
}

/** Back to the queue at once, for another worker. Never throws (a closed connection redelivers after ack_wait). */
export function nak(msg: JsMsg): void {
  try {
    msg.nak();
  } catch {
    // Connection closed.
  }
}
