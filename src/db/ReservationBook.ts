import { mustStatus, withReserved, type MonthBudget } from './budget.ts';
import { statementCache, type LedgerDb } from './sql.ts';

const stamps = statementCache((db) => ({
  changes: db.prepare<[], number>('SELECT total_changes()').pluck(),
  version: db.prepare<[], number>('PRAGMA data_version').pluck(),
}));

/** What has written to the file since: another connection's commit, or any row this one changed. */
function stampOf(db: LedgerDb): string {
  const s = stamps(db);
  return `${s.version.get()}:${s.changes.get()}`;
}

/**
 * The months' budgets as a ledger last read them, so that a run of reservations is decided from
 * memory instead of summing the month's active reservations for each. Backed by SQLite: every
 * grant is still inserted, and committed, before its reply. Never stale: it is used only while
 * nothing but its own grants has written to the file, which it tells from SQLite itself
 * (`PRAGMA data_version` for other connections' commits, `total_changes()` for this connection's
 * writes: a usage charged, a reservation released, an event written). Anything else, and the
 * month is read again.
 *
 * @example
 * const book = new ReservationBook();
 * reserveBudget(db, request, { book }); // reads the month
 * reserveBudget(db, next, { book });    // decided from memory, if nothing else wrote between
 */
export class ReservationBook {
  readonly #months = new Map<string, MonthBudget>();
  #stamp = '';

  /** The month as it stands. Call inside the reservation's transaction, which holds the write lock. */
  month(db: LedgerDb, yearMonth: string): MonthBudget {
    const stamp = stampOf(db);
    if (stamp !== this.#stamp) {
      this.#months.clear();
      this.#stamp = stamp;
    }
    let month = this.#months.get(yearMonth);
    if (!month) {
      month = mustStatus(db, yearMonth);
      this.#months.set(yearMonth, month);
    }
    return month;
  }

  /**
   * Counts a grant this connection has just inserted (in the same transaction, after `month()`
   * read the month), and returns the month with it.
   */
  granted(db: LedgerDb, yearMonth: string, amountUsd: number): MonthBudget {
    const cached = this.#months.get(yearMonth);
    // Not read before the grant: the file already holds it.
    const month = cached ? withReserved(cached, cached.reservedUsd + amountUsd) : mustStatus(db, yearMonth);
    this.#months.set(yearMonth, month);
    this.#stamp = stampOf(db);
    return month;
  }
}
