/**
 * `koubou gateway` on the interactive path, killed with requests in flight: what its clients were
 * told succeeded is recorded and charged once, what was in flight leaves nothing half-told, and
 * the budget slice it held is settled by the ledger when its lease and grace have passed. A
 * gateway stopped cleanly gives its slices back at once.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getBudgetStatus } from '../src/db/index.ts';
import { startSimServer, type SimServer } from '../src/llm/sim/index.ts';
import { ActorProcess } from './support/processes.ts';
import { startSystem, type TestSystem } from './support/system.ts';
import { until } from './support/util.ts';

const KEY = 'kb-test-gateway-crash';
const TTL_S = 2;
let sys: TestSystem;
let sim: SimServer;
let env: Record<string, string>;
let configFile: string;

beforeAll(async () => {
  // Every call takes 400 ms at the simulated provider: long enough to be killed in the middle of.
  sim = await startSimServer({ latencyMs: 400 });
  const unlimited = { rpm: null, tpm: null };
  sys = await startSystem({ config: { tiers: { gpt5_high: unlimited, gpt5_medium: unlimited } }, slices: { graceMs: 500, sweepMs: 250 } });
  configFile = join(mkdtempSync(join(tmpdir(), 'koubou-gw-crash-')), 'koubou.yaml');
  writeFileSync(configFile, ['tiers:', ...['gpt5_high', 'gpt5_medium'].map((t) => `  ${t}: { provider: sim, base_url: "${sim.url}/v1", model: gpt-5, rpm: null, tpm: null }`)].join('\n'));
  env = { ...sys.nats.env, NATS_URL: sys.nats.url, KOUBOU_GATEWAY_KEYS: KEY, KOUBOU_DB: sys.dbPath };
}, 60_000);
afterAll(async () => {
  await sys?.stop();
  await sim?.close();
});

async function startGateway(): Promise<{ gw: ActorProcess; client: OpenAI }> {
  const gw = await new ActorProcess('gateway', ['--config', configFile, 'gateway', '--port', '0', '--slice-ttl', String(TTL_S)], env)
    .start(/gateway: http:\/\/127\.0\.0\.1:\d+\/v1/, 30_000);
  expect(gw.output).toMatch(/gateway: gpt5_medium: called from here/);
  const base = /gateway: (http:\/\/127\.0\.0\.1:\d+\/v1)/.exec(gw.output)![1]!;
  return { gw, client: new OpenAI({ apiKey: KEY, baseURL: base, maxRetries: 0 }) };
}

const ask = (client: OpenAI, i: number) => client.chat.completions
  .create({ model: 'koubou/gpt5_medium', messages: [{ role: 'user', content: `rename the variable in loop ${i}` }] })
  .withResponse();

/** The gateway's slices as the ledger holds them. */
const slicesOf = (holderPid: number) => sys.db.prepare(
  "SELECT reservation_id AS id, status, amount_usd AS amountUsd, actual_usd AS actualUsd FROM budget_reservations WHERE kind = 'slice' AND holder LIKE ?",
).all(`%-${holderPid}`) as { id: string; status: string; amountUsd: number; actualUsd: number | null }[];

describe('a gateway killed with requests in flight', () => {
  it('has recorded and charged once what it answered, recorded nothing of what was in flight, and its slice is settled by the ledger', async () => {
    const { gw, client } = await startGateway();
    const answered: string[] = [];
    for (let i = 0; i < 3; i++) answered.push((await ask(client, i)).response.headers.get('x-koubou-task-id')!);
    const pid = gw.pid!;
    const inFlight = Array.from({ length: 6 }, (_, i) => ask(client, 100 + i).then(() => 'answered', () => 'lost'));
    // Their calls are at the provider now (400 ms each).
    await until(() => sim.stats.log.length >= 3 + 6);
    await gw.kill9();
    expect(await Promise.all(inFlight)).toEqual(Array(6).fill('lost'));

    // What the clients were told succeeded: completed, one usage each, within a reservation.
    const tasks = sys.db.prepare("SELECT task_id AS id, status FROM task_master WHERE task_id LIKE 'gw-%'").all() as { id: string; status: string }[];
    expect(tasks.map((t) => t.id).sort()).toEqual([...answered].sort());
    expect(tasks.every((t) => t.status === 'completed')).toBe(true);
    for (const id of answered) {
      expect(sys.db.prepare('SELECT COUNT(*) AS n FROM cost_tracking WHERE task_id = ?').get(id)).toEqual({ n: 1 });
    }
    expect(sys.db.prepare('SELECT COUNT(*) AS n FROM unreserved_usage').get()).toEqual({ n: 0 });

    // Its slices still hold money for it; once their lease and the grace are over, the ledger
    // closes them: what its calls were charged stays spent, the rest is free again.
    expect(slicesOf(pid).some((sl) => sl.status === 'active')).toBe(true);
    const month = () => getBudgetStatus(sys.db, new Date().toISOString().slice(0, 7))!;
    expect(month().reservedUsd).toBeGreaterThan(0);
    await until(() => slicesOf(pid).every((sl) => sl.status !== 'active'), 20_000);
    const charged = sys.db.prepare(`SELECT SUM(cost_usd) AS usd FROM cost_tracking WHERE task_id IN (${answered.map(() => '?').join(',')})`).get(...answered) as { usd: number };
    expect(slicesOf(pid).reduce((sum, sl) => sum + (sl.actualUsd ?? 0), 0)).toBeCloseTo(charged.usd, 9);
    expect(slicesOf(pid).every((sl) => sl.status === (sl.actualUsd ? 'settled' : 'released'))).toBe(true);
    expect(month().reservedUsd).toBeCloseTo(0, 9);

    // Another gateway serves at once, from a slice of its own.
    const again = await startGateway();
    try {
      const { data } = await ask(again.client, 200);
      expect(data.choices[0]!.message.content).toBeTruthy();
    } finally {
      await again.gw.kill9();
    }
  }, 90_000);

  it('cancels the task of a client that goes away mid-call, records it, and charges nothing', async () => {
    const { gw, client } = await startGateway();
    try {
      const abort = new AbortController();
      const calls = sim.stats.log.length;
      const lost = client.chat.completions.create({ model: 'koubou/gpt5_medium', messages: [{ role: 'user', content: 'rename the loop variable' }] }, { signal: abort.signal })
        .withResponse().then(() => 'answered', () => 'lost');
      await until(() => sim.stats.log.length > calls);
      abort.abort();
      expect(await lost).toBe('lost');
      const row = await until(() => sys.db.prepare(
        "SELECT task_id AS id, status FROM task_master WHERE status = 'cancelled' AND task_id LIKE 'gw-%'",
      ).get() as { id: string; status: string } | undefined);
      expect(sys.db.prepare('SELECT COUNT(*) AS n FROM cost_tracking WHERE task_id = ?').get(row.id)).toEqual({ n: 0 });
    } finally {
      await gw.kill9();
    }
  }, 60_000);

  it('gives its slices back at once when stopped cleanly', async () => {
    const { gw, client } = await startGateway();
    await ask(client, 300);
    const pid = gw.pid!;
    expect(slicesOf(pid).map((s) => s.status)).toEqual(['active']);
    await gw.stop();
    await until(() => slicesOf(pid).every((s) => s.status !== 'active'), 5_000);
  }, 60_000);
});
