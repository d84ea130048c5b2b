/**
 * Migration 5: tiers are data. Migrations 1, 3 and 4 wrote the three tiers of their day into
 * CHECK lists (`tier IN ('gpt5_high', 'gpt5_medium', 'local')`), so a tier added in a user's
 * config would have its rows refused. This rebuilds each such table with a CHECK on the
 * shape of a tier name instead (the names themselves are validated against the config in
 * code), keeping every row, index and rowid sequence.
 *
 * SQLite cannot drop a CHECK in place: each table is rebuilt as its documented procedure
 * says (create the new table, copy, drop, rename, recreate its indexes), with foreign keys
 * off for the migration and `foreign_key_check` before it commits (see `foreignKeysOff`).
 *
 * Frozen like every shipped migration (test/db-migrations.freeze.test.ts).
 */
import type { LedgerDb } from './sql.ts';

/** A tier name: what config keys may be (lower case, digits, underscores; at most 64). */
const tierShape = (column: string): string =>
  `CHECK(${column} <> '' AND ${column} NOT GLOB '*[^a-z0-9_]*' AND length(${column}) <= 64)`;

const OLD_LIST = "('gpt5_high', 'gpt5_medium', 'local')";

/** The tables and the CHECKs migration 5 rewrites, as their text stands after migration 4. */
const REWRITES: Record<string, [from: string, to: string][]> = {
  task_master: [[`CHECK(assigned_worker_type IN ${OLD_LIST})`, tierShape('assigned_worker_type')]],
  workers: [[`CHECK(worker_type IN ${OLD_LIST})`, tierShape('worker_type')]],
  budget_reservations: [[`CHECK(tier IN ${OLD_LIST})`, tierShape('tier')]],
  fallback_log: [
    [`CHECK(from_tier IN ${OLD_LIST})`, tierShape('from_tier')],
    [`CHECK(to_tier IN ${OLD_LIST})`, tierShape('to_tier')],
  ],
  routing_audit: [[`CHECK(tier IS NULL OR tier IN ${OLD_LIST})`, `CHECK(tier IS NULL OR (${tierShape('tier').slice(6, -1)}))`]],
  rate_limit_signals: [[`CHECK(tier IN ${OLD_LIST})`, tierShape('tier')]],
};

export function migrateV5(db: LedgerDb): void {
  for (const [table, rewrites] of Object.entries(REWRITES)) {
    const row = db.prepare("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?").get(table) as { sql: string } | undefined;
    if (!row) throw new Error(`migration 5: table ${table} is missing`);
    let sql = row.sql;
    for (const [from, to] of rewrites) {
      if (!sql.includes(from)) throw new Error(`migration 5: ${table} has no "${from}"`);
      sql = sql.replace(from, to);
    }
    const indexes = db.prepare("SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL").all(table) as { sql: string }[];
    const rebuilt = `${table}_v5`;
    db.exec(sql.replace(/^CREATE TABLE\s+"?\w+"?/, `CREATE TABLE ${rebuilt}`));
    db.exec(`INSERT INTO ${rebuilt} SELECT * FROM ${table}`);
    db.exec(`DROP TABLE ${table}`);
    db.exec(`ALTER TABLE ${rebuilt} RENAME TO ${table}`);
    for (const index of indexes) db.exec(index.sql);
  }
}
