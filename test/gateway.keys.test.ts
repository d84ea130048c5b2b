/**
 * Gateway keys kept by koubou: made by `koubou keys gateway create` into the ledger's SQLite
 * file as digests only, checked by the gateway through the ledger (the key never travels),
 * revoked, and each with a monthly budget of its own that the same reservations enforce: a
 * key over its budget gets the local tier while the global budget has room. Spend by key.
 */
import OpenAI from 'openai';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Gateway, ledgerKeyLookup } from '../actors/gateway/index.ts';
import { costReport } from '../actors/ledger/queries.ts';
import { keyDigest } from '../src/keys/index.ts';
import {
  createGatewayKey, findGatewayKeyByDigest, gatewayKeyMonth, getGatewayKey, listGatewayKeys, openLedgerDb,
  reserveBudget, revokeGatewayKey, currentYearMonth,
} from '../src/db/index.ts';
import { runKoubou } from './support/cli.ts';
import { startSystem, type TestSystem } from './support/system.ts';
import { useTempLedger } from './support/util.ts';

describe('gateway keys in the ledger', () => {
  const ledger = useTempLedger();

  it('keeps a digest, never the key; finds live keys by digest; revokes; refuses a taken name', () => {
    const db = ledger.track(openLedgerDb(ledger.file));
    const { key, record } = createGatewayKey(db, { name: 'laptop', monthlyBudgetUsd: 20 });
    expect(key).toMatch(/^kb-[A-Za-z0-9_-]{43}$/);
    expect(record).toMatchObject({ name: 'laptop', monthlyBudgetUsd: 20, revokedAt: null });
    db.pragma('wal_checkpoint(TRUNCATE)');
    expect(readFileSync(ledger.file).includes(Buffer.from(key))).toBe(false);
    expect(findGatewayKeyByDigest(db, keyDigest(key))?.name).toBe('laptop');
    expect(findGatewayKeyByDigest(db, keyDigest(`${key}x`))).toBeNull();
    expect(() => createGatewayKey(db, { name: 'laptop' })).toThrow(/a gateway key named "laptop" exists/);
    expect(() => createGatewayKey(db, { name: 'has space' })).toThrow(/key name "has space"/);
    expect(revokeGatewayKey(db, 'laptop')).toBe(true);
    expect(revokeGatewayKey(db, 'laptop')).toBe(false);
    expect(findGatewayKeyByDigest(db, keyDigest(key))).toBeNull();
    expect(listGatewayKeys(db)[0]!.revokedAt).not.toBeNull();
  });

  it('refuses a reservation over the key\'s own budget while the global budget has room, and never lets the key overshoot', () => {
    const db = ledger.track(openLedgerDb(ledger.file));
    createGatewayKey(db, { name: 'ci', monthlyBudgetUsd: 1 });
    const yearMonth = currentYearMonth();
    const base = { tier: 'gpt5_high', yearMonth, limitUsd: 100, clientKey: 'ci' };
    const granted = Array.from({ length: 30 }, (_, i) => reserveBudget(db, { ...base, reservationId: `r-${i}`, taskId: null, amountUsd: 0.07 }));
    expect(granted.filter((r) => r.granted)).toHaveLength(14);
    const refused = granted.find((r) => !r.granted)!;
    expect(refused).toMatchObject({ reason: 'key_budget', key: { name: 'ci', limitUsd: 1 } });
    expect(gatewayKeyMonth(db, 'ci', yearMonth).reservedUsd).toBeCloseTo(0.98, 6);
    // Another key, or none, still has the global budget.
    expect(reserveBudget(db, { ...base, clientKey: undefined, reservationId: 'r-none', taskId: null, amountUsd: 5 }).granted).toBe(true);
    expect(getGatewayKey(db, 'ci')?.monthlyBudgetUsd).toBe(1);
  });
});

describe('keys from koubou keys gateway, at the gateway', () => {
  let sys: TestSystem;
  let gateway: Gateway;
  let base: string;

  beforeAll(async () => {
    sys = await startSystem();
    const bus = await sys.nats.gatewayBus();
    gateway = new Gateway({ ...bus, keyDigests: [], lookupKey: ledgerKeyLookup(bus.nc), port: 0 });
    base = `${(await gateway.start()).url}/v1`;
  });
  afterAll(async () => {
    await gateway?.stop();
    await sys?.stop();
  });

  const create = async (args: string[]) => {
    const r = await runKoubou(['keys', 'gateway', 'create', ...args, '--db', sys.dbPath]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/only time it is shown/);
    return r.stdout.trim();
  };

  it('serves a key made by the CLI, records its spend under its name, and stops serving it once revoked', async () => {
    const key = await create(['team-a']);
    const client = new OpenAI({ apiKey: key, baseURL: base, maxRetries: 0 });
    const { response } = await client.chat.completions.create({ model: 'koubou/gpt5_high', messages: [{ role: 'user', content: 'fix the typo' }] }).withResponse();
    expect(response.headers.get('x-koubou-tier')).toBe('gpt5_high');
    const taskId = response.headers.get('x-koubou-task-id')!;
    for (let i = 0; i < 100 && !costReport(sys.db, 1).byKey.some((k) => k.key === 'team-a'); i++) await new Promise((r) => setTimeout(r, 50));
    expect(costReport(sys.db, 1).byKey.find((k) => k.key === 'team-a')).toMatchObject({ requests: 1 });
    expect((sys.db.prepare('SELECT client_key FROM task_master WHERE task_id = ?').get(taskId) as { client_key: string }).client_key).toBe('team-a');

    const list = await runKoubou(['keys', 'gateway', 'list', '--db', sys.dbPath]);
    expect(list.stdout).toMatch(/team-a/);
    expect(list.stdout).not.toContain(key);
    const revoke = await runKoubou(['keys', 'gateway', 'revoke', 'team-a', '--db', sys.dbPath]);
    expect(revoke.code).toBe(0);
    // A fresh gateway (no cache) refuses it at once.
    const bus = await sys.nats.gatewayBus();
    const fresh = new Gateway({ ...bus, keyDigests: [], lookupKey: ledgerKeyLookup(bus.nc), port: 0 });
    const url = `${(await fresh.start()).url}/v1`;
    try {
      await expect(new OpenAI({ apiKey: key, baseURL: url, maxRetries: 0 }).models.list()).rejects.toMatchObject({ status: 401, code: 'invalid_api_key' });
    } finally {
      await fresh.stop();
    }
  }, 60_000);

  it('sends a key over its own budget to the local tier, saying which key\'s budget refused', async () => {
    const key = await create(['tiny', '--budget', '0.000001']);
    const client = new OpenAI({ apiKey: key, baseURL: base, maxRetries: 0 });
    const { response } = await client.chat.completions.create({ model: 'koubou/gpt5_high', messages: [{ role: 'user', content: 'fix the typo' }] }).withResponse();
    expect(response.headers.get('x-koubou-tier')).toBe('local');
    const events = await sys.events(response.headers.get('x-koubou-task-id')!);
    expect(events.map((e) => e.reason).join('\n')).toMatch(/would exceed gateway key "tiny"'s monthly budget/);
  }, 60_000);

  it('refuses a bad budget and a taken name on the command line with a clear error', async () => {
    const bad = await runKoubou(['keys', 'gateway', 'create', 'x', '--budget', 'lots', '--db', sys.dbPath]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--budget must be a non-negative amount of US dollars/);
    await create(['dup']);
    const again = await runKoubou(['keys', 'gateway', 'create', 'dup', '--db', sys.dbPath]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/a gateway key named "dup" exists/);
  }, 60_000);
});
