/**
 * Budget slices end to end: the gateway's BudgetSlices, as role `gateway`, leasing and returning
 * slices of a real ledger (the Ledger actor on a real SQLite file) over a real nats-server started
 * from the repo's nats.conf; a call's usage reaches the ledger on koubou.evt.usage, as every usage
 * does, naming the slice as its reservation.
 */
import { jetstream } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BudgetSlices, natsSliceLedger, type SliceGrant } from '../actors/gateway/index.ts';
import { encode, MSG_ID, SUBJECTS, type BudgetStateMessage } from '../src/bus/index.ts';
import { loadConfig } from '../src/config/index.ts';
import {
  createGatewayKey, currentYearMonth, getBudgetStatus, getSlice, setTaskClientKey, unreservedReport, upsertTask, type LedgerDb,
} from '../src/db/index.ts';
import { startLedgerRig } from './support/ledgerRig.ts';
import type { TestNats } from './support/nats.ts';
import { until } from './support/util.ts';

const config = loadConfig({ env: {}, overrides: { budget: { monthly_usd: 10, alert_threshold_percent: 80 } } });
let nats: TestNats;
let db: LedgerDb;
let stop: () => Promise<void>;
let slices: BudgetSlices;
const heard: BudgetStateMessage[] = [];

beforeAll(async () => {
  ({ nats, db, stop } = await startLedgerRig(config, {
    prepare: (file) => {
      createGatewayKey(file, { name: 'laptop', monthlyBudgetUsd: 3 });
      upsertTask(file, { taskId: 'gw-call-1', taskType: 'general', difficulty: 'low', sensitivity: 'public', status: 'in_progress' });
      setTaskClientKey(file, 'gw-call-1', 'laptop');
    },
    // No grace and a quick sweep, so that a dead gateway's slice is closed while the test waits.
    ledger: { sliceGraceMs: 0, sliceSweepMs: 100 },
  }));
  slices = new BudgetSlices({ ledger: natsSliceLedger(await nats.connect('gateway')), holder: 'gw-nats', onBudget: (b) => heard.push(b) });
}, 60_000);
afterAll(async () => {
  await slices?.stop().catch(() => {});
  await stop?.();
});

/** A worker's record of one paid call, as it reaches the ledger's stream. */
async function publishUsage(usageId: string, grant: SliceGrant, costUsd: number): Promise<void> {
  const js = jetstream(await nats.connect('router'));
  await js.publish(SUBJECTS.usage, encode({
    usageId, taskId: 'gw-call-1', attempt: 1, workerId: 'gw-nats', tier: 'gpt5_high', model: 'gpt-5',
    promptTokens: 100, cachedPromptTokens: 0, completionTokens: 50, reasoningTokens: 0, costUsd, reservationId: grant.reservationId, at: new Date().toISOString(),
  }), { msgID: MSG_ID.usage(usageId) });
}

describe('budget slices through a real ledger over NATS', () => {
  it('leases a slice for a key, charges its calls to it, refuses past the key budget with the ledger reason, and returns it settled', async () => {
    const a = await slices.reserve('laptop', 0.04);
    const b = await slices.reserve('laptop', 0.02);
    if (!a.granted || !b.granted) throw new Error('not granted');
    expect(b.reservationId).toBe(a.reservationId);
    const slice = getSlice(db, a.reservationId)!;
    expect(slice).toMatchObject({ holder: 'gw-nats', clientKey: 'laptop', amountUsd: 2, status: 'active', heldUsd: 2 });
    expect(heard.at(-1)).toEqual({ yearMonth: currentYearMonth(), limitUsd: 10, spentUsd: 0, reservedUsd: 2, alertThresholdPercent: 80 });

    // Past the key's $3: the ledger refuses the slice a $2.50 call needs (the current one has $1.94 left), and says why.
    expect(await slices.reserve('laptop', 2.5)).toEqual({
      granted: false, code: 'key_budget', reason: 'would exceed gateway key "laptop"\'s monthly budget ($0.00 spent + $2.00 reserved + $2.50 > $3.00)',
    });

    await publishUsage('gw-call-1:1:1', a, 0.03);
    slices.settle(a, 0.03);
    await until(() => getSlice(db, a.reservationId)!.actualUsd > 0);
    // Charged, and still leased: it holds what is not charged yet.
    expect(getSlice(db, a.reservationId)).toMatchObject({ status: 'active', actualUsd: 0.03 });
    expect(getBudgetStatus(db, currentYearMonth())!.reservedUsd).toBeCloseTo(1.97, 9);

    // The last call is charged too, but its usage has not reached the ledger when the gateway stops.
    slices.settle(b, 0.01);
    await slices.stop();
    expect(getSlice(db, a.reservationId)).toMatchObject({ status: 'active', returnedUsd: 0.04 });
    expect(getSlice(db, a.reservationId)!.heldUsd).toBeCloseTo(0.01, 9);
    await publishUsage('gw-call-1:1:2', b, 0.01);
    await until(() => getSlice(db, a.reservationId)!.status === 'settled');
    expect(getBudgetStatus(db, currentYearMonth())).toMatchObject({ reservedUsd: 0 });
    expect(getBudgetStatus(db, currentYearMonth())!.spentUsd).toBeCloseTo(0.04, 9);
    expect(unreservedReport(db).calls).toBe(0);
  });

  it("closes a slice whose gateway died by the ledger's own sweep, giving back what it held", async () => {
    const dead = new BudgetSlices({ ledger: natsSliceLedger(await nats.connect('gateway')), holder: 'gw-dead', ttlMs: 1000, checkEveryMs: 0, sliceReservations: 1 });
    const grant = await dead.reserve(null, 0.5);
    if (!grant.granted) throw new Error(grant.reason);
    expect(getSlice(db, grant.reservationId)).toMatchObject({ status: 'active', heldUsd: 1 });
    // The gateway is gone: nothing settles, nothing returns. The ledger's timer closes it past its expiry.
    await until(() => getSlice(db, grant.reservationId)!.expiredAt !== null);
    expect(getSlice(db, grant.reservationId)).toMatchObject({ status: 'released', heldUsd: 0, returnedUsd: null });
    expect(getBudgetStatus(db, currentYearMonth())!.reservedUsd).toBe(0);
  });
});
