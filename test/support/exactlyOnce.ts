/**
 * What "exactly once" means in the fault tests, read from the ledger's SQLite file and from the
 * event stream: every task completed, one cost row each, no reservation left open, the spend
 * within the budget; and each follower saw each task's final event once.
 */
import type { TaskEventMessage } from '../../src/bus/index.ts';
import { isFinalStatus } from '../../src/core/types.ts';
import { openLedgerDb } from '../../src/db/index.ts';

export interface LedgerTally {
  completed: number;
  /** Tasks by how many cost rows they have: `{ 1: n }` when each was charged once. */
  costRows: Record<number, number>;
  openReservations: number;
  spentUsd: number;
}

/** The ledger's record of `ids`, read now (a missing table reads as nothing yet). */
export function ledgerTally(dbPath: string, ids: string[]): LedgerTally {
  const db = openLedgerDb(dbPath, { readonly: true });
  const marks = ids.map(() => '?').join(',');
  try {
    const completed = (db.prepare(`SELECT COUNT(*) n FROM task_master WHERE status = 'completed' AND task_id IN (${marks})`).get(...ids) as { n: number }).n;
    const rows = db.prepare(`SELECT task_id, COUNT(*) n FROM cost_tracking WHERE task_id IN (${marks}) GROUP BY task_id`).all(...ids) as { task_id: string; n: number }[];
    const perTask = new Map(rows.map((r) => [r.task_id, r.n]));
    const costRows = tally(ids.map((id) => perTask.get(id) ?? 0));
    const openReservations = (db.prepare("SELECT COUNT(*) n FROM budget_reservations WHERE status = 'active'").get() as { n: number }).n;
    const spentUsd = (db.prepare('SELECT COALESCE(SUM(cost_usd), 0) usd FROM cost_tracking').get() as { usd: number }).usd;
    return { completed, costRows, openReservations, spentUsd };
  } catch {
    return { completed: 0, costRows: {}, openReservations: 0, spentUsd: 0 };
  } finally {
    db.close();
  }
}

/** Waits until the ledger has every task of `ids` completed, and returns its tally. */
export async function ledgerSettled(dbPath: string, ids: string[], timeoutMs = 120_000): Promise<LedgerTally> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const t = ledgerTally(dbPath, ids);
    if ((t.completed === ids.length && t.costRows[1] === ids.length && t.openReservations === 0) || Date.now() > deadline) return t;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** `[1, 1, 2, 0]` → `{ 0: 1, 1: 2, 2: 1 }`: how many items had each count. */
export function tally(counts: number[]): Record<number, number> {
  return counts.reduce<Record<number, number>>((a, n) => ({ ...a, [n]: (a[n] ?? 0) + 1 }), {});
}

/** Counts final events per task, so that a missed one and a repeated one both show. */
export class FinalCounter {
  readonly counts = new Map<string, number>();
  see = (e: TaskEventMessage): void => {
    if (isFinalStatus(e.status)) this.counts.set(e.taskId, (this.counts.get(e.taskId) ?? 0) + 1);
  };
  /** How many tasks of `ids` it saw the final event of 0, 1, 2... times. */
  tallyOf(ids: string[]): Record<number, number> {
    return tally(ids.map((id) => this.counts.get(id) ?? 0));
  }
  hasAll(ids: string[]): boolean {
    return ids.every((id) => this.counts.has(id));
  }
}
