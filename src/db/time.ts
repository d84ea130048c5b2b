/**
 * Timestamp conventions for the ledger.
 *
 * Every timestamp column holds UTC text in the form `YYYY-MM-DD HH:MM:SS` — exactly what SQLite's
 * `CURRENT_TIMESTAMP` and `datetime('now')` produce (the seed schema's defaults). Keeping one format
 * means plain string comparison orders correctly and ad-hoc queries such as
 * `WHERE created_at > datetime('now', '-24 hours')` keep working. Sub-second precision is dropped.
 *
 * Budget months are `YYYY-MM` in UTC, matching the seed's `strftime('%Y-%m', 'now')`.
 */

/**
 * Formats a Date as the ledger's timestamp text.
 *
 * @example
 * sqlTimestamp(new Date('2025-01-31T23:59:59.900Z')) // => '2025-01-31 23:59:59'
 */
export function sqlTimestamp(date: Date = new Date()): string {
  return date.toISOString().slice(0, 19).replace('T', ' ');
}

/**
 * The timestamp `hours` before `now`, for `WHERE ts > ?` window queries.
 *
 * @example
 * sinceTimestamp(24, new Date('2025-01-02T00:00:00Z')) // => '2025-01-01 00:00:00'
 */
export function sinceTimestamp(hours: number, now: Date = new Date()): string {
  if (!Number.isFinite(hours) || hours < 0) {
    throw new RangeError(`hours must be a finite number >= 0, got ${String(hours)}`);
  }
  return sqlTimestamp(new Date(now.getTime() - hours * 3_600_000));
}

/**
 * The UTC budget month of `now`.
 *
 * @example
 * currentYearMonth(new Date('2025-02-01T00:00:00Z')) // => '2025-02'
 */
export function currentYearMonth(now: Date = new Date()): string {
  return now.toISOString().slice(0, 7);
}

const YEAR_MONTH = /^(\d{4})-(0[1-9]|1[0-2])$/;

/**
 * The half-open timestamp range `[start, end)` covering a `YYYY-MM` month.
 *
 * @example
 * monthRange('2025-12') // => { start: '2025-12-01 00:00:00', end: '2026-01-01 00:00:00' }
 */
export function monthRange(yearMonth: string): { start: string; end: string } {
  const m = YEAR_MONTH.exec(yearMonth);
  if (!m) throw new RangeError(`year_month must be YYYY-MM, got ${JSON.stringify(yearMonth)}`);
  const year = Number(m[1]);
  const month = Number(m[2]);
  return {
    start: sqlTimestamp(new Date(Date.UTC(year, month - 1, 1))),
    end: sqlTimestamp(new Date(Date.UTC(year, month, 1))),
  };
}
