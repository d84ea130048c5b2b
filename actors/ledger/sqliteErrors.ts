/**
 * Which SQLite failures are worth retrying.
 */

/**
 * True for lock contention (SQLITE_BUSY, SQLITE_LOCKED and their extended codes): another
 * process held the file longer than busy_timeout. Retrying later succeeds; anything else
 * (constraint, corrupt file, full disk…) would fail the same way again.
 *
 * @example
 * try { write(); } catch (e) { if (isTransientSqliteError(e)) msg.nak(500); else msg.term(); }
 */
export function isTransientSqliteError(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^SQLITE_(BUSY|LOCKED)/.test(code);
}
