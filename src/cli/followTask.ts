/** Following tasks from the CLI: the bus helper, and one line per event for people. */
import type { TaskEventMessage } from '../bus/index.ts';
import { oneLine } from './oneLine.ts';

export { followTask, type FollowOptions } from '../bus/followTask.ts';

/** One line per event, for people. */
export function formatEvent(e: TaskEventMessage, withTask = false): string {
  const when = e.at.slice(11, 23);
  const who = withTask ? `${e.taskId} ` : '';
  // The task's first line says what was asked (a client's conversation: its user's ask).
  const ask = e.state === 'ReceiveTask' && e.promptSummary ? `: ${oneLine(e.promptSummary)}` : '';
  return `${when} ${who}${e.status.padEnd(11)} ${e.state.padEnd(18)} ${e.reason}${ask}`;
}
