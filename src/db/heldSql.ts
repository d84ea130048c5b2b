/**
 * What one row of budget_reservations holds against its month (and its key's month, and its
 * capped parent's cap), as a SQL expression: the ONE place that says it, so that every sum of
 * "reserved" money agrees with the rule the grants were decided by.
 *
 * - A reservation for one call (`kind = 'call'`) holds its amount while active; its first usage
 *   settles it (chargeReservation), so an active one has no actual cost yet.
 * - A slice (`kind = 'slice'`, src/db/budgetSlices.ts) holds what its amount has not been charged
 *   yet, `max(amount − actual, 0)`, while leased; once returned, `max(returned − actual, 0)`: what
 *   its holder says its calls cost and whose usages the ledger has not applied yet.
 * - A settled or released row holds nothing.
 *
 * Column names are bare (`status`, `amount_usd`, ...): prefix them through `heldUsdSql('r')`
 * when the query aliases the table.
 *
 * @example
 * db.prepare(`SELECT COALESCE(SUM(${HELD_USD_SQL}), 0) FROM budget_reservations WHERE year_month = ?`)
 */
export function heldUsdSql(alias?: string): string {
  const c = (column: string): string => (alias ? `${alias}.${column}` : column);
  return `(CASE WHEN ${c('status')} = 'active' THEN MAX(COALESCE(${c('returned_usd')}, ${c('amount_usd')}) - COALESCE(${c('actual_usd')}, 0), 0) ELSE 0 END)`;
}

/** {@link heldUsdSql} for an unaliased table. */
export const HELD_USD_SQL = heldUsdSql();
