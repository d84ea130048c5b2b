import type { TaskStatus } from '../src/core/types.ts';
import { TASK_STATUSES } from '../src/core/types.ts';

/**
 * The `task_master.status` of a task machine snapshot: every state carries
 * exactly one status tag.
 *
 * @example
 * statusOf(actor.getSnapshot()); // 'routing'
 */
export function statusOf(snapshot: { hasTag: (tag: string) => boolean }): TaskStatus {
  for (const status of TASK_STATUSES) if (snapshot.hasTag(status)) return status;
  throw new Error('task snapshot carries no status tag');
}
