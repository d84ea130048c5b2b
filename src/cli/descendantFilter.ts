/**
 * `koubou watch --parent ID`: which events belong to a parent's tree. Events name their task's
 * parent (`parentTaskId`), so a child is known from its first event, and its own children (an
 * agent's model requests) from theirs.
 */
import type { TaskEventMessage } from '../bus/index.ts';

/**
 * @example
 * const inTree = descendantFilter('mcp-1a2b');
 * inTree({ taskId: 'mcp-1a2b-1', parentTaskId: 'mcp-1a2b', ... }); // true
 * inTree({ taskId: 'gw-9', parentTaskId: 'mcp-1a2b-1', ... });     // true: a grandchild
 */
export function descendantFilter(root: string): (e: Pick<TaskEventMessage, 'taskId' | 'parentTaskId'>) => boolean {
  const tree = new Set([root]);
  return (e) => {
    if (tree.has(e.taskId)) return e.taskId !== root;
    if (e.parentTaskId !== undefined && tree.has(e.parentTaskId)) {
      tree.add(e.taskId);
      return true;
    }
    return false;
  };
}
