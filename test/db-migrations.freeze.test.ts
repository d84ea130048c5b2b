/**
 * Shipped migrations are frozen: a database that applied one keeps its text, so changing
 * it would make fresh and old databases differ without anyone noticing. Each migration's
 * text (SQL, or a function's source) is pinned here by its SHA-256; a change fails this test,
 * and the fix is a new migration, never an edit. Also: migration 5 takes a version-4
 * database with rows in every table it rebuilds, keeps them all, and then accepts a tier
 * that no shipped list named.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MIGRATIONS, openLedgerDb } from '../src/db/index.ts';

const PINNED: Record<number, string> = {
  1: '2db93a2442f62e8396e1041656c1688839aa277d4920ce62ed4e30d5b7c71903',
  2: '75e55cf67f1d809c24c790089119bb7beb9536931e167c686b39c26ad5699568',
  3: '83d6d6608f54b669ec853633784d6e2d44967a3b9fd353981b3408ac41eb6106',
  4: 'ced5cce1a774fc144d8eef57e9af647bb3e102a61d039331b8b560044361394e',
  5: 'e6d61a445d5b975af3cda193a0986236bcc375064227fb2d0c2e0291e10cc1f2',
  6: 'b955b0195dd176e5931b55d85d522fec0dbd9c1331ac4cbb8087c35738f05a4e',
  7: '75be628926ff13db9cd515ef63dfb0c9655b6f09b0415f672e80c8989096db95',
  8: '339e39bb95280e1dbf50e07a85d2a887c218216acd0bcf5bdd55e32bb49d71d4',
  9: '42ae1b12f4c6ae16e676f236e9685803cff16390225517d1829b661b5316f43d',
  10: '4af16073393335a5236b469d005d08a265281be6153656674415a122ecd337b4',
  11: '2ae9887b862506bdf5441e1566d4033643b07db526093d48ef100b2877de9c40',
  12: '0e5cbfa11e3bd048f4c93a230d3551418d5ee1638a954860261257e13d4ca898',
};

/** A migration written as code is pinned by its whole source file. */
const SOURCE_OF_CODE_MIGRATION: Record<number, string> = { 5: '../src/db/schema-v5.ts' };

function textOf(m: (typeof MIGRATIONS)[number]): string {
  if (typeof m.up === 'string') return m.up;
  const file = SOURCE_OF_CODE_MIGRATION[m.version];
  if (!file) throw new Error(`migration ${m.version} is code: name its source file in SOURCE_OF_CODE_MIGRATION`);
  return readFileSync(new URL(file, import.meta.url), 'utf8');
}
const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

describe('shipped migrations', () => {
  it('are unchanged (a change needs a new migration)', () => {
    const actual = Object.fromEntries(MIGRATIONS.map((m) => [m.version, sha256(textOf(m))]));
    expect(actual).toEqual(PINNED);
  });

  it('spell out their CHECK lists instead of reading them from code that may change', () => {
    for (const m of MIGRATIONS) if (typeof m.up === 'string') expect(m.up).not.toMatch(/\$\{/);
  });
});

describe('migration 5: tiers are data', () => {
  it('keeps every row of a version-4 database and then takes a tier no shipped list named', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'koubou-v5-')), 'ledger.db');
    const v4 = openLedgerDb(file, { migrations: MIGRATIONS.slice(0, 4) });
    v4.exec(`
      INSERT INTO task_master (task_id, task_type, difficulty_level, sensitivity_level, assigned_worker_type, status)
        VALUES ('t1', 'general', 'high', 'public', 'gpt5_high', 'completed'), ('t2', 'general', 'low', 'public', NULL, 'pending');
      INSERT INTO cost_tracking (task_id, worker_type, model_name, prompt_tokens, completion_tokens, total_tokens, cost_usd, usage_id)
        VALUES ('t1', 'gpt5_high', 'gpt-5', 10, 5, 15, 0.5, 't1:1');
      INSERT INTO workers (worker_id, worker_type, model_name, api_endpoint, status) VALUES ('w1', 'local', 'm', 'e', 'idle');
      INSERT INTO worker_metrics (worker_id, task_id, execution_time_ms, success) VALUES ('w1', 't1', 12, 1);
      INSERT INTO budget_reservations (reservation_id, task_id, tier, year_month, amount_usd) VALUES ('r1', 't1', 'gpt5_high', '2026-12', 1.28);
      INSERT INTO fallback_log (task_id, from_tier, to_tier, reason, phase) VALUES ('t1', 'gpt5_high', 'gpt5_medium', 'rate limited', 'routing');
      INSERT INTO routing_audit (task_id, state, tier, reasons) VALUES ('t1', 'RouteByDifficulty', 'gpt5_high', '[]'), ('t1', 'ReceiveTask', NULL, '[]');
      INSERT INTO rate_limit_signals (tier, status, headers, observed_at_ms) VALUES ('gpt5_high', 429, '{}', 1);`);
    const before = snapshot(v4);
    expect(() => v4.exec("INSERT INTO fallback_log (task_id, from_tier, to_tier, reason, phase) VALUES ('t1', 'gpt5_mini', 'local', 'x', 'routing')"))
      .toThrow(/CHECK constraint failed/);
    v4.close();

    const db = openLedgerDb(file, { migrations: MIGRATIONS.slice(0, 5) });
    try {
      expect(db.pragma('user_version', { simple: true })).toBe(5);
      expect(snapshot(db)).toEqual(before);
      expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
      expect(db.pragma('foreign_key_check')).toEqual([]);
      // The indexes came back, the unique one still unique.
      expect(() => db.exec("INSERT INTO cost_tracking (task_id, worker_type, model_name, prompt_tokens, completion_tokens, total_tokens, cost_usd, usage_id) VALUES ('t1', 'x', 'm', 1, 1, 2, 0, 't1:1')"))
        .toThrow(/UNIQUE/);
      // A tier from a user's config is a row like any other; a malformed name is still refused.
      db.exec(`
        INSERT INTO task_master (task_id, task_type, difficulty_level, sensitivity_level, assigned_worker_type, status)
          VALUES ('t3', 'general', 'medium', 'public', 'gpt5_mini', 'assigned');
        INSERT INTO workers (worker_id, worker_type, model_name, api_endpoint, status) VALUES ('w2', 'gpt5_mini', 'gpt-5-mini', 'e', 'idle');
        INSERT INTO budget_reservations (reservation_id, task_id, tier, year_month, amount_usd) VALUES ('r2', 't3', 'gpt5_mini', '2026-12', 0.1);
        INSERT INTO fallback_log (task_id, from_tier, to_tier, reason, phase) VALUES ('t3', 'gpt5_mini', 'local', 'rate limited', 'routing');
        INSERT INTO routing_audit (task_id, state, tier, reasons) VALUES ('t3', 'RouteToGPT5Mini', 'gpt5_mini', '[]');
        INSERT INTO rate_limit_signals (tier, status, headers, observed_at_ms) VALUES ('gpt5_mini', 200, '{}', 2);`);
      expect(() => db.exec("INSERT INTO budget_reservations (reservation_id, task_id, tier, year_month, amount_usd) VALUES ('r3', 't3', 'GPT 5!', '2026-12', 0.1)"))
        .toThrow(/CHECK constraint failed/);
      expect(() => db.exec("INSERT INTO cost_tracking (task_id, worker_type, model_name, prompt_tokens, completion_tokens, total_tokens, cost_usd) VALUES ('missing', 'local', 'm', 1, 1, 2, 0)"))
        .toThrow(/FOREIGN KEY/);
    } finally {
      db.close();
    }
  });
});

describe('migration 6: gateway keys', () => {
  it('keeps every row of a version-5 database, with no key on them', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'koubou-v6-')), 'ledger.db');
    const v5 = openLedgerDb(file, { migrations: MIGRATIONS.slice(0, 5) });
    v5.exec(`
      INSERT INTO task_master (task_id, task_type, difficulty_level, sensitivity_level, assigned_worker_type, status)
        VALUES ('t1', 'general', 'high', 'public', 'gpt5_high', 'completed');
      INSERT INTO budget_reservations (reservation_id, task_id, tier, year_month, amount_usd) VALUES ('r1', 't1', 'gpt5_high', '2026-12', 1.28);`);
    const before = snapshot(v5);
    v5.close();
    const db = openLedgerDb(file, { migrations: MIGRATIONS.slice(0, 6) });
    try {
      expect(db.pragma('user_version', { simple: true })).toBe(6);
      const after = snapshot(db);
      expect(after.gateway_keys).toEqual([]);
      expect(after.task_master).toEqual(before.task_master!.map((r) => ({ ...(r as object), client_key: null })));
      expect(after.budget_reservations).toEqual(before.budget_reservations!.map((r) => ({ ...(r as object), client_key: null })));
      expect(() => db.exec("INSERT INTO gateway_keys (name, digest) VALUES ('k', 'short')")).toThrow(/CHECK constraint failed/);
    } finally {
      db.close();
    }
  });
});

describe('migration 8: dashboard keys', () => {
  it('keeps every row of the database before it and adds an empty dashboard_keys that takes only digests', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'koubou-v8-')), 'ledger.db');
    const v7 = openLedgerDb(file, { migrations: MIGRATIONS.slice(0, 7) });
    v7.exec("INSERT INTO gateway_keys (name, digest) VALUES ('laptop', '" + 'a'.repeat(64) + "')");
    const before = snapshot(v7);
    v7.close();
    const db = openLedgerDb(file, { migrations: MIGRATIONS.slice(0, 8) });
    try {
      expect(db.pragma('user_version', { simple: true })).toBe(8);
      expect(snapshot(db)).toEqual({ ...before, dashboard_keys: [] });
      expect(() => db.exec("INSERT INTO dashboard_keys (name, digest) VALUES ('k', 'short')")).toThrow(/CHECK constraint failed/);
    } finally {
      db.close();
    }
  });
});

describe('migration 7: the budget watch', () => {
  it('keeps every row of a version-6 database and starts with nothing unreserved', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'koubou-v7-')), 'ledger.db');
    const v6 = openLedgerDb(file, { migrations: MIGRATIONS.slice(0, 6) });
    v6.exec("INSERT INTO budget_reservations (reservation_id, task_id, tier, year_month, amount_usd) VALUES ('r1', 't1', 'gpt5_high', '2026-12', 1.28);");
    const before = snapshot(v6);
    v6.close();
    const db = openLedgerDb(file, { migrations: MIGRATIONS.slice(0, 7) });
    try {
      expect(db.pragma('user_version', { simple: true })).toBe(7);
      const after = snapshot(db);
      expect(after.unreserved_usage).toEqual([]);
      expect({ ...after, unreserved_usage: undefined }).toEqual({ ...before, unreserved_usage: undefined });
      expect(() => db.exec("INSERT INTO unreserved_usage (usage_id, tier, cost_usd, uncovered_usd, reason, timestamp) VALUES ('u', 'gpt5_high', 1, 1, 'because', '2026-12-01')"))
        .toThrow(/CHECK constraint failed/);
    } finally {
      db.close();
    }
  });
});

describe('migration 12: budget slices', () => {
  it('keeps every reservation (as a call\'s) and every unreserved usage of a version-11 database, and takes the slice reasons', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'koubou-v12-')), 'ledger.db');
    const v11 = openLedgerDb(file, { migrations: MIGRATIONS.slice(0, 11) });
    v11.exec(`INSERT INTO budget_reservations (reservation_id, task_id, tier, year_month, amount_usd) VALUES ('r1', 't1', 'gpt5_high', '2026-12', 1.28);
      INSERT INTO unreserved_usage (usage_id, task_id, tier, reservation_id, cost_usd, uncovered_usd, reason, timestamp)
        VALUES ('u1', 't1', 'gpt5_high', 'r1', 2, 0.72, 'exceeded', '2026-12-01 10:00:00'), ('u2', NULL, 'gpt5_medium', NULL, 1, 1, 'no_reservation', '2026-12-02 10:00:00');`);
    const before = snapshot(v11);
    v11.close();
    const db = openLedgerDb(file, { migrations: MIGRATIONS.slice(0, 12) });
    try {
      const after = snapshot(db);
      expect(after.unreserved_usage).toEqual(before.unreserved_usage);
      expect(after.budget_reservations).toEqual((before.budget_reservations as object[]).map((r) => ({ ...r, kind: 'call', holder: null, expires_at: null, returned_usd: null, expired_at: null })));
      db.exec("INSERT INTO unreserved_usage (usage_id, tier, cost_usd, uncovered_usd, reason, timestamp) VALUES ('u3', 'gpt5_high', 1, 1, 'slice_expired', '2026-12-03'), ('u4', 'gpt5_high', 1, 1, 'other_key', '2026-12-03')");
      expect(() => db.exec("INSERT INTO budget_reservations (reservation_id, tier, year_month, amount_usd, kind) VALUES ('s', 'slice', '2026-12', 1, 'lease')")).toThrow(/CHECK constraint failed/);
    } finally {
      db.close();
    }
  });
});

/** Every row of every table, for a before/after comparison. */
function snapshot(db: ReturnType<typeof openLedgerDb>): Record<string, unknown[]> {
  const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as { name: string }[];
  return Object.fromEntries(tables.map(({ name }) => [name, db.prepare(`SELECT * FROM ${name} ORDER BY rowid`).all()]));
}
