/**
 * Reads a JetStream stream in order and never loses its place: what the CLI's `watch` and
 * `submit --wait`, the dashboard and the gateway follow events with.
 *
 * nats.js's ordered consumer already recreates itself after a gap it notices, but its
 * iterator can also just end (the server was killed and its ephemeral consumer with it, the
 * client moved to another node of a cluster, the stream was briefly unavailable). A follower
 * keeps the stream sequence of the last message it handed on, and whenever its consumer ends
 * for any reason but `stop()`, makes a new one from the next sequence, on whichever node the
 * client is connected to now. A message at or below that sequence is never handed on again.
 */
import { DeliverPolicy, jetstream, jetstreamManager, type ConsumerMessages, type JsMsg, type OrderedConsumerOptions } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { retryTransient } from './transient.ts';

export interface StreamFollowerOptions {
  stream: string;
  /** Subject filter. Default: the whole stream. */
  filter?: string;
  /** Where to begin: the stream's first message, the first after `start()`, or a time. Default `all`. */
  from?: 'all' | 'new' | Date;
  /** Each message once, in stream order. A throw is logged and does not stop the follower. */
  onMessage(m: JsMsg): void;
  /** Each time the follower has read everything the stream held (pending 0). */
  onCaughtUp?(): void;
  /** How long `start()` keeps trying to make its first consumer through timeouts. Default 30 s. */
  startTimeoutMs?: number;
  /** How long to wait before a new consumer after one ended. Default 250 ms. */
  retryMs?: number;
  log?: (line: string) => void;
}

/**
 * @example
 * const f = new StreamFollower(nc, { stream: 'KOUBOU_EVENTS', filter: 'koubou.evt.task.>', from: 'new', onMessage });
 * await f.start();
 * // ... through server restarts and node losses ...
 * await f.stop();
 */
export class StreamFollower {
  /** Stream sequence of the last message handed on; 0 before the first. */
  lastSeq = 0;
  private startSeq = 0;
  private startTime: Date | null = null;
  private messages: ConsumerMessages | null = null;
  private stopped = false;
  private loop: Promise<void> | null = null;

  constructor(private readonly nc: NatsConnection, private readonly options: StreamFollowerOptions) {}

  /**
   * Fixes the starting point and makes the first consumer; the reading goes on in the
   * background. Rejects when the stream does not exist, or cannot be reached for `startTimeoutMs`.
   */
  async start(): Promise<void> {
    // While a cluster elects a new leader, requests time out for a few seconds: try again then.
    // A stream that does not exist is an answer, not a hiccup, and is thrown at once.
    await retryTransient(async () => {
      await this.fixStart();
      this.loop = this.run(await this.open());
    }, this.options.startTimeoutMs ?? 30_000);
  }

  private async fixStart(): Promise<void> {
    const from = this.options.from ?? 'all';
    if (this.startSeq > 0 || this.startTime) return;
    if (from === 'new') {
      // "From now on" is a sequence, not a clock reading: the server's and ours may differ.
      const info = await (await jetstreamManager(this.nc)).streams.info(this.options.stream);
      this.startSeq = info.state.last_seq + 1;
    } else if (from instanceof Date) {
      this.startTime = from;
    } else {
      this.startSeq = 1;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.messages?.stop();
    await this.loop;
  }

  private consumerOptions(): Partial<OrderedConsumerOptions> {
    const filter = this.options.filter ? { filter_subjects: this.options.filter } : {};
    if (this.lastSeq > 0 || this.startSeq > 0) {
      return { ...filter, deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: this.lastSeq > 0 ? this.lastSeq + 1 : this.startSeq };
    }
    return { ...filter, deliver_policy: DeliverPolicy.StartTime, opt_start_time: this.startTime!.toISOString() };
  }

  private async open(): Promise<ConsumerMessages> {
    const consumer = await jetstream(this.nc).consumers.get(this.options.stream, this.consumerOptions());
    const info = await consumer.info(true);
    // Heartbeats every 2.5 s, so a consumer that went with its server is noticed within seconds.
    const messages = await consumer.consume({ expires: 5_000 });
    this.messages = messages;
    void this.watchHealth(messages);
    if (info.num_pending === 0) this.options.onCaughtUp?.();
    return messages;
  }

  /**
   * nats.js tries to mend its ordered consumer after a reconnect, but after a server was killed
   * it can wait on a consumer that no longer exists without ever ending. Once heartbeats are
   * missed, or the client reconnected, this follower ends that consumer and makes its own.
   */
  private async watchHealth(messages: ConsumerMessages): Promise<void> {
    const status = this.nc.status();
    const onReconnect = (async () => {
      for await (const s of status) if (s.type === 'reconnect') { messages.stop(); break; }
    })();
    try {
      for await (const s of messages.status()) {
        if (s.type === 'heartbeats_missed' || s.type === 'consumer_not_found' || s.type === 'consumer_deleted' || s.type === 'stream_not_found') {
          messages.stop();
          break;
        }
      }
    } catch {
      // The messages ended; nothing left to watch.
    }
    // status iterators end with the connection or when told to stop
    (status as unknown as { stop?: () => void }).stop?.();
    await onReconnect.catch(() => {});
  }

  private async run(first: ConsumerMessages): Promise<void> {
    let messages: ConsumerMessages | null = first;
    while (!this.stopped) {
      try {
        messages ??= await this.open();
        if (this.stopped) break;
        for await (const m of messages) {
          if (m.seq <= this.lastSeq) continue;
          this.lastSeq = m.seq;
          try {
            this.options.onMessage(m);
          } catch (e) {
            this.options.log?.(`${m.subject} (stream seq ${m.seq}) not handled: ${(e as Error).message}`);
          }
          if (m.info.pending === 0) this.options.onCaughtUp?.();
        }
        if (!this.stopped) this.options.log?.(`consumer on ${this.options.stream} ended after seq ${this.lastSeq}; resuming`);
      } catch (e) {
        if (!this.stopped) this.options.log?.(`consumer on ${this.options.stream} failed after seq ${this.lastSeq} (${(e as Error).message}); resuming`);
      }
      messages?.stop();
      messages = null;
      if (!this.stopped) await new Promise((r) => setTimeout(r, this.options.retryMs ?? 250));
    }
  }
}
