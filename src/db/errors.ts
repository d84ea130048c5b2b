/**
 * Typed errors of the ledger. Callers branch on the stable `code`, never on the message.
 */

/**
 * The database file was written by a newer koubou: its `PRAGMA user_version` is beyond the newest
 * migration this build knows. We refuse to open it rather than risk writing rows an older schema
 * understanding would corrupt.
 *
 * @example
 * try { openLedgerDb(file); } catch (e) {
 *   if (e instanceof LedgerVersionError) console.error(e.message); // "... upgrade koubou ..."
 * }
 */
export class LedgerVersionError extends Error {
  readonly code = 'LEDGER_TOO_NEW' as const;
  override readonly name = 'LedgerVersionError';

  constructor(
    readonly file: string,
    readonly foundVersion: number,
    readonly supportedVersion: number,
  ) {
    super(
      `Ledger database ${file} has schema version ${foundVersion}, but this build of koubou only ` +
        `knows schema versions up to ${supportedVersion}. It was written by a newer koubou; ` +
        `upgrade koubou to open it (the file was left untouched).`,
    );
  }
}

/**
 * A read-only open found a database older than this build's schema. Read-only connections cannot
 * migrate, so open it once read-write (any koubou command that writes does) and retry.
 */
export class LedgerMigrationRequiredError extends Error {
  readonly code = 'LEDGER_NEEDS_MIGRATION' as const;
  override readonly name = 'LedgerMigrationRequiredError';

  constructor(
    readonly file: string,
    readonly foundVersion: number,
    readonly supportedVersion: number,
  ) {
    super(
      `Ledger database ${file} has schema version ${foundVersion}; this build needs version ` +
        `${supportedVersion}. It was opened read-only, so it cannot be migrated: open it ` +
        `read-write once (e.g. run koubou normally) and retry.`,
    );
  }
}
