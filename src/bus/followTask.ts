import type { NatsConnection } from '@nats-io/transport-node';
import { decode } from './codec.ts';
import { progressSchema, type Progress, type TaskEventMessage } from './messages.ts';
import { decodeTaskEvents } from './taskEvents.ts';
import { StreamFollower } from './StreamFollower.ts';
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
  const untilFinal = options.untilFinal ?? taskId !== undefined;
  const progressSub = options.onProgress
    ? nc.subscribe(taskId ? SUBJECTS.progress(taskId) : SUBJECTS.progressAll, {
        callback: (err, m) => { if (!err) { try { options.onProgress!(decode(progressSchema, m.data, m.subject)); } catch { /* ignore */ } } },
      })
    : null;
  let finish: (final: TaskEventMessage | null) => void = () => {};
  const done = new Promise<TaskEventMessage | null>((resolve) => { finish = resolve; });
  let final: TaskEventMessage | null = null;
  // Resumes from the last event it saw after a server restart or a node loss: no final event missed or repeated.
  const follower = new StreamFollower(nc, {
    stream: STREAMS.events,
    filter: taskId ? SUBJECTS.taskEvent(taskId) : SUBJECTS.taskEventAll,
    from: options.deliver,
    onMessage: (m) => {
      if (final) return;
      for (const event of decodeTaskEvents(m.data, m.subject)) {
        options.onEvent(event);
        if (untilFinal && isFinalStatus(event.status)) { final = event; finish(event); return; }
      }
    },
  });
  const abort = () => finish(null);
  options.signal?.addEventListener('abort', abort, { once: true });
  try {
    if (options.signal?.aborted) return null;
    await follower.start();
    return await done;
  } finally {
    options.signal?.removeEventListener('abort', abort);
    await follower.stop();
    progressSub?.unsubscribe();
  }
}
