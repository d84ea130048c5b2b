import { DeliverPolicy, jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { decode } from './codec.ts';
import { progressSchema, type Progress, type TaskEventMessage } from './messages.ts';
import { decodeTaskEvents } from './taskEvents.ts';
import { STREAMS, SUBJECTS } from './subjects.ts';
import { isFinalStatus } from '../core/types.ts';


export interface FollowOptions {
  /** `all` replays the task's history; `new` shows only what happens from now. */
  deliver: 'all' | 'new';
  onEvent(event: TaskEventMessage): void;
  onProgress?(progress: Progress): void;
  /** Stop at the task's final event. Default true when following one task. */
  untilFinal?: boolean;
  signal?: AbortSignal;
}

/**
 * Follows task events from the event stream (one task, or all with `taskId`
 * undefined). Resolves with the final event when `untilFinal`.
 */
export async function followTask(nc: NatsConnection, taskId: string | undefined, options: FollowOptions): Promise<TaskEventMessage | null> {
  const js = jetstream(nc);
  const subject = taskId ? SUBJECTS.taskEvent(taskId) : SUBJECTS.taskEventAll;
  const consumer = await js.consumers.get(STREAMS.events, {
    filter_subjects: subject,
    deliver_policy: options.deliver === 'all' ? DeliverPolicy.All : DeliverPolicy.New,
  });
  const progressSub = options.onProgress
    ? nc.subscribe(taskId ? SUBJECTS.progress(taskId) : SUBJECTS.progressAll, {
        callback: (err, m) => { if (!err) { try { options.onProgress!(decode(progressSchema, m.data, m.subject)); } catch { /* ignore */ } } },
      })
    : null;
  const messages = await consumer.consume();
  options.signal?.addEventListener('abort', () => messages.stop(), { once: true });
  const untilFinal = options.untilFinal ?? taskId !== undefined;
  try {
    for await (const m of messages) {
      for (const event of decodeTaskEvents(m.data, m.subject)) {
        options.onEvent(event);
        if (untilFinal && isFinalStatus(event.status)) return event;
      }
    }
    return null;
  } finally {
    messages.stop();
    progressSub?.unsubscribe();
  }
}
