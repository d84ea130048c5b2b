/**
 * Nats-Msg-Id of each message kind. JetStream de-duplicates per stream, so ids
 * of different kinds in one stream must never collide: each kind has its own
 * namespace (a task event `t1:evt:1` is not the usage `t1:1`).
 */
export const MSG_ID = {
  submission: (taskId: string) => taskId,
  workItem: (taskId: string, attempt: number) => `${taskId}:${attempt}`,
  taskEvent: (taskId: string, seq: number) => `${taskId}:evt:${seq}`,
  /** A router step's events, `seq` first to last (one message; the same step republished is the same id). */
  taskEvents: (taskId: string, first: number, last: number) => (first === last ? `${taskId}:evt:${first}` : `${taskId}:evt:${first}-${last}`),
  usage: (usageId: string) => `usage:${usageId}`,
  execution: (executionId: string) => `exec:${executionId}`,
  report: (taskId: string, attempt: number, kind: string) => `${taskId}:${attempt}:${kind}`,
} as const;
