/**
 * The LedgerClient against a real nats-server (the repo's conf, its roles) and a real ledger on a
 * SQLite file: every method once, its reply checked by its schema; the three error codes; and every
 * subject the ledger serves has a client method and schemas, so a new ledger subject without them
 * fails here.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NatsConnection } from '@nats-io/transport-node';
import { SERVICE_SUBJECTS, type Ledger } from '../actors/ledger/index.ts';
import { LEDGER_API, LedgerClient, LedgerError, SUBJECTS } from '../src/bus/index.ts';
import { loadConfig } from '../src/config/index.ts';
import { createDashboardKey, createGatewayKey, currentYearMonth, getTask, upsertTask, type LedgerDb } from '../src/db/index.ts';
import { keyDigest } from '../src/keys/index.ts';
import { startLedgerRig } from './support/ledgerRig.ts';
import type { TestNats } from './support/nats.ts';

const config = loadConfig({ env: {}, overrides: { budget: { monthly_usd: 100, alert_threshold_percent: 80 } } });
const month = currentYearMonth();
let nats: TestNats;
let db: LedgerDb;
let ledger: Ledger;
let stop: () => Promise<void>;
let router: NatsConnection;
let client: LedgerClient;
let gatewayClient: LedgerClient;
/** The methods this file has called, to check that it calls every one. */
const called = new Set<string>();

beforeAll(async () => {
  ({ nats, db, ledger, stop } = await startLedgerRig(config));
  router = await nats.connect('router');
  const tracked = (real: LedgerClient) => new Proxy(real, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver);
      if (typeof value !== 'function') return value;
      called.add(String(name));
      return value.bind(target);
    },
  });
  client = tracked(new LedgerClient(router, { timeoutMs: 5000 }));
  // Budget slices are the gateway role's alone (nats.conf).
  gatewayClient = tracked(new LedgerClient(await nats.connect('gateway'), { timeoutMs: 5000 }));
});
afterAll(async () => {
  await stop?.();
});

/** The LedgerError a promise rejects with (fails the test if it resolves or throws anything else). */
async function ledgerError(p: Promise<unknown>): Promise<LedgerError> {
  const e = await p.then(() => null, (err: unknown) => err);
  expect(e).toBeInstanceOf(LedgerError);
  return e as LedgerError;
}

describe('LedgerClient: every subject the ledger serves', () => {
  it('has a client method and request and reply schemas for each, and none for a subject the ledger does not serve', () => {
    const served = [...SERVICE_SUBJECTS].sort();
    expect(Object.values(LEDGER_API).map((a) => a.subject).sort()).toEqual(served);
    for (const [method, api] of Object.entries(LEDGER_API)) {
      expect(typeof (LedgerClient.prototype as unknown as Record<string, unknown>)[method], `LedgerClient.${method} for ${api.subject}`).toBe('function');
      expect(api.request.safeParse, api.subject).toBeTypeOf('function');
      expect(api.reply.safeParse, api.subject).toBeTypeOf('function');
    }
  });
});

describe('LedgerClient against a real ledger', () => {
  it('reads the month, reserves under a session\'s cap, sees it in the session\'s spend, and releases it', async () => {
    const before = await client.budget();
    expect(before).toMatchObject({ yearMonth: month, limitUsd: 100, alertThresholdPercent: 80 });

    expect(await client.parentOpen('lc-session', 2)).toEqual({ opened: 'lc-session' });
    const granted = await client.reserve({ reservationId: 'lc-r1', taskId: 'lc-child', tier: 'gpt5_medium', amountUsd: 0.5, yearMonth: month, parentTaskId: 'lc-session' });
    expect(granted).toEqual({ granted: true, reason: 'granted' });
    const refused = await client.reserve({ reservationId: 'lc-r2', taskId: 'lc-child', tier: 'gpt5_medium', amountUsd: 1.75, yearMonth: month, parentTaskId: 'lc-session' });
    expect(refused.granted).toBe(false);
    expect(refused.reason).toMatch(/lc-session's cap/);
    expect(await client.parent('lc-session')).toEqual({ parentTaskId: 'lc-session', capUsd: 2, spentUsd: 0, reservedUsd: 0.5 });
    expect((await client.budget()).reservedUsd).toBeCloseTo(before.reservedUsd + 0.5, 9);

    expect(await client.release('lc-r1')).toEqual({ released: true });
    expect(await client.release('lc-r1')).toEqual({ released: false });
    expect((await client.parent('lc-session')).reservedUsd).toBe(0);
  });

  it('reads a task, its tree, the costs and the status', async () => {
    upsertTask(db, { taskId: 'lc-child', taskType: 'refactoring', difficulty: 'medium', sensitivity: 'public', status: 'completed', parentTaskId: 'lc-session' });
    const task = await client.task('lc-child');
    expect(task.task).toMatchObject({ taskId: 'lc-child', status: 'completed', parentTaskId: 'lc-session' });
    expect(task).toMatchObject({ routing: [], fallbacks: [] });

    const { sinceHours, trees } = await client.tree(1);
    expect(sinceHours).toBe(1);
    expect(trees.find((t) => t.taskId === 'lc-session')?.children.map((c) => c.taskId)).toEqual(['lc-child']);

    expect(await client.costs(2)).toMatchObject({ sinceHours: 2, totalUsd: 0, requests: 0, byTierModel: [] });
    const status = await client.status();
    expect(status.budget).toEqual(await client.budget());
    expect(status.recentTasks?.map((t) => t.taskId)).toContain('lc-child');
  });

  it('finds gateway and dashboard keys by their digest', async () => {
    const { key } = createGatewayKey(db, { name: 'lc-laptop', monthlyBudgetUsd: 20 });
    expect(await client.gatewayKey(keyDigest(key))).toEqual({ key: { name: 'lc-laptop', monthlyBudgetUsd: 20 } });
    expect(await client.gatewayKey('0'.repeat(64))).toEqual({ key: null });

    expect(await client.dashboardKey()).toEqual({ key: null, liveKeys: 0 });
    const dash = createDashboardKey(db, { name: 'lc-ops' });
    expect(await client.dashboardKey(keyDigest(dash.key))).toEqual({ key: { name: 'lc-ops' }, liveKeys: 1 });
  });

  it('closes a session, and refuses to close a task that is no session', async () => {
    expect(await client.parentClose('lc-session', 'client_closed')).toEqual({ closed: 'lc-session' });
    expect(getTask(db, 'lc-session')?.status).toBe('completed');
    const notSession = await ledgerError(client.parentClose('lc-child', 'server_stopped'));
    expect(notSession).toMatchObject({ code: 'LEDGER_ERROR', retryable: false, subject: SUBJECTS.parentClose, ledgerMessage: 'lc-child: not an open parent task' });
  });

  it('fails with LEDGER_ERROR, the ledger\'s words kept, when the ledger answers { error }', async () => {
    const unknown = await ledgerError(client.task('lc-never-seen'));
    expect(unknown).toMatchObject({ code: 'LEDGER_ERROR', retryable: false, subject: SUBJECTS.ledgerQuery('task') });
    expect(unknown.ledgerMessage).toMatch(/^unknown task lc-never-seen/);
    expect(unknown.message).toMatch(/^the ledger refused koubou\.ledger\.query\.task: unknown task lc-never-seen/);
    // The ledger decodes requests with the client's own schemas: what they refuse, it names.
    const bad = await ledgerError(client.costs(-1));
    expect(bad).toMatchObject({ code: 'LEDGER_ERROR', message: expect.stringMatching(/koubou\.ledger\.query\.costs: sinceHours: /) });
  });

  it('leases a budget slice for a gateway and takes it back with what its calls cost', async () => {
    const lease = await gatewayClient.sliceLease({ sliceId: 'lc-gw.slice-1', holder: 'lc-gw', minUsd: 0.1, wantUsd: 1, ttlMs: 60_000 });
    expect(lease).toMatchObject({ granted: true, sliceId: 'lc-gw.slice-1', amountUsd: 1 });
    expect(lease.budget.reservedUsd).toBeCloseTo(1, 9);
    const back = await gatewayClient.sliceReturn({ sliceId: 'lc-gw.slice-1', holder: 'lc-gw', chargedUsd: 0 });
    expect(back).toMatchObject({ returned: true, heldUsd: 0 });
    expect(back.budget.reservedUsd).toBeCloseTo(0, 9);
  });

  it('has called every method', () => {
    expect([...called].filter((m) => m in LEDGER_API).sort()).toEqual(Object.keys(LEDGER_API).sort());
  });
});

describe('LedgerClient without a ledger, or with a ledger of another shape', () => {
  it('fails with a retryable LEDGER_UNAVAILABLE naming the bus and the subject when no ledger answers', async () => {
    await ledger.stop();
    const e = await ledgerError(new LedgerClient(router, { timeoutMs: 500, server: 'nats://the-bus:4222' }).budget());
    expect(e).toMatchObject({ code: 'LEDGER_UNAVAILABLE', retryable: true, subject: SUBJECTS.ledgerQuery('budget') });
    expect(e.message).toMatch(/^no ledger answered on nats:\/\/the-bus:4222 \(is `koubou up` running\?\): koubou\.ledger\.query\.budget: /);
    expect(e.cause).toBeInstanceOf(Error);
  });

  it('fails with LEDGER_BAD_REPLY naming the subject and what was wrong when a reply does not match its schema', async () => {
    // A stand-in ledger on the real server, answering what a ledger of another version might.
    const impostor = await nats.connect('ledger');
    impostor.subscribe(SUBJECTS.budgetReserve, { callback: (_err, m) => { m.respond(JSON.stringify({ granted: 'yes', reason: 'ok' })); } });
    impostor.subscribe(SUBJECTS.ledgerQuery('budget'), { callback: (_err, m) => { m.respond('not json'); } });
    await impostor.flush();

    const wrong = await ledgerError(client.reserve({ reservationId: 'lc-r3', taskId: 'lc-child', tier: 'gpt5_high', amountUsd: 0.1, yearMonth: month }));
    expect(wrong).toMatchObject({ code: 'LEDGER_BAD_REPLY', retryable: false, subject: SUBJECTS.budgetReserve });
    expect(wrong.message).toMatch(/koubou\.ledger\.budget\.reserve does not match its schema: granted: /);
    const notJson = await ledgerError(client.budget());
    expect(notJson).toMatchObject({ code: 'LEDGER_BAD_REPLY', message: expect.stringMatching(/koubou\.ledger\.query\.budget: not valid JSON/) });
    await impostor.close();
  });
});
