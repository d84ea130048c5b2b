/**
 * The ledger's memory of which bus events it has already written, so a redelivered or
 * re-published event changes nothing.
 *
 * Two keys, because the events carry two kinds of identity:
 * - task events: `(taskId, seq)`, the router's own numbering (Nats-Msg-Id is `taskId:seq`). It
 *   survives what the JetStream stream sequence does not: a router re-publishing an event after a
 *   crash (new stream sequence, same event), a duplicate window that has expired, a stream that was
 *   recreated (stream sequences restart at 1 and would wrongly match old rows).
 * - rejections and poison messages carry no id: a digest of subject + payload. A rejection carries
 *   its `by` and a millisecond `at`, so two distinct rejections never share a digest in practice.
 * Usage events need no row here: `recordUsage` is idempotent by `usageId` itself.
 *
 * The tables live in the ledger file but are created by the ledger actor (`CREATE TABLE IF NOT
 * EXISTS`), not by `src/db` migrations: they are bookkeeping of this consumer, not ledger data.
 */
import { createHash } from 'node:crypto';
import type { LedgerDb } from '../../src/db/index.ts';
import { sqlTimestamp } from '../../src/db/index.ts';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS ledger_task_events (
    task_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    applied_at TEXT NOT NULL,
    PRIMARY KEY (task_id, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS ledger_messages (
    digest TEXT PRIMARY KEY,
    subject TEXT NOT NULL,
    applied_at TEXT NOT NULL
) WITHOUT ROWID;
`;

/** Identifies a message without an id of its own: SHA-256 of subject and payload. */
export function messageDigest(subject: string, data: Uint8Array): string {
  return createHash('sha256').update(subject).update('\0').update(data).digest('hex');
}

/**
 * Reads and marks applied events. Every `mark*` call must run inside the transaction that writes
 * the event's rows, so "marked" and "written" commit together or not at all.
 *
 * @example
 * const log = new AppliedLog(db);
 * db.transaction(() => { if (log.markTaskEvent('t1', 3)) writeRows(); })();
 */
export class AppliedLog {
  private readonly stmts;

  constructor(db: LedgerDb) {
    db.exec(SCHEMA);
    this.stmts = {
      markTask: db.prepare<[string, number, string]>(
        'INSERT INTO ledger_task_events (task_id, seq, applied_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
      ),
      maxSeq: db.prepare<[string], { seq: number | null }>(
        'SELECT MAX(seq) AS seq FROM ledger_task_events WHERE task_id = ?',
      ),
      markMessage: db.prepare<[string, string, string]>(
        'INSERT INTO ledger_messages (digest, subject, applied_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
      ),
    };
  }

  /** The highest seq applied for a task, 0 if none. */
  lastSeq(taskId: string): number {
    return this.stmts.maxSeq.get(taskId)?.seq ?? 0;
  }

  /** @returns true if `(taskId, seq)` was new and is now marked; false if applied before. */
  markTaskEvent(taskId: string, seq: number): boolean {
    return this.stmts.markTask.run(taskId, seq, sqlTimestamp()).changes > 0;
  }

  /** @returns true if the digest was new and is now marked; false if applied before. */
  markMessage(digest: string, subject: string): boolean {
    return this.stmts.markMessage.run(digest, subject, sqlTimestamp()).changes > 0;
  }
}
