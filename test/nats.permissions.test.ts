/**
 * The bus itself keeps confidential work away from cloud workers: these tests
 * connect with each role's credentials to a real nats-server started from the
 * repo's nats.conf and prove what is denied (and that the allowed path works).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { BUCKETS, connectBus, encode, LANES, STREAMS, SUBJECTS, workConsumer } from '../src/bus/index.ts';
import { ensureSessionBucket, openSessionBucket, sessionKey, SessionStore } from '../src/sessions/index.ts';
import { startNats, type TestNats } from './support/nats.ts';

let nats: TestNats;
beforeAll(async () => {
  nats = await startNats();
  await nats.setup();
  const router = await nats.connect('router');
  await new Kvm(jetstream(router)).create(BUCKETS.tasks, { history: 1 });
  await ensureSessionBucket(router);
  // A work item waiting in each lane of the local queue, and one in the high tier's.
  const js = jetstream(router);
  for (const lane of LANES) await js.publish(SUBJECTS.work('local', lane), encode({ secret: `confidential work (${lane})` }), { msgID: `perm-local-${lane}` });
  await js.publish(SUBJECTS.work('gpt5_high'), encode({ ok: 'cloud work' }), { msgID: 'perm-high' });
});
afterAll(async () => { await nats?.stop(); });

/** Resolves with the server's permission error for a subscription, or null if none came. */
async function subscriptionDenied(nc: NatsConnection, subject: string): Promise<string | null> {
  const sub = nc.subscribe(subject);
  const err = await Promise.race([
    (async () => { try { for await (const _ of sub) { /* nothing should arrive */ } return null; } catch (e) { return String(e); } })(),
    new Promise<null>((r) => setTimeout(() => r(null), 1500)),
  ]);
  sub.unsubscribe();
  return err;
}

const denied = /permission|authorization|not authorized|timeout|503|no responders/i;

/** True when pulling from the consumer delivers nothing: the request is refused or never answered. */
async function pullDelivers(pull: () => Promise<{ string(): string } | null>): Promise<boolean> {
  try {
    return (await pull()) !== null;
  } catch {
    return false;
  }
}

describe('nats.conf permissions', () => {
  it('refuses a wrong password', async () => {
    await expect(connectBus({ url: nats.url, role: 'cloud_worker', password: 'wrong' })).rejects.toThrow(/cannot connect.*as cloud_worker/);
  });

  it('lets a cloud worker pull its own tier', async () => {
    const nc = await nats.connect('cloud_worker');
    const consumer = await jetstream(nc).consumers.get(STREAMS.work, 'gpt5_high');
    const m = await consumer.next({ expires: 2000 });
    expect(m?.json()).toEqual({ ok: 'cloud work' });
    m?.ack();
  });

  it('does not let a cloud worker read the local queue by any route', async () => {
    const nc = await nats.connect('cloud_worker');
    const js = jetstream(nc);
    for (const lane of LANES) {
      const name = workConsumer('local', lane);
      await expect(js.consumers.get(STREAMS.work, name)).rejects.toThrow(denied);
      // Even a consumer handle built without asking the server cannot pull: MSG.NEXT is denied.
      const local = js.consumers.getConsumerFromInfo({ stream_name: STREAMS.work, name, config: { durable_name: name } } as never);
      expect(await pullDelivers(() => local.next({ expires: 1000 }))).toBe(false);
      expect(await subscriptionDenied(nc, SUBJECTS.work('local', lane))).toMatch(/permission/i);
    }
    // Nor learn where the LAN hosts are from the local workers' heartbeats.
    expect(await subscriptionDenied(nc, SUBJECTS.heartbeatAll)).toMatch(/permission/i);
    expect(await subscriptionDenied(nc, SUBJECTS.workAll)).toMatch(/permission/i);
    expect(await subscriptionDenied(nc, '_INBOX_local.>')).toMatch(/permission/i);
    expect(await subscriptionDenied(nc, '>')).toMatch(/permission/i);
  });

  it('does not let a cloud worker read task state or events, or manage streams', async () => {
    const nc = await nats.connect('cloud_worker');
    await expect(new Kvm(jetstream(nc)).open(BUCKETS.tasks).then((kv) => kv.get('any'))).rejects.toThrow(denied);
    await expect(jetstream(nc).consumers.get(STREAMS.events)).rejects.toThrow(denied);
    await expect(jetstreamManager(nc).then((jsm) => jsm.streams.delete(STREAMS.work))).rejects.toThrow(denied);
    expect(await subscriptionDenied(nc, SUBJECTS.taskEventAll)).toMatch(/permission/i);
  });

  it("still holds each local lane's item for a local worker, untouched by the attempts above", async () => {
    const nc = await nats.connect('local_worker');
    for (const lane of LANES) {
      const consumer = await jetstream(nc).consumers.get(STREAMS.work, workConsumer('local', lane));
      const m = await consumer.next({ expires: 2000 });
      expect(m?.json()).toEqual({ secret: `confidential work (${lane})` });
      m?.ack();
    }
  });

  it('keeps submitters, the gateway and the dashboard from pulling work or reading task state', async () => {
    for (const role of ['submitter', 'dashboard', 'gateway'] as const) {
      const nc = await nats.connect(role);
      for (const lane of LANES) {
        expect(await pullDelivers(() => jetstream(nc).consumers.get(STREAMS.work, workConsumer('local', lane)).then((c) => c.next({ expires: 1000 })))).toBe(false);
      }
      expect(await subscriptionDenied(nc, SUBJECTS.workAll)).toMatch(/permission/i);
      await expect(new Kvm(jetstream(nc)).open(BUCKETS.tasks).then((kv) => kv.get('any'))).rejects.toThrow(denied);
    }
  });

  it('lets a submitter cancel a task but not forge a worker\'s report', async () => {
    const sub = await nats.connect('submitter');
    const js = jetstream(sub);
    const ack = await js.publish(SUBJECTS.cancel('perm-c'), encode({ kind: 'cancel', taskId: 'perm-c', at: new Date().toISOString() }));
    expect(ack.seq).toBeGreaterThan(0);
    const forged = { kind: 'completed', taskId: 'perm-c', attempt: 1, result: { text: 'forged', model: 'x', workerId: 'x' }, at: new Date().toISOString() };
    await expect(js.publish(SUBJECTS.report('perm-c'), encode(forged), { timeout: 1500 })).rejects.toThrow(denied);
  });

  it('lets a submitter submit and the dashboard not', async () => {
    const sub = await nats.connect('submitter');
    const ack = await jetstream(sub).publish(SUBJECTS.submit, encode({ taskId: 'perm-t', prompt: 'x' }), { msgID: 'perm-t' });
    expect(ack.seq).toBeGreaterThan(0);
    const dash = await nats.connect('dashboard');
    await expect(jetstream(dash).publish(SUBJECTS.submit, encode({ taskId: 'perm-d', prompt: 'x' }), { timeout: 1500 })).rejects.toThrow(denied);
  });

  it("lets only the gateway read and write the gateways' session state: no other role can clear a confidential mark", async () => {
    const gateway = new SessionStore(await openSessionBucket(await nats.connect('gateway')));
    await gateway.markConfidential('env:perm-session', 'gw-perm');
    expect((await gateway.get('env:perm-session'))?.confidentialSince).toBe('gw-perm');
    for (const role of ['submitter', 'dashboard', 'cloud_worker', 'local_worker'] as const) {
      const kv = await openSessionBucket(await nats.connect(role));
      const store = new SessionStore(kv);
      await expect(store.get('env:perm-session')).rejects.toThrow(denied);
      await expect(store.markConfidential('env:perm-other', 'gw-x')).rejects.toThrow(denied);
      // Neither overwriting, deleting nor purging the record gets through.
      const key = sessionKey('env:perm-session');
      await expect(kv.put(key, new TextEncoder().encode('{"v":1}'), { timeout: 1500 })).rejects.toThrow(denied);
      await expect(kv.delete(key, { timeout: 1500 } as never)).rejects.toThrow(denied);
      await expect(kv.purge(key, { timeout: 1500 } as never)).rejects.toThrow(denied);
    }
    expect((await gateway.get('env:perm-session'))?.confidentialSince).toBe('gw-perm');
  }, 60_000);

  it('lets only the gateway submit on its door subject, by any route a client has', async () => {
    const door = SUBJECTS.doorSubmit('gateway');
    const gw = jetstream(await nats.connect('gateway'));
    expect((await gw.publish(door, encode({ taskId: 'perm-g', prompt: 'x' }), { msgID: 'perm-g' })).seq).toBeGreaterThan(0);
    // Nor can it publish a worker's report (it records the tasks it routes itself: see the next test).
    await expect(gw.publish(SUBJECTS.report('perm-g'), encode({ kind: 'completed' }), { timeout: 1500 })).rejects.toThrow(denied);
    for (const role of ['submitter', 'dashboard', 'cloud_worker', 'local_worker'] as const) {
      const nc = await nats.connect(role);
      await expect(jetstream(nc).publish(door, encode({ taskId: `perm-${role}`, prompt: 'x' }), { timeout: 1500 })).rejects.toThrow(denied);
      await expect(jetstream(nc).publish(SUBJECTS.doorSubmitAll.replace('*', 'mcp'), encode({ taskId: `perm-${role}-2`, prompt: 'x' }), { timeout: 1500 })).rejects.toThrow(denied);
    }
    // Nor have JetStream write there for it: no stream of its own to republish or source from,
    // no change to the submission stream's subjects, no KV bucket.
    const sub = await nats.connect('submitter');
    const jsm = await jetstreamManager(sub);
    await expect(jsm.streams.add({ name: 'PERM_REPUBLISH', subjects: ['perm.evil.>'], republish: { src: 'perm.evil.>', dest: door } })).rejects.toThrow(denied);
    await expect(jsm.streams.add({ name: 'PERM_SOURCE', sources: [{ name: STREAMS.events }] })).rejects.toThrow(denied);
    await expect(jsm.streams.update(STREAMS.submit, { subjects: [SUBJECTS.submit, SUBJECTS.doorSubmitAll, 'perm.>'] })).rejects.toThrow(denied);
    await expect(new Kvm(jetstream(sub)).create('perm_evil')).rejects.toThrow(denied);
    // Nor echo onto it, or onto a worker's report subject, what it wrote in the workspace bucket:
    // a direct get answers with the stored bytes on any reply subject, and is not a submitter's.
    await expect(sub.request('$JS.API.DIRECT.GET.OBJ_koubou_ws', encode({ last_by_subj: '$O.koubou_ws.C.x' }), { timeout: 1500 })).rejects.toThrow(denied);
    const local = await nats.connect('local_worker');
    await expect(local.request('$JS.API.DIRECT.GET.OBJ_koubou_ws', encode({ last_by_subj: '$O.koubou_ws.C.x' }), { timeout: 1500 })).rejects.toThrow(denied);
    const admin = await jetstreamManager(await nats.connect('router'));
    expect((await admin.streams.info(STREAMS.submit, { subjects_filter: 'koubou.task.submit.door.>' })).state.subjects).toEqual({ [door]: 1 });
  });

  it('lets only the gateway lease and return budget slices', async () => {
    // A stand-in for the ledger (a service role): the gateway's request must reach it and be answered.
    const service = await nats.connect('router');
    const sub = service.subscribe('koubou.ledger.slice.>', { callback: (_e, m) => { m.respond(encode({ ok: m.subject })); } });
    await service.flush();
    const gw = await nats.connect('gateway');
    for (const subject of [SUBJECTS.sliceLease, SUBJECTS.sliceReturn]) expect((await gw.request(subject, encode({}), { timeout: 3000 })).json()).toEqual({ ok: subject });
    for (const role of ['submitter', 'dashboard', 'mcp', 'cloud_worker', 'local_worker'] as const) {
      const nc = await nats.connect(role);
      for (const subject of [SUBJECTS.sliceLease, SUBJECTS.sliceReturn]) await expect(nc.request(subject, encode({}), { timeout: 1500 })).rejects.toThrow(denied);
    }
    sub.unsubscribe();
  });

  it('lets the gateway write what its interactive path records, as a router and a cloud worker do, and no submitter', async () => {
    const gw = await nats.connect('gateway');
    const js = jetstream(gw);
    const event = encode({ events: [] });
    expect((await js.publish(SUBJECTS.taskEvent('perm-i'), event, { msgID: 'perm-i-evt' })).seq).toBeGreaterThan(0);
    expect((await js.publish(SUBJECTS.usage, encode({}), { msgID: 'perm-i-usage' })).seq).toBeGreaterThan(0);
    expect((await js.publish(SUBJECTS.work('gpt5_high'), encode({}), { msgID: 'perm-i-work' })).seq).toBeGreaterThan(0);
    const tasks = await new Kvm(js).open(BUCKETS.tasks, { allow_direct: false });
    expect(await tasks.create('perm-i', encode({ v: 1 }))).toBeGreaterThan(0);
    const sub = jetstream(await nats.connect('submitter'));
    await expect(sub.publish(SUBJECTS.taskEvent('perm-s'), event, { timeout: 1500 })).rejects.toThrow(denied);
    await expect(sub.publish(SUBJECTS.usage, encode({}), { timeout: 1500 })).rejects.toThrow(denied);
    await expect(sub.publish(SUBJECTS.work('gpt5_high'), encode({}), { timeout: 1500 })).rejects.toThrow(denied);
    // The work item and the event are not tasks anyone runs: a worker would refuse them, and no router knows perm-i.
    const admin = await jetstreamManager(await nats.connect('router'));
    await admin.streams.purge(STREAMS.work, { filter: SUBJECTS.work('gpt5_high') });
  });

  it('lets only koubou mcp submit on its own door subject, and not on the gateway\'s', async () => {
    const door = SUBJECTS.doorSubmit('mcp');
    const mcp = jetstream(await nats.connect('mcp'));
    expect((await mcp.publish(door, encode({ taskId: 'perm-m', prompt: 'x' }), { msgID: 'perm-m' })).seq).toBeGreaterThan(0);
    await expect(mcp.publish(SUBJECTS.doorSubmit('gateway'), encode({ taskId: 'perm-m2', prompt: 'x' }), { timeout: 1500 })).rejects.toThrow(denied);
    await expect(mcp.publish(SUBJECTS.report('perm-m'), encode({ kind: 'completed' }), { timeout: 1500 })).rejects.toThrow(denied);
    for (const role of ['submitter', 'gateway', 'dashboard', 'cloud_worker', 'local_worker'] as const) {
      const nc = await nats.connect(role);
      await expect(jetstream(nc).publish(door, encode({ taskId: `perm-m-${role}`, prompt: 'x' }), { timeout: 1500 })).rejects.toThrow(denied);
    }
  });
});
