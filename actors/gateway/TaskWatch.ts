/**
 * Follows one task for the gateway: its events through the gateway's {@link TaskEventHub}, and
 * its output stream through a core NATS subscription made before the task is submitted.
 */
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { decode, streamDeltaSchema, SUBJECTS, type StreamDelta, type TaskEventMessage } from '../../src/bus/index.ts';
import { isFinalStatus } from '../../src/core/types.ts';
import type { TaskEventHub } from './TaskEventHub.ts';

export interface TaskWatchOptions {
  onEvent(event: TaskEventMessage): void;
  onDelta?(delta: StreamDelta): void;
}

export class TaskWatch {
  private readonly sub: Subscription | null;
  private readonly unfollow: () => void;
  private settle!: (final: TaskEventMessage | null) => void;
  /** The task's final event; null when the watch is closed first. */
  readonly final: Promise<TaskEventMessage | null>;

  constructor(private readonly nc: NatsConnection, hub: TaskEventHub, taskId: string, options: TaskWatchOptions) {
    this.final = new Promise((resolve) => { this.settle = resolve; });
    this.unfollow = hub.follow(taskId, (e) => {
      options.onEvent(e);
      if (isFinalStatus(e.status)) {
        this.settle(e);
        this.close();
      }
    });
    const onDelta = options.onDelta;
    this.sub = onDelta ? nc.subscribe(SUBJECTS.stream(taskId), {
      callback: (err, m) => {
        if (err) return;
        try {
          onDelta(decode(streamDeltaSchema, m.data, m.subject));
        } catch {
          // A delta is best effort: the outcome carries the whole answer.
        }
      },
    }) : null;
  }

  /** Resolves once the subscription is registered with the server (call before submitting). */
  async ready(): Promise<void> {
    await this.nc.flush();
  }

  close(): void {
    this.unfollow();
    this.sub?.unsubscribe();
    this.settle(null);
  }
}
