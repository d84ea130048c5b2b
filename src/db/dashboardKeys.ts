/**
 * dashboard_keys: who may open a dashboard bound to anything but loopback. As with the gateway's
 * keys, only a key's SHA-256 digest is stored; the key is shown once, when it is made.
 */
import { randomBytes } from 'node:crypto';
import { keyDigest } from '../keys/index.ts';
import { InputError } from '../core/errors.ts';
import { GATEWAY_KEY_NAME } from './gatewayKeys.ts';
import { statementCache, type LedgerDb } from './sql.ts';
import { sqlTimestamp } from './time.ts';

export interface DashboardKeyRecord {
  name: string;
  createdAt: string;
  revokedAt: string | null;
}

interface Row {
  name: string;
  created_at: string;
  revoked_at: string | null;
}
const toRecord = (r: Row): DashboardKeyRecord => ({ name: r.name, createdAt: r.created_at, revokedAt: r.revoked_at });

const stmts = statementCache((db) => ({
  byName: db.prepare<[string], Row>('SELECT name, created_at, revoked_at FROM dashboard_keys WHERE name = ?'),
  byDigest: db.prepare<[string], Row>('SELECT name, created_at, revoked_at FROM dashboard_keys WHERE digest = ? AND revoked_at IS NULL'),
  all: db.prepare<[], Row>('SELECT name, created_at, revoked_at FROM dashboard_keys ORDER BY created_at, name'),
  live: db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM dashboard_keys WHERE revoked_at IS NULL'),
  insert: db.prepare('INSERT INTO dashboard_keys (name, digest, created_at) VALUES (@name, @digest, @now)'),
  revoke: db.prepare<[string, string]>('UPDATE dashboard_keys SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL'),
}));

/**
 * Makes a dashboard key and stores its digest. The key is returned once and never again.
 *
 * @example
 * const { key } = createDashboardKey(db, { name: 'grafana' }); // 'kd-…'
 */
export function createDashboardKey(db: LedgerDb, input: { name: string }, opts: { now?: Date } = {}): { key: string; record: DashboardKeyRecord } {
  if (!GATEWAY_KEY_NAME.test(input.name)) {
    throw new InputError(`key name ${JSON.stringify(input.name)}: use 1 to 64 letters, digits, '.', '_' or '-'`, { code: 'KEY_NAME_INVALID' });
  }
  const s = stmts(db);
  const existing = s.byName.get(input.name);
  if (existing) {
    throw new InputError(`a dashboard key named "${input.name}" exists${existing.revoked_at ? ` (revoked at ${existing.revoked_at})` : ''}: choose another name`, { code: 'KEY_EXISTS' });
  }
  const key = `kd-${randomBytes(32).toString('base64url')}`;
  s.insert.run({ name: input.name, digest: keyDigest(key), now: sqlTimestamp(opts.now) });
  return { key, record: toRecord(s.byName.get(input.name)!) };
}

/** The live dashboard key with this digest, or null (unknown or revoked). */
export function findDashboardKeyByDigest(db: LedgerDb, digest: string): DashboardKeyRecord | null {
  const row = stmts(db).byDigest.get(digest);
  return row ? toRecord(row) : null;
}

/** How many dashboard keys are live (made and not revoked). */
export function countLiveDashboardKeys(db: LedgerDb): number {
  return stmts(db).live.get()!.n;
}

export function listDashboardKeys(db: LedgerDb): DashboardKeyRecord[] {
  return stmts(db).all.all().map(toRecord);
}

/** @returns false when there is no live key of that name. */
export function revokeDashboardKey(db: LedgerDb, name: string, opts: { now?: Date } = {}): boolean {
  return stmts(db).revoke.run(sqlTimestamp(opts.now), name).changes > 0;
}
