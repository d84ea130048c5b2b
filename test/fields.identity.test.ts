/**
 * Fields bound to identity (issue 21 item 3): `clientKey`, `confidentialSession`, `session` and
 * `parentTaskId` come only through a front door. A plain submitter that sets one is refused by
 * the router with a rejection naming the field, and nothing is charged to the key it named; the
 * gateway's path (its role, its door subject, its seal) carries them; a message made to land on
 * the door subject by a JetStream reply (no door seal) is refused. Real nats-server with the
 * repo's nats.conf, real SQLite ledger, the router and workers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstream } from '@nats-io/jetstream';
import { headers } from '@nats-io/transport-node';
import { DOOR_SEAL_HEADER, encode, MSG_ID, publishSubmission, SUBJECTS } from '../src/bus/index.ts';
import { IDENTITY_FIELDS, type IdentityField } from '../src/core/identityFields.ts';
import { createGatewayKey, gatewayKeyMonth } from '../src/db/gatewayKeys.ts';
import { listRejections } from '../src/db/audit.ts';
import { startSystem, uniqueId, type TestSystem } from './support/system.ts';
import { until } from './support/util.ts';

const VICTIM = 'victim-key';
/** Hard work pinned to the dearest tier: if it ran, the named key would be charged. */
const PAID = { type: 'architecture', priority: 5, prompt: 'design a sharded event store with exactly-once consumers', files: [], pinnedTier: 'gpt5_high' };
const VALUES: Record<IdentityField, unknown> = {
  clientKey: VICTIM,
  confidentialSession: { session: 'someone-elses-thread', since: 'gw-1' },
  sessionTier: { tier: 'gpt5_high', newAsk: false },
  parentTaskId: 'someone-elses-agent-task',
  session: 's-someone-elses-session',
};

let sys: TestSystem;
beforeAll(async () => {
  sys = await startSystem();
  createGatewayKey(sys.db, { name: VICTIM, monthlyBudgetUsd: 50 });
});
afterAll(async () => { await sys?.stop(); });

const yearMonth = () => new Date().toISOString().slice(0, 7);
const victimReservations = () => (sys.db.prepare('SELECT COUNT(*) AS n FROM budget_reservations WHERE client_key = ?').get(VICTIM) as { n: number }).n;
const taskRow = (taskId: string) => sys.db.prepare('SELECT client_key, parent_task_id FROM task_master WHERE task_id = ?').get(taskId) as
  { client_key: string | null; parent_task_id: string | null } | undefined;

/** The ledger's record of the router's rejection of this task id. */
async function rejectionOf(taskId: string): Promise<{ subject: string; reason: string }> {
  let found: { subject: string; reason: string } | undefined;
  await until(() => (found = listRejections(sys.db, {}).find((r) => r.reason.includes(`[task ${taskId}]`))) !== undefined, 15_000);
  return found!;
}

describe('a plain submitter (role submitter, koubou.task.submit)', () => {
  it.each(IDENTITY_FIELDS)('is refused %s, by name, and nothing runs or is charged to the key', async (field) => {
    const taskId = uniqueId(`forged-${field}`);
    await sys.submit({ taskId, ...PAID, [field]: VALUES[field] });
    const rejection = await rejectionOf(taskId);
    expect(rejection.subject).toBe('koubou.task.submit');
    expect(rejection.reason).toContain(`koubou.task.submit: ${field}: set only by a front door (the gateway, koubou mcp)`);
    // The refused task never became one: a clean resubmission of the same id runs, without the field.
    await sys.submit({ taskId, ...PAID }, `${taskId}-clean`);
    const final = await sys.finalEvent(taskId);
    expect(final).toMatchObject({ status: 'completed', tier: 'gpt5_high' });
    await until(() => taskRow(taskId) !== undefined);
    expect(taskRow(taskId)).toEqual({ client_key: null, parent_task_id: null });
    expect(victimReservations()).toBe(0);
    expect(gatewayKeyMonth(sys.db, VICTIM, yearMonth())).toEqual({ spentUsd: 0, reservedUsd: 0 });
  });

  it('is refused every identity field at once, each named', async () => {
    const taskId = uniqueId('forged-all');
    await sys.submit({ taskId, ...PAID, ...VALUES });
    expect((await rejectionOf(taskId)).reason).toContain('clientKey, confidentialSession, sessionTier, parentTaskId, session: set only by a front door');
    expect(victimReservations()).toBe(0);
  });

  it('may pin a tier: a pin chooses among tiers the submitter reaches anyway, and the global budget pays', async () => {
    const taskId = uniqueId('pinned');
    await sys.submit({ taskId, type: 'general', priority: 5, prompt: 'fix a typo in the README', files: [], pinnedTier: 'gpt5_medium' });
    expect(await sys.finalEvent(taskId)).toMatchObject({ status: 'completed', tier: 'gpt5_medium' });
    expect(victimReservations()).toBe(0);
  });
});

describe('the gateway (role gateway, its door subject, sealed)', () => {
  it('sets every identity field, and the named key is charged', async () => {
    // The ledger links a child only to a parent it knows: a task submitted before, as an agent's would be.
    const parent = uniqueId('agent-task');
    await sys.submit({ taskId: parent, type: 'general', priority: 5, prompt: 'fix a typo in the README', files: [] });
    await sys.finalEvent(parent);
    const taskId = uniqueId('door');
    await sys.submitThroughGateway({ taskId, ...PAID, clientKey: VICTIM, parentTaskId: parent, session: VALUES.session as string });
    // The session travels on every event of the task (the dashboard groups by it).
    expect(await sys.finalEvent(taskId)).toMatchObject({ status: 'completed', tier: 'gpt5_high', session: VALUES.session });
    await until(() => taskRow(taskId)?.parent_task_id === parent && gatewayKeyMonth(sys.db, VICTIM, yearMonth()).spentUsd > 0);
    expect(taskRow(taskId)).toEqual({ client_key: VICTIM, parent_task_id: parent });
    expect(victimReservations()).toBe(1);

    const session = uniqueId('door-session');
    await sys.submitThroughGateway({ taskId: session, ...PAID, confidentialSession: VALUES.confidentialSession });
    // A session that has been confidential keeps even a pinned cloud task local.
    expect(await sys.finalEvent(session)).toMatchObject({ status: 'completed', tier: 'local' });
  });

  it('is refused when its seal is made with another key (a door and the routers must share KOUBOU_DOOR_KEY)', async () => {
    const taskId = uniqueId('wrong-key');
    const { nc } = await sys.nats.gatewayBus();
    await publishSubmission(jetstream(nc), { taskId, ...PAID, clientKey: VICTIM }, { door: { name: 'gateway', key: 'kb-not-the-door-key' } });
    const rejection = await rejectionOf(taskId);
    expect(rejection.subject).toBe(SUBJECTS.doorSubmit('gateway'));
    expect(rejection.reason).toContain(`no valid ${DOOR_SEAL_HEADER}: not submitted by the gateway`);
    expect(victimReservations()).toBe(1);
  });
});

describe('a submission made to land on the door subject without being published there', () => {
  it('is refused: a JetStream direct get answered on the door subject carries no seal', async () => {
    // A submitter may write the workspace bucket. A direct get answers on whatever reply subject
    // the request names, with the stored bytes as they are. nats.conf no longer lets a submitter
    // direct-get (test/nats.permissions), so a core service's connection asks here: the answer is
    // JetStream's, published by no door, and the seal is what tells the router so.
    const taskId = uniqueId('reflected');
    const forged = encode({ taskId, ...PAID, clientKey: VICTIM });
    const planted = `$O.koubou_ws.C.${taskId}`;
    await jetstream(sys.submitter).publish(planted, forged);
    const service = await sys.nats.connect('ledger');
    service.publish('$JS.API.DIRECT.GET.OBJ_koubou_ws', encode({ last_by_subj: planted }), { reply: SUBJECTS.doorSubmit('gateway') });
    const rejection = await rejectionOf(taskId);
    expect(rejection.subject).toBe(SUBJECTS.doorSubmit('gateway'));
    expect(rejection.reason).toContain(`no valid ${DOOR_SEAL_HEADER}`);
    expect(victimReservations()).toBe(1);
  });

  it('is refused with a forged seal header, even from a role that may publish there', async () => {
    const taskId = uniqueId('forged-seal');
    const h = headers();
    h.set(DOOR_SEAL_HEADER, 'ab'.repeat(32));
    await jetstream(await sys.nats.connect('router'))
      .publish(SUBJECTS.doorSubmit('gateway'), encode({ taskId, ...PAID, clientKey: VICTIM }), { msgID: MSG_ID.submission(taskId), headers: h });
    expect((await rejectionOf(taskId)).reason).toContain(`no valid ${DOOR_SEAL_HEADER}`);
    expect(victimReservations()).toBe(1);
  });
});
