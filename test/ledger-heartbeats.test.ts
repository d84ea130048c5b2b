import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NatsConnection } from '@nats-io/transport-node';
import { HeartbeatMonitor, Ledger } from '../actors/ledger/index.ts';
import { encode, SUBJECTS, type Heartbeat } from '../src/bus/index.ts';
import { loadConfig } from '../src/config/index.ts';
import { getWorker, openLedgerDb, type LedgerDb } from '../src/db/index.ts';
import { startNats, type TestNats } from './support/nats.ts';
import { sleep, uniqueId } from './support/util.ts';

let nats: TestNats;
let db: LedgerDb;
let ledger: Ledger;
let worker: NatsConnection;

const uid = uniqueId;

beforeAll(async () => {
  nats = await startNats();
  await nats.setup();
  db = openLedgerDb(join(mkdtempSync(join(tmpdir(), 'koubou-ledger-hb-')), 'ledger.db'));
  // Short intervals: a worker is offline after 3 × 200 ms of silence.
  ledger = new Ledger({
    nc: await nats.connect('ledger'), db, config: loadConfig({ env: {} }),
    heartbeatIntervalMs: 200, heartbeatWriteIntervalMs: 100, offlineCheckMs: 100,
  });
  await ledger.start();
  worker = await nats.connect('local_worker');
});
afterAll(async () => {
  await ledger?.stop();
  db?.close();
  await nats?.stop();
});

async function waitFor<T>(what: string, fn: () => T | null | undefined | false, timeoutMs = 5000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

function heartbeat(workerId: string, over: Partial<Heartbeat> = {}): Heartbeat {
  return {
    workerId, tier: 'local', status: 'idle', location: 'remote', host: '192.168.1.100', endpoint: 'http://192.168.1.100:11434',
    model: 'gpt-oss:20b', capabilities: ['general', 'testing'], maxConcurrent: 2, currentTasks: [], load: 0, pid: 4242,
    at: new Date().toISOString(), ...over,
  };
}

describe('ledger: worker heartbeats', () => {
  it('registers a worker from its heartbeats, marks it offline when silent, and back when it speaks', async () => {
    const id = uid('w');
    worker.publish(SUBJECTS.heartbeat(id), encode(heartbeat(id)));
    worker.publish(SUBJECTS.heartbeat(id), encode(heartbeat(id, { status: 'busy', currentTasks: ['t'] })));
    // The second came within the write interval: held back, then written (only the latest counts).
    const row = await waitFor('busy worker', () => getWorker(db, id)?.status === 'busy' && getWorker(db, id));
    expect(row).toMatchObject({
      workerType: 'local', modelName: 'gpt-oss:20b', apiEndpoint: 'http://192.168.1.100:11434', location: '192.168.1.100',
      endpointUrl: 'http://192.168.1.100:11434', capabilities: ['general', 'testing'], processId: 4242,
    });
    // 3 × 200 ms of silence.
    await waitFor('offline worker', () => getWorker(db, id)?.status === 'offline', 5000);
    worker.publish(SUBJECTS.heartbeat(id), encode(heartbeat(id)));
    await waitFor('worker back', () => getWorker(db, id)?.status === 'idle');
  });

  it('throttles writes: at most one per worker per interval, the latest held back and written after', async () => {
    const mdb = openLedgerDb(join(mkdtempSync(join(tmpdir(), 'koubou-hb-')), 'hb.db'));
    const monitor = new HeartbeatMonitor(mdb, { intervalMs: 10_000, writeIntervalMs: 300 });
    try {
      monitor.onHeartbeat(heartbeat('hb-1', { status: 'idle' }));
      monitor.onHeartbeat(heartbeat('hb-1', { status: 'busy' }));
      monitor.onHeartbeat(heartbeat('hb-1', { status: 'rate_limited' }));
      expect(getWorker(mdb, 'hb-1')?.status).toBe('idle');
      await waitFor('trailing write', () => getWorker(mdb, 'hb-1')?.status === 'rate_limited', 2000);
      // A worker silent for 3 × intervalMs, judged at a later "now", is marked offline exactly once.
      expect(monitor.sweep(Date.now() + 5000)).toEqual([]);
      expect(monitor.sweep(Date.now() + 31_000)).toEqual(['hb-1']);
      expect(monitor.sweep(Date.now() + 32_000)).toEqual([]);
    } finally {
      monitor.stop();
      mdb.close();
    }
  });

  it('ignores a heartbeat that does not validate', async () => {
    const id = uid('badhb');
    worker.publish(SUBJECTS.heartbeat(id), encode({ workerId: id, tier: 'nope' }));
    worker.publish(SUBJECTS.heartbeat(`${id}-ok`), encode(heartbeat(`${id}-ok`)));
    await waitFor('valid worker', () => getWorker(db, `${id}-ok`));
    expect(getWorker(db, id)).toBeNull();
  });
});

