/**
 * Every task event, read once for the whole gateway: one ordered JetStream consumer on the
 * event stream from the gateway's start (it restarts itself after a gap, so no event is lost),
 * handed to whoever follows that task. Cheaper than a consumer per request, and started before
 * any task the gateway submits, so a task's first event is never missed.
 */
import { DeliverPolicy, jetstream, type ConsumerMessages } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { decodeTaskEvents, STREAMS, SUBJECTS, type TaskEventMessage } from '../../src/bus/index.ts';

export class TaskEventHub {
  private readonly followers = new Map<string, (event: TaskEventMessage) => void>();
  private messages: ConsumerMessages | null = null;
  private loop: Promise<void> | null = null;

  constructor(private readonly nc: NatsConnection, private readonly log: (line: string) => void = () => {}) {}

  async start(): Promise<void> {
    const consumer = await jetstream(this.nc).consumers.get(STREAMS.events, {
      filter_subjects: SUBJECTS.taskEventAll, deliver_policy: DeliverPolicy.New,
    });
    const messages = await consumer.consume();
    this.messages = messages;
    this.loop = (async () => {
      for await (const m of messages) {
        const taskId = m.subject.slice(SUBJECTS.taskEvent('').length);
        const follower = this.followers.get(taskId);
        if (!follower) continue;
        try {
          for (const e of decodeTaskEvents(m.data, m.subject)) follower(e);
        } catch (e) {
          this.log(`gateway: event of ${taskId} not understood: ${(e as Error).message}`);
        }
      }
    })();
  }

  /** Hands `taskId`'s events to `onEvent` until the returned function is called. */
  follow(taskId: string, onEvent: (event: TaskEventMessage) => void): () => void {
    this.followers.set(taskId, onEvent);
    return () => { this.followers.delete(taskId); };
  }

  async stop(): Promise<void> {
    this.messages?.stop();
    await this.loop;
  }
}
