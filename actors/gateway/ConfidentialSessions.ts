/**
 * Conversations that have been confidential. An agent sends its whole conversation every turn,
 * and may drop old turns (compaction): once a turn of a conversation was found confidential,
 * every later turn stays local, whatever it still holds. Kept in the gateway's memory, bounded
 * (least recently used out first); a restarted gateway relies on the conversation itself.
 */
export class ConfidentialSessions {
  private readonly since = new Map<string, string>();
  constructor(private readonly max = 10_000) {}

  /** The task that made `session` confidential, or undefined. */
  get(session: string): string | undefined {
    const taskId = this.since.get(session);
    if (taskId !== undefined) {
      this.since.delete(session);
      this.since.set(session, taskId);
    }
    return taskId;
  }

  /** Marks `session` confidential from `taskId` on (the first such task is kept). */
  mark(session: string, taskId: string): void {
    if (this.since.has(session)) return;
    this.since.set(session, taskId);
    if (this.since.size > this.max) this.since.delete(this.since.keys().next().value!);
  }
}
