/**
 * gateway_keys: the API keys of koubou's OpenAI-compatible gateway. Only a key's SHA-256 digest
 * is stored; the key itself is shown once, when it is made. A key may have a monthly budget of
 * its own, which reservations for its tasks must fit besides the global one.
 */
import { randomBytes } from 'node:crypto';
import { keyDigest } from '../keys/index.ts';
import { InputError } from '../core/errors.ts';
import { HELD_USD_SQL } from './heldSql.ts';
import { statementCache, type LedgerDb } from './sql.ts';
import { sqlTimestamp } from './time.ts';

/** A key's name: what its spend is shown under. */
export const GATEWAY_KEY_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

export interface GatewayKeyRecord {
  name: string;
  monthlyBudgetUsd: number | null;
  createdAt: string;
  revokedAt: string | null;
}


interface Row {
  name: string;
  monthly_budget_usd: number | null;
  created_at: string;
  revoked_at: string | null;
}
const toRecord = (r: Row): GatewayKeyRecord => ({ name: r.name, monthlyBudgetUsd: r.monthly_budget_usd, createdAt: r.created_at, revokedAt: r.revoked_at });

const stmts = statementCache((db) => ({
  byName: db.prepare<[string], Row>('SELECT name, monthly_budget_usd, created_at, revoked_at FROM gateway_keys WHERE name = ?'),
  byDigest: db.prepare<[string], Row>('SELECT name, monthly_budget_usd, created_at, revoked_at FROM gateway_keys WHERE digest = ? AND revoked_at IS NULL'),
  all: db.prepare<[], Row>('SELECT name, monthly_budget_usd, created_at, revoked_at FROM gateway_keys ORDER BY created_at, name'),
  insert: db.prepare('INSERT INTO gateway_keys (name, digest, monthly_budget_usd, created_at) VALUES (@name, @digest, @budget, @now)'),
  revoke: db.prepare<[string, string]>('UPDATE gateway_keys SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL'),
}));

/**
 * Makes a key and stores its digest. The key is returned once and never again.
 *
 * @example
 * const { key } = createGatewayKey(db, { name: 'laptop', monthlyBudgetUsd: 20 }); // 'kb-…'
 */
export function createGatewayKey(db: LedgerDb, input: { name: string; monthlyBudgetUsd?: number | null }, opts: { now?: Date } = {}): { key: string; record: GatewayKeyRecord } {
  if (!GATEWAY_KEY_NAME.test(input.name)) {
    throw new InputError(`key name ${JSON.stringify(input.name)}: use 1 to 64 letters, digits, '.', '_' or '-'`, { code: 'KEY_NAME_INVALID' });
  }
  const budget = input.monthlyBudgetUsd ?? null;
  if (budget !== null && !(Number.isFinite(budget) && budget >= 0)) {
    throw new InputError(`--budget must be a non-negative number of US dollars, got ${budget}`, { code: 'KEY_BUDGET_INVALID' });
  }
  const s = stmts(db);
  const existing = s.byName.get(input.name);
  if (existing) {
    throw new InputError(`a gateway key named "${input.name}" exists${existing.revoked_at ? ` (revoked at ${existing.revoked_at}; names are not reused, so its spend stays its own)` : ''}: choose another name`, { code: 'KEY_EXISTS' });
  }
  const key = `kb-${randomBytes(32).toString('base64url')}`;
  s.insert.run({ name: input.name, digest: keyDigest(key), budget, now: sqlTimestamp(opts.now) });
  return { key, record: toRecord(s.byName.get(input.name)!) };
}

/** The live key with this digest, or null (unknown or revoked). */
export function findGatewayKeyByDigest(db: LedgerDb, digest: string): GatewayKeyRecord | null {
  const row = stmts(db).byDigest.get(digest);
  return row ? toRecord(row) : null;
}

export function getGatewayKey(db: LedgerDb, name: string): GatewayKeyRecord | null {
  const row = stmts(db).byName.get(name);
  return row ? toRecord(row) : null;
}

export function listGatewayKeys(db: LedgerDb): GatewayKeyRecord[] {
  return stmts(db).all.all().map(toRecord);
}

/** @returns false when there is no live key of that name. */
export function revokeGatewayKey(db: LedgerDb, name: string, opts: { now?: Date } = {}): boolean {
  return stmts(db).revoke.run(sqlTimestamp(opts.now), name).changes > 0;
}

const spend = statementCache((db) => ({
  spent: db.prepare<[string, string], { usd: number }>(`SELECT COALESCE(SUM(c.cost_usd), 0) AS usd FROM cost_tracking c
    JOIN task_master t ON t.task_id = c.task_id WHERE t.client_key = ? AND strftime('%Y-%m', c.timestamp) = ?`),
  reserved: db.prepare<[string, string], { usd: number }>(`SELECT COALESCE(SUM(${HELD_USD_SQL}), 0) AS usd FROM budget_reservations
    WHERE client_key = ? AND year_month = ? AND status = 'active'`),
}));

/** What a key has spent in a month and holds in active reservations and slices (USD, `HELD_USD_SQL`). */
export function gatewayKeyMonth(db: LedgerDb, name: string, yearMonth: string): { spentUsd: number; reservedUsd: number } {
  const s = spend(db);
  return { spentUsd: s.spent.get(name, yearMonth)!.usd, reservedUsd: s.reserved.get(name, yearMonth)!.usd };
}

const byKey = statementCache((db) => ({
  setTaskKey: db.prepare<[string, string]>('UPDATE task_master SET client_key = ? WHERE task_id = ? AND client_key IS NULL'),
  spend: db.prepare<[string], { key: string | null; requests: number; usd: number }>(`SELECT t.client_key AS key, COUNT(*) AS requests, COALESCE(SUM(c.cost_usd), 0) AS usd
    FROM cost_tracking c LEFT JOIN task_master t ON t.task_id = c.task_id WHERE c.timestamp >= ? GROUP BY t.client_key ORDER BY usd DESC, key`),
}));

/** Records which gateway key a task came through (the first one said wins). */
export function setTaskClientKey(db: LedgerDb, taskId: string, clientKey: string): void {
  byKey(db).setTaskKey.run(clientKey, taskId);
}

export interface KeySpend {
  /** The gateway key's name; null for tasks that came another way (CLI, NATS). */
  key: string | null;
  /** Provider calls charged. */
  requests: number;
  usd: number;
}

/** Spend since `since` (SQL timestamp) by gateway key, largest first. */
export function spendByKey(db: LedgerDb, since: string): KeySpend[] {
  return byKey(db).spend.all(since);
}
