import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { Ledger } from '../actors/ledger/index.ts';
import { CONSUMERS, encode, STREAMS, SUBJECTS, type TaskEventMessage } from '../src/bus/index.ts';
import { loadConfig } from '../src/config/index.ts';
import { getTask, openLedgerDb, type LedgerDb } from '../src/db/index.ts';
import { startNats, type TestNats } from './support/nats.ts';

const config = loadConfig({ env: {} });
const dbPath = join(mkdtempSync(join(tmpdir(), 'koubou-ledger-res-')), 'ledger.db');
let nats: TestNats;
let db: LedgerDb;
let ledgerNc: NatsConnection;
let router: NatsConnection;
let jsm: JetStreamManager;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  nats = await startNats();
  await nats.setup();
  db = openLedgerDb(dbPath);
  ledgerNc = await nats.connect('ledger');
  router = await nats.connect('router');
  jsm = await jetstreamManager(router);
});
afterAll(async () => {
  db?.close();
  await nats?.stop();
});

const event = (taskId: string, seq = 1): TaskEventMessage => ({
  taskId, seq, at: new Date().toISOString(), status: 'pending', state: 'ReceiveTask', reason: 'received', tier: null, attempt: 0,
  type: 'general', priority: 5, sensitivity: null, difficulty: { level: 'low', score: 0, tokens: 10 }, promptSummary: 'x',
  workerId: null, reservationId: null, error: null,
});

async function settled(): Promise<void> {
  for (let i = 0; i < 500; i++) {
    const info = await jsm.consumers.info(STREAMS.events, CONSUMERS.ledger);
    if (info.num_pending === 0 && info.num_ack_pending === 0) return;
    await sleep(20);
  }
  throw new Error('ledger not settled');
}

describe('ledger: resilience', () => {
  it('retries an event that found the database locked (SQLITE_BUSY) and writes it once the lock is gone', async () => {
    const ledger = new Ledger({ nc: ledgerNc, db, config, retryDelayMs: 200 });
    await ledger.start();
    // Another process holding the write lock: the ledger waits busy_timeout (5 s), then gets SQLITE_BUSY.
    const other = new Database(dbPath);
    try {
      other.exec('BEGIN IMMEDIATE');
      // The ledger runs in this process and waits out busy_timeout synchronously: the publish's
      // acknowledgement can sit behind those 5 s, so its own time-out must be longer.
      await jetstream(router).publish(SUBJECTS.taskEvent('busy-1'), encode(event('busy-1')), { timeout: 30_000 });
      for (let i = 0; ledger.stats.retried === 0 && i < 600; i++) await sleep(25);
      expect(ledger.stats.retried).toBeGreaterThanOrEqual(1);
      expect(ledger.stats.refused).toBe(0);
      other.exec('ROLLBACK');
      await settled();
      expect(getTask(db, 'busy-1')?.status).toBe('pending');
      expect(ledger.stats.applied).toBe(1);
    } finally {
      if (other.inTransaction) other.exec('ROLLBACK');
      other.close();
      await ledger.stop();
    }
  }, 30_000);

  it('stop() writes and acks every event already received: none is left unacked', async () => {
    const ledger = new Ledger({ nc: ledgerNc, db, config, maxMessages: 100 });
    const js = jetstream(router);
    await Promise.all(Array.from({ length: 300 }, (_, i) => js.publish(SUBJECTS.taskEvent(`drain-${i}`), encode(event(`drain-${i}`)))));
    await ledger.start();
    while (ledger.stats.applied === 0) await sleep(1);
    await ledger.stop();
    await ledgerNc.flush();
    const info = await jsm.consumers.info(STREAMS.events, CONSUMERS.ledger);
    expect(info.num_ack_pending).toBe(0);
    const written = (db.prepare("SELECT COUNT(*) AS n FROM task_master WHERE task_id LIKE 'drain-%'").get() as { n: number }).n;
    expect(written).toBe(ledger.stats.applied);
    expect(written + info.num_pending).toBe(300);
    // The rest is still in the stream for the next start.
    const next = new Ledger({ nc: ledgerNc, db, config });
    await next.start();
    await settled();
    await next.stop();
    expect((db.prepare("SELECT COUNT(*) AS n FROM task_master WHERE task_id LIKE 'drain-%'").get() as { n: number }).n).toBe(300);
  });
});
