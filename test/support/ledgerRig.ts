/**
 * A real nats-server with the repo's streams, and the Ledger actor on a SQLite file of its own:
 * what a test of the ledger's request/reply subjects stands on.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ledger, type LedgerOptions } from '../../actors/ledger/index.ts';
import type { KoubouConfig } from '../../src/config/index.ts';
import { openLedgerDb, type LedgerDb } from '../../src/db/index.ts';
import { startNats, type TestNats } from './nats.ts';

export interface LedgerRig {
  nats: TestNats;
  db: LedgerDb;
  ledger: Ledger;
  /** Stops the ledger (again, if the test did), closes the file, stops nats-server. */
  stop(): Promise<void>;
}

/**
 * @param options.prepare rows to write before the ledger starts
 * @param options.ledger the Ledger's own options (slice grace and sweep)
 * @example
 * const rig = await startLedgerRig(config);
 * const client = new LedgerClient(await rig.nats.connect('router'));
 * await rig.stop();
 */
export async function startLedgerRig(
  config: KoubouConfig,
  options: { prepare?: (db: LedgerDb) => void; ledger?: Pick<LedgerOptions, 'sliceGraceMs' | 'sliceSweepMs'> } = {},
): Promise<LedgerRig> {
  const nats = await startNats();
  await nats.setup();
  const db = openLedgerDb(join(mkdtempSync(join(tmpdir(), 'koubou-ledger-')), 'ledger.db'));
  options.prepare?.(db);
  const ledger = new Ledger({ nc: await nats.connect('ledger'), db, config, ...options.ledger });
  await ledger.start();
  return {
    nats, db, ledger,
    async stop() {
      await ledger.stop();
      db.close();
      await nats.stop();
    },
  };
}
