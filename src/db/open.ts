/**
 * Opening the ledger: connection settings, version guard, migrations.
 */
import Database from 'better-sqlite3';
import { LedgerMigrationRequiredError, LedgerVersionError } from './errors.ts';
import { latestVersion, migrate, MIGRATIONS, schemaVersion, type Migration } from './migrations.ts';
import type { LedgerDb } from './sql.ts';

/** How long a writer waits for another process's lock before failing with SQLITE_BUSY. */
export const BUSY_TIMEOUT_MS = 5000;

export interface OpenLedgerOptions {
  /** Open without write access: no migration, no journal-mode change. The file must exist. */
  readonly?: boolean;
  /** Override the migration list. Meant for tests (e.g. building a v1-only database). */
  migrations?: readonly Migration[];
}

/**
 * Opens (creating if needed) the SQLite ledger at `path` and brings its schema up to date.
 *
 * Settings: WAL (readers never block the writer, and several koubou processes share one file),
 * `synchronous = NORMAL` (safe with WAL; at worst loses the last commits on power loss, never
 * corrupts), `foreign_keys = ON`, `busy_timeout = 5000`.
 *
 * @throws {LedgerVersionError} if the file's schema is newer than this build (code `LEDGER_TOO_NEW`).
 * @throws {LedgerMigrationRequiredError} if `readonly` and the file's schema is older.
 * @example
 * const db = openLedgerDb('.koubou/ledger.db');
 * try { upsertTask(db, task); } finally { db.close(); }
 */
export function openLedgerDb(path: string, opts: OpenLedgerOptions = {}): LedgerDb {
  const migrations = opts.migrations ?? MIGRATIONS;
  const newest = latestVersion(migrations);
  const readonly = opts.readonly === true;
  const db = new Database(path, { readonly, fileMustExist: readonly, timeout: BUSY_TIMEOUT_MS });
  try {
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    // Check the version before anything that writes the file (journal_mode rewrites the header):
    // a newer koubou's database must be left exactly as we found it.
    const found = schemaVersion(db);
    if (found > newest) throw new LedgerVersionError(path, found, newest);
    db.pragma('foreign_keys = ON');
    if (readonly) {
      if (found < newest) throw new LedgerMigrationRequiredError(path, found, newest);
      return db;
    }
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    migrate(db, migrations);
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}
