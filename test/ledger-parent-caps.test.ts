/**
 * A master's session's money cap against children delegated in parallel, over a real nats-server
 * (the repo's conf, its roles) and a real ledger on a SQLite file. The routers' reservations are
 * sent as routers send them (src/routing/createRoutingSteps.ts): each child's cloud attempt
 * reserves under the session ($0 for an agent task), then its agent's model requests reserve
 * under the child. No task event is published, so the ledger never writes a child's parent from
 * its events: the cap must hold on the reservations alone. The session's end goes over the MCP
 * role's own subject.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NatsConnection } from '@nats-io/transport-node';
import { ParentLedger } from '../actors/mcp/index.ts';
import { encode, SUBJECTS, type ReserveReply } from '../src/bus/index.ts';
import { loadConfig } from '../src/config/index.ts';
import { currentYearMonth, getTask, type LedgerDb } from '../src/db/index.ts';
import { reservationIdOf } from '../src/routing/index.ts';
import { startLedgerRig } from './support/ledgerRig.ts';
import type { TestNats } from './support/nats.ts';

const config = loadConfig({ env: {}, overrides: { budget: { monthly_usd: 100, alert_threshold_percent: 80 } } });
const month = currentYearMonth();
let nats: TestNats;
let db: LedgerDb;
let stop: () => Promise<void>;
let router: NatsConnection;
let mcp: ParentLedger;

beforeAll(async () => {
  ({ nats, db, stop } = await startLedgerRig(config));
  router = await nats.connect('router');
  mcp = new ParentLedger(await nats.connect('mcp'));
});
afterAll(async () => {
  await stop?.();
});

const reserve = async (reservationId: string, taskId: string, amountUsd: number, parentTaskId: string) =>
  (await router.request(SUBJECTS.budgetReserve, encode({ reservationId, taskId, tier: 'gpt5_medium', amountUsd, yearMonth: month, parentTaskId }), { timeout: 10_000 })).json<ReserveReply>();

describe('a session\'s money cap with children in parallel', () => {
  it('holds when N agent children delegated at once each reserve and their model requests follow at once, before any child is linked by its events', async () => {
    const session = 'mcp-race';
    const N = 8;
    const request = 0.4;
    const cap = 1; // two requests fit, not three
    await mcp.open(session, cap);
    const replies = await Promise.all(Array.from({ length: N }, async (_, i) => {
      const child = `${session}-${i + 1}`;
      // The child's attempt on gpt5_medium, as its router reserves it: an agent task reserves $0.
      const own = await reserve(reservationIdOf(child, 'gpt5_medium', 1), child, 0, session);
      expect(own.granted).toBe(true);
      // Its agent's first model request: a gateway task whose parent is the child.
      return reserve(`gw-${i + 1}:gpt5_medium:1`, `gw-${i + 1}`, request, child);
    }));
    // No child was linked to the session by its events (none were published).
    for (let i = 1; i <= N; i++) expect(getTask(db, `${session}-${i}`)).toBeNull();
    const granted = replies.filter((r) => r.granted);
    expect(granted).toHaveLength(2);
    for (const r of replies.filter((x) => !x.granted)) expect(r.reason).toMatch(/^would exceed parent task mcp-race's cap/);
    const held = db.prepare(`SELECT COALESCE(SUM(amount_usd), 0) AS usd FROM budget_reservations WHERE status = 'active' AND task_id LIKE 'gw-%'`).get() as { usd: number };
    expect(held.usd).toBeCloseTo(2 * request, 9);
    expect(held.usd).toBeLessThanOrEqual(cap);
  });

  it('marks the session ended over the MCP role\'s subject only, and refuses to end a task that is not a session', async () => {
    await mcp.open('mcp-over', null);
    // Only a front door's role may end a session: a submitter's request never reaches the ledger.
    const submitter = await nats.connect('submitter');
    await expect(submitter.request(SUBJECTS.parentClose, encode({ parentTaskId: 'mcp-over', end: 'client_closed' }), { timeout: 1500 }))
      .rejects.toThrow(/permission|authorization|timeout|no responders/i);
    expect(getTask(db, 'mcp-over')?.status).toBe('in_progress');
    await mcp.close('mcp-over', 'client_closed');
    expect(getTask(db, 'mcp-over')).toMatchObject({ status: 'completed', reason: expect.stringContaining('its client closed') });
    await expect(mcp.close('not-a-session', 'server_stopped')).rejects.toThrow(/not-a-session: not an open parent task/);
    await expect(mcp.open('mcp-over', 3)).rejects.toThrow(/mcp-over: this session has ended/);
  });
});
