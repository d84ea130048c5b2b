/**
 * Small helpers for building SQL text and binding values. Internal to `src/db/`.
 */
import type Database from 'better-sqlite3';

/** The connection type every query module takes as its first argument. */
export type LedgerDb = Database.Database;

/**
 * Renders a list of string literals for an `IN (...)` CHECK clause, so CHECK lists are generated
 * from the const arrays in `core/types.ts` and cannot drift from the TypeScript unions.
 *
 * @example
 * sqlList(['a', "b'c"]) // => "'a', 'b''c'"
 */
export function sqlList(values: readonly string[]): string {
  if (values.length === 0) throw new Error('sqlList: an IN list needs at least one value');
  return values.map((v) => `'${v.replaceAll("'", "''")}'`).join(', ');
}

/**
 * Returns a function that prepares `factory(db)` once per connection and caches it.
 * Statements (and `db.transaction` wrappers) are bound to one connection, so the cache is keyed
 * by the connection; a WeakMap lets closed connections be collected.
 *
 * @example
 * const stmts = statementCache((db) => ({ one: db.prepare('SELECT 1') }));
 * stmts(db).one.get();
 */
export function statementCache<T>(factory: (db: LedgerDb) => T): (db: LedgerDb) => T {
  const cache = new WeakMap<LedgerDb, T>();
  return (db) => {
    let value = cache.get(db);
    if (value === undefined) {
      value = factory(db);
      cache.set(db, value);
    }
    return value;
  };
}

/**
 * Runs `fn` atomically: in a transaction of its own (`BEGIN IMMEDIATE`), or, when the connection
 * is already in one (the ledger writing a batch of events), straight inside it, without a
 * savepoint. The enclosing transaction is then what makes it atomic: its owner must roll it back
 * whole if anything in it throws, never catch and commit.
 *
 * @example
 * atomically(db, () => { insertRow(); updateTotals(); });
 */
export function atomically<R>(db: LedgerDb, fn: () => R): R {
  return db.inTransaction ? fn() : db.transaction(fn).immediate();
}

/**
 * `atomically` for a write that takes arguments, with its transaction wrapper prepared once per
 * connection.
 *
 * @example
 * const write = atomicWrite((db, id: string) => { stmts(db).insert.run(id); });
 * write(db, 't1');
 */
export function atomicWrite<A extends unknown[], R>(body: (db: LedgerDb, ...args: A) => R): (db: LedgerDb, ...args: A) => R {
  const tx = statementCache((db) => db.transaction((...args: A) => body(db, ...args)));
  return (db, ...args) => (db.inTransaction ? body(db, ...args) : tx(db).immediate(...args));
}

/** Tolerance for comparing REAL dollar amounts: the budget rule's own (src/policy/budget.ts). */
export { BUDGET_EPSILON_USD as USD_EPSILON } from '../policy/index.ts';

/** Throws a RangeError unless `value` is a finite number ≥ 0 (dollars, tokens, milliseconds). */
export function assertNonNegative(name: string, value: number): void {
  if (!Number.isFinite(value) || value < 0) {
    throw new RangeError(`${name} must be a finite number >= 0, got ${String(value)}`);
  }
}

/** Throws a RangeError unless `value` is an integer ≥ 0. */
export function assertCount(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 0) {
    throw new RangeError(`${name} must be an integer >= 0, got ${String(value)}`);
  }
}

/** Parses a JSON text column that should hold a string array; tolerates NULL and junk. */
export function parseStringArray(text: string | null): string[] {
  if (text === null) return [];
  try {
    const parsed: unknown = JSON.parse(text);
    return Array.isArray(parsed) ? parsed.map(String) : [];
  } catch {
    return [];
  }
}
