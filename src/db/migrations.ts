/**
 * Versioned schema migrations, tracked with `PRAGMA user_version`.
 *
 * Rules for adding one: append with the next version number, never edit a shipped entry (databases
 * that already applied it would silently differ from fresh ones). Entries need not be idempotent:
 * the runner applies each exactly once per file.
 */
import type { LedgerDb } from './sql.ts';
import { SCHEMA_V1 } from './schema-v1.ts';
import { SCHEMA_V2 } from './schema-v2.ts';
import { SCHEMA_V3 } from './schema-v3.ts';
import { SCHEMA_V4 } from './schema-v4.ts';
import { migrateV5 } from './schema-v5.ts';
import { SCHEMA_V6 } from './schema-v6.ts';
import { SCHEMA_V7 } from './schema-v7.ts';
import { SCHEMA_V8 } from './schema-v8.ts';
import { SCHEMA_V10 } from './schema-v10.ts';
import { SCHEMA_V11 } from './schema-v11.ts';
import { SCHEMA_V12 } from './schema-v12.ts';
import { SCHEMA_V9 } from './schema-v9.ts';

/** One schema step. `up` is SQL text (may hold several statements) or a function for data fixes. */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly up: string | ((db: LedgerDb) => void);
  /**
   * Rebuilds tables that others reference: foreign keys are off while it runs (SQLite ignores
   * that pragma inside a transaction, so it is set around it) and `foreign_key_check` must find
   * nothing before it commits.
   */
  readonly foreignKeysOff?: boolean;
}

/** Every migration this build knows, oldest first. */
export const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: 'seed design: task_master, cost_tracking, budget_management, workers', up: SCHEMA_V1 },
  { version: 2, name: 'remote workers: workers columns, worker_metrics', up: SCHEMA_V2 },
  { version: 3, name: 'koubou: usage idempotency, reservations, audit trail', up: SCHEMA_V3 },
  { version: 4, name: 'koubou: latest rate-limit signal per tier', up: SCHEMA_V4 },
  { version: 5, name: 'koubou: tiers are data (tier CHECKs check the shape of a name, not a list)', up: migrateV5, foreignKeysOff: true },
  { version: 6, name: 'koubou: gateway keys (hashed, with a monthly budget each), the key of each task and reservation', up: SCHEMA_V6 },
  { version: 7, name: 'koubou: paid usage no granted reservation covered (the budget watch)', up: SCHEMA_V7 },
  { version: 8, name: 'koubou: dashboard access keys (hashed)', up: SCHEMA_V8 },
  { version: 9, name: 'koubou: parent caps (a master session\'s money cap), the capped parent of each reservation', up: SCHEMA_V9 },
  { version: 10, name: 'koubou: test outcomes of verified attempts, for pass rates per tier and task type', up: SCHEMA_V10 },
  { version: 11, name: 'koubou: the ask of each task (its events\' prompt summary)', up: SCHEMA_V11 },
  { version: 12, name: 'koubou: budget slices (a gateway\'s lease of the month), the budget watch\'s slice reasons', up: SCHEMA_V12 },
];

/** The newest schema version of a migration list (0 for an empty list). */
export function latestVersion(migrations: readonly Migration[] = MIGRATIONS): number {
  return migrations.at(-1)?.version ?? 0;
}

/** Reads `PRAGMA user_version`. */
export function schemaVersion(db: LedgerDb): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/** Versions must be 1, 2, 3, … — a gap or reorder is a programming error, caught before any write. */
function assertWellFormed(migrations: readonly Migration[]): void {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) {
      throw new Error(`migrations must be numbered 1..n in order; entry ${i} has version ${m.version}`);
    }
  });
}

/**
 * Applies every migration newer than the file's `user_version`, each in its own IMMEDIATE
 * transaction together with the `user_version` bump, so a crash leaves the file at a clean version.
 * The version is re-read inside the transaction: when two processes open an old file at once, the
 * second waits for the first's write lock and then finds nothing left to do.
 *
 * @returns the versions that this call applied.
 * @example
 * const applied = migrate(db); // [] when already current, [2, 3] when upgrading from v1
 */
export function migrate(db: LedgerDb, migrations: readonly Migration[] = MIGRATIONS): number[] {
  assertWellFormed(migrations);
  const applied: number[] = [];
  for (const m of migrations) {
    if (schemaVersion(db) >= m.version) continue;
    const step = db.transaction(() => {
      if (schemaVersion(db) >= m.version) return;
      if (typeof m.up === 'string') db.exec(m.up);
      else m.up(db);
      if (m.foreignKeysOff) {
        const broken = db.pragma('foreign_key_check') as unknown[];
        if (broken.length > 0) throw new Error(`migration ${m.version} left ${broken.length} broken foreign key(s): ${JSON.stringify(broken.slice(0, 3))}`);
      }
      // PRAGMA takes no bound parameters; version is an integer we own, so interpolation is safe.
      db.pragma(`user_version = ${Math.trunc(m.version)}`);
      applied.push(m.version);
    });
    const foreignKeys = db.pragma('foreign_keys', { simple: true }) as number;
    if (m.foreignKeysOff && foreignKeys) db.pragma('foreign_keys = OFF');
    try {
      step.immediate();
    } finally {
      if (m.foreignKeysOff && foreignKeys) db.pragma('foreign_keys = ON');
    }
  }
  return applied;
}
