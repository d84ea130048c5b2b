/**
 * Every task event, read once for the whole gateway: one ordered JetStream consumer on the
 * event stream from the gateway's start (it resumes from the last event it saw after a gap or a
 * node loss, so no event is lost or repeated),
 * handed to whoever follows that task. Cheaper than a consumer per request, and started before
 * any task the gateway submits, so a task's first event is never missed.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { decodeTaskEvents, StreamFollower, STREAMS, SUBJECTS, type TaskEventMessage } from '../../src/bus/index.ts';

export class TaskEventHub {
  private readonly followers = new Map<string, (event: TaskEventMessage) => void>();
  private follower: StreamFollower | null = null;

  constructor(private readonly nc: NatsConnection, private readonly log: (line: string) => void = () => {}) {}

  async start(): Promise<void> {
    this.follower = new StreamFollower(this.nc, {
      stream: STREAMS.events,
      filter: SUBJECTS.taskEventAll,
      from: 'new',
      onMessage: (m) => {
        const taskId = m.subject.slice(SUBJECTS.taskEvent('').length);
        const follower = this.followers.get(taskId);
        if (!follower) return;
        try {
          for (const e of decodeTaskEvents(m.data, m.subject)) follower(e);
        } catch (e) {
          this.log(`gateway: event of ${taskId} not understood: ${(e as Error).message}`);
        }
      },
      log: (line) => this.log(`gateway: ${line}`),
    });
    await this.follower.start();
  }

  /** Hands `taskId`'s events to `onEvent` until the returned function is called. */
  follow(taskId: string, onEvent: (event: TaskEventMessage) => void): () => void {
    this.followers.set(taskId, onEvent);
    return () => { this.followers.delete(taskId); };
  }

  async stop(): Promise<void> {
    await this.follower?.stop();
  }
}
