/**
 * A session is routed once, on a real gateway, router, workers and nats-server: its tier is
 * chosen at its first turn, kept in the session's KV record through a gateway restart, and left
 * only for a stated cause (a pin, a confidential turn, a new ask, a rate limit), each with its
 * reason. Side requests are neither held to it nor change it.
 */
import { createHash } from 'node:crypto';
import OpenAI from 'openai';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Gateway, keyDigest } from '../actors/gateway/index.ts';
import { recordUsage } from '../src/db/index.ts';
import { openSessionBucket, SessionStore } from '../src/sessions/index.ts';
import { startSystem, uniqueId, type TestSystem } from './support/system.ts';

const KEY = 'kb-test-gateway-session-tier';
/** A password made at run time, never a literal of the repository. */
const SECRET = `Q${createHash('sha256').update('gateway.sessionTier secret').digest('hex').slice(0, 20)}x`;
const EASY = 'fix a typo in README.md';
const MEDIUM = 'add an endpoint that returns the 10 most recent orders for a customer';
const HARD = 'design a distributed, lock-free architecture for the deploy service with concurrent writers and a migration plan';

type Msg = { role: 'user' | 'assistant' | 'system'; content: string };
type Client = { client: OpenAI; gateway: Gateway; nc: NatsConnection };

function suite(name: string, config: Record<string, unknown>) {
  let sys: TestSystem;
  const running: Client[] = [];
  beforeAll(async () => { sys = await startSystem({ config }); }, 60_000);
  afterAll(async () => {
    for (const { gateway } of running) await gateway.stop();
    await sys?.stop();
  });
  const startGateway = async (): Promise<Client> => {
    const { nc, doorKey } = await sys.nats.gatewayBus();
    const gateway = new Gateway({ nc, doorKey, keyDigests: [keyDigest(KEY)], port: 0 });
    const { url } = await gateway.start();
    const started = { client: new OpenAI({ apiKey: KEY, baseURL: `${url}/v1`, maxRetries: 0 }), gateway, nc };
    running.push(started);
    return started;
  };
  /** One turn: its tier, fallbacks and routing reason. */
  const turn = async (gw: Client, headers: Record<string, string>, messages: Msg[], model = 'koubou') => {
    const r = await gw.client.chat.completions.create({ model, messages }, { headers }).withResponse();
    const taskId = r.response.headers.get('x-koubou-task-id')!;
    const events = await sys.events(taskId);
    return {
      tier: r.response.headers.get('x-koubou-tier'), fallbacks: r.response.headers.get('x-koubou-fallbacks'),
      reason: (state: string) => events.find((e) => e.state === state)?.reason,
    };
  };
  return { name, sys: () => sys, startGateway, turn };
}

describe('a session is routed once', () => {
  const s = suite('session tier', {});
  let gw: Client;
  beforeAll(async () => { gw = await s.startGateway(); }, 60_000);

  it('keeps its first tier for a turn that would score differently, across a gateway restart (Claude Code session header)', async () => {
    const headers = { 'x-claude-code-session-id': uniqueId('cc-session') };
    const first = await s.startGateway();
    const t1 = await s.turn(first, headers, [{ role: 'user', content: EASY }]);
    expect(t1.tier).toBe('local');
    // The gateway goes away: the tier lives on the bus.
    await first.gateway.stop();
    await first.nc.close();
    const later: Msg[] = [{ role: 'user', content: EASY }, { role: 'assistant', content: 'Fixed.' }, { role: 'user', content: HARD }];
    const second = await s.startGateway();
    const t2 = await s.turn(second, headers, later);
    expect(t2.tier).toBe('local');
    expect(t2.reason('RouteByDifficulty')).toMatch(/^kept the session's tier local \(a session is routed once; this turn's difficulty (high|medium) not used\)$/);
    // The same turn outside the session scores higher: the kept tier is what held it.
    const fresh = await s.turn(second, { 'x-koubou-session': uniqueId('other') }, later);
    expect(fresh.tier).not.toBe('local');
  }, 60_000);

  it('routes a new ask afresh, and keeps the new tier from then on', async () => {
    const headers = { 'x-koubou-session': uniqueId('session') };
    expect((await s.turn(gw, headers, [{ role: 'user', content: EASY }])).tier).toBe('local');
    const next = await s.turn(gw, headers, [{ role: 'user', content: HARD }]);
    expect(next.tier).not.toBe('local');
    expect(next.reason('RouteByDifficulty')).toMatch(/; a new ask in the session: routed afresh \(the session was on local\)$/);
    const after = await s.turn(gw, headers, [{ role: 'user', content: HARD }, { role: 'assistant', content: 'Plan drafted.' }, { role: 'user', content: 'thanks' }]);
    expect(after.tier).toBe(next.tier);
    expect(after.reason('RouteByDifficulty')).toMatch(/^kept the session's tier/);
  }, 60_000);

  it('gives way to a pin for that turn only, and lets side requests go their own way without changing it', async () => {
    const headers = { 'x-koubou-session': uniqueId('session') };
    const hard = await s.turn(gw, headers, [{ role: 'user', content: HARD }]);
    expect(hard.tier).not.toBe('local');
    const pinned = await s.turn(gw, headers, [{ role: 'user', content: HARD }], 'koubou/local');
    expect(pinned.tier).toBe('local');
    expect(pinned.reason('RouteByDifficulty')).toMatch(/^pinned by the client to local/);
    const title = await s.turn(gw, headers, [{ role: 'system', content: 'You are a title generator. Reply with a title only.' }, { role: 'user', content: HARD }]);
    expect(title.tier).toBe('local');
    expect(title.reason('RouteByDifficulty')).not.toMatch(/session/);
    const back = await s.turn(gw, headers, [{ role: 'user', content: HARD }, { role: 'assistant', content: 'Working on it.' }, { role: 'user', content: 'go on' }]);
    expect(back.tier).toBe(hard.tier);
    expect(back.reason('RouteByDifficulty')).toMatch(/^kept the session's tier/);
  }, 60_000);

  it('turns local for good when a turn is confidential', async () => {
    const headers = { 'x-koubou-session': uniqueId('session') };
    expect((await s.turn(gw, headers, [{ role: 'user', content: HARD }])).tier).not.toBe('local');
    const secret = await s.turn(gw, headers, [{ role: 'user', content: HARD }, { role: 'user', content: `DB_PASSWORD=${SECRET}` }]);
    expect(secret.tier).toBe('local');
    expect(secret.reason('AnalyzeSensitivity')).toMatch(/^confidential/);
    const next = await s.turn(gw, headers, [{ role: 'user', content: HARD }, { role: 'assistant', content: 'Noted.' }, { role: 'user', content: 'carry on' }]);
    expect(next.tier).toBe('local');
    expect(next.reason('AnalyzeSensitivity')).toMatch(/^confidential session/);
  }, 60_000);
});

describe('a session on a rate-limited tier', () => {
  // One request a minute on gpt5_high, and no waiting for it: a second turn falls back at once.
  const s = suite('rate limit', { tiers: { gpt5_high: { rpm: 1 } }, routing: { max_rate_limit_wait_seconds: 0 } });

  it('moves one turn down the fallback chain, and returns to its tier when the window allows', async () => {
    const gw = await s.startGateway();
    const headers = { 'x-koubou-session': uniqueId('session') };
    expect((await s.turn(gw, headers, [{ role: 'user', content: HARD }])).tier).toBe('gpt5_high');
    const limited = await s.turn(gw, headers, [{ role: 'user', content: HARD }, { role: 'assistant', content: 'Plan drafted.' }, { role: 'user', content: 'go on' }]);
    expect(limited.tier).toBe('gpt5_medium');
    expect(limited.fallbacks).toBe('gpt5_high>gpt5_medium');
    expect(limited.reason('RouteByDifficulty')).toMatch(/^kept the session's tier gpt5_high/);
    // The window opens again (the router's shared window for the tier is cleared).
    const kv = await new Kvm(await s.sys().nats.connect('router')).open('koubou_ratelimits');
    await kv.purge('gpt5_high');
    const back = await s.turn(gw, headers, [{ role: 'user', content: HARD }, { role: 'assistant', content: 'Plan drafted.' }, { role: 'user', content: 'go on' }, { role: 'assistant', content: 'Done.' }, { role: 'user', content: 'and the tests' }]);
    expect(back.tier).toBe('gpt5_high');
    expect(back.fallbacks).toBe('');
  }, 60_000);
});

describe('a session when the budget turns critical', () => {
  const s = suite('budget', {});

  it('sends a turn that is not high difficulty local, saying why, and keeps the tier for when the budget allows', async () => {
    const gw = await s.startGateway();
    const headers = { 'x-koubou-session': uniqueId('session') };
    const ask: Msg[] = [{ role: 'user', content: MEDIUM }];
    expect((await s.turn(gw, headers, ask)).tier).toBe('gpt5_medium');
    // 90% of the month's budget spent (in the real ledger file): past the 80% threshold.
    const { budget } = s.sys().config;
    recordUsage(s.sys().db, {
      usageId: uniqueId('spend'), taskId: null, tier: 'gpt5_high', model: 'gpt-5', promptTokens: 1, cachedPromptTokens: 0, completionTokens: 1, reasoningTokens: 0, costUsd: budget.monthly_usd * 0.9,
    }, { monthlyLimitUsd: budget.monthly_usd, alertThresholdPercent: budget.alert_threshold_percent });
    const critical = await s.turn(gw, headers, [...ask, { role: 'assistant', content: 'Which table?' }, { role: 'user', content: 'the orders table' }]);
    expect(critical.tier).toBe('local');
    expect(critical.reason('BudgetCheck')).toBe('budget critical and difficulty medium: local to save cost');
    const store = new SessionStore(await openSessionBucket(await s.sys().nats.connect('gateway')));
    expect(await store.get(`env:${headers['x-koubou-session']}`)).toMatchObject({ tier: 'gpt5_medium', tierReason: expect.stringMatching(/^difficulty medium → gpt5_medium/) });
  }, 60_000);
});
