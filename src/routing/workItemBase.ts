import type { DispatchInput } from '../../machines/task.types.ts';

/**
 * The fields of a work item that follow from a dispatch alone. Whoever sends the work adds what
 * travels with it: its text (the conversation of a single call, else the attempt's prompt), a
 * workspace, an agent's options. The router queues it; a gateway running an interactive
 * request's call itself builds the same item, so a worker and the gateway run one shape.
 *
 * @example
 * const item = { ...workItemBase(input, Date.now()), conversation: input.task.conversation };
 */
export function workItemBase(input: DispatchInput, now: number) {
  const { task, tier, attempt, reservationId } = input;
  return {
    taskId: task.taskId, attempt, tier, type: task.type, priority: task.priority, files: task.files, stream: task.stream === true,
    reservationId, ...(input.reservedUsd != null ? { reservedUsd: input.reservedUsd } : {}), dispatchedAt: new Date(now).toISOString(),
  };
}
