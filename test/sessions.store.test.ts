/**
 * The gateways' session store on a real nats-server from the repo's nats.conf, each store on
 * its own connection as role `gateway` (two gateways): marks and token counts are shared,
 * writes racing on one key lose nothing, and the bucket is made as documented.
 */
import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUCKETS } from '../src/bus/index.ts';
import { ensureSessionBucket, openSessionBucket, SESSION_MAX_BYTES, SESSION_TTL_MS, sessionKey, SessionStore } from '../src/sessions/index.ts';
import { startNats, type TestNats } from './support/nats.ts';
import { uniqueId } from './support/util.ts';

let nats: TestNats;
let a: SessionStore;
let b: SessionStore;

beforeAll(async () => {
  nats = await startNats();
  await ensureSessionBucket(await nats.connect('router'));
  a = new SessionStore(await openSessionBucket(await nats.connect('gateway')));
  b = new SessionStore(await openSessionBucket(await nats.connect('gateway')));
});
afterAll(async () => { await nats?.stop(); });

describe('the session store (KV koubou_sessions)', () => {
  it('is a bucket of one value per key, kept a month, bounded in size', async () => {
    const info = await (await jetstreamManager(await nats.connect('router'))).streams.info(`KV_${BUCKETS.sessions}`);
    expect(info.config).toMatchObject({ max_msgs_per_subject: 1, max_age: SESSION_TTL_MS * 1e6, max_bytes: SESSION_MAX_BYTES, num_replicas: 1 });
  });

  it('shares a mark between two gateways, and keeps the first', async () => {
    const session = uniqueId('env:thread');
    expect(await b.get(session)).toBeNull();
    expect(await a.markConfidential(session, 'gw-first')).toBe('gw-first');
    expect((await b.get(session))?.confidentialSince).toBe('gw-first');
    expect(await b.markConfidential(session, 'gw-second')).toBe('gw-first');
    expect((await a.get(session))?.confidentialSince).toBe('gw-first');
  });

  it('never loses a mark to other writes racing on the same key', async () => {
    const session = uniqueId('env:race');
    const tierWrites = Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).update(session, () => ({ tier: i % 3 ? 'gpt5_medium' : 'gpt5_high', tierReason: `write ${i}` })));
    const marks = [a.markConfidential(session, 'gw-mark-a'), b.markConfidential(session, 'gw-mark-b')];
    const [since1, since2] = await Promise.all(marks);
    const written = await Promise.all(tierWrites);
    // One mark won, both gateways were told the same one, and every later write kept it.
    expect(since1).toBe(since2);
    expect(['gw-mark-a', 'gw-mark-b']).toContain(since1);
    expect(written.every((r) => r?.tier)).toBe(true);
    const record = await a.get(session);
    expect(record).toMatchObject({ v: 1, confidentialSince: since1, tier: expect.stringMatching(/^gpt5_/) });
  });

  it("writes a marked session again once a day, so a session in use never times out, keeping its first mark", async () => {
    const session = uniqueId('env:old');
    const kv = await openSessionBucket(await nats.connect('gateway'));
    const dayAndMore = new Date(Date.now() - 25 * 3600 * 1000).toISOString();
    await kv.create(sessionKey(session), new TextEncoder().encode(JSON.stringify({ v: 1, confidentialSince: 'gw-old', confidentialAt: dayAndMore, updatedAt: dayAndMore })));
    const before = (await kv.get(sessionKey(session)))!.revision;
    expect(await a.markConfidential(session, 'gw-new')).toBe('gw-old');
    const after = await kv.get(sessionKey(session));
    expect(after!.revision).toBeGreaterThan(before);
    expect(after!.json()).toMatchObject({ confidentialSince: 'gw-old', confidentialAt: dayAndMore });
    // Fresh now: the next turn does not write.
    await b.markConfidential(session, 'gw-newer');
    expect((await kv.get(sessionKey(session)))!.revision).toBe(after!.revision);
  });

  it('lets no update clear or move the mark', async () => {
    const session = uniqueId('env:keep');
    await a.markConfidential(session, 'gw-kept');
    await b.update(session, () => ({ tier: 'local', confidentialSince: undefined, confidentialAt: undefined } as never));
    await b.update(session, () => ({ confidentialSince: 'gw-other' } as never));
    expect(await a.get(session)).toMatchObject({ confidentialSince: 'gw-kept', tier: 'local' });
  });

  it('adds up token counts from two gateways exactly', async () => {
    const parent = uniqueId('agent');
    const adds = Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).addTokens(parent, i + 1));
    const totals = await Promise.all(adds);
    const sum = (40 * 41) / 2;
    expect(await a.tokens(parent)).toBe(sum);
    expect(await b.tokens(parent)).toBe(sum);
    // Each add saw its own total: 40 distinct running sums, the largest the sum.
    expect(new Set(totals).size).toBe(40);
    expect(Math.max(...totals)).toBe(sum);
    expect(await a.tokens(uniqueId('none'))).toBe(0);
  });

  it('keeps a parent that is not a task id under a digest, and refuses a bad count', async () => {
    const odd = `agent with spaces ${uniqueId('x')}`;
    expect(await a.addTokens(odd, 7)).toBe(7);
    expect(await b.tokens(odd)).toBe(7);
    await expect(a.addTokens('p', -1)).rejects.toMatchObject({ code: 'SESSION_STORE_INPUT' });
  });
});
