/**
 * `koubou gateway` as a process: it serves the OpenAI API with the keys of
 * KOUBOU_GATEWAY_KEYS, and with keys made by `koubou keys gateway create` (asked of the ledger).
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runKoubou } from './support/cli.ts';
import { ActorProcess } from './support/processes.ts';
import { startSystem, type TestSystem } from './support/system.ts';

let sys: TestSystem;
let env: Record<string, string>;

beforeAll(async () => {
  sys = await startSystem();
  env = { ...sys.nats.env, NATS_URL: sys.nats.url };
});
afterAll(async () => { await sys?.stop(); });

describe('koubou gateway', () => {
  it('serves a chat completion with one of its keys', async () => {
    const gw = new ActorProcess('gateway', ['gateway', '--port', '0'], { ...env, KOUBOU_GATEWAY_KEYS: 'kb-one, kb-two' });
    try {
      await gw.start(/gateway: http:\/\/127\.0\.0\.1:\d+\/v1/, 30_000);
      const base = /gateway: (http:\/\/127\.0\.0\.1:\d+\/v1)/.exec(gw.output)![1]!;
      expect(gw.output).toMatch(/2 from KOUBOU_GATEWAY_KEYS/);
      const client = new OpenAI({ apiKey: 'kb-two', baseURL: base, maxRetries: 0 });
      const r = await client.chat.completions.create({ model: 'koubou', messages: [{ role: 'user', content: 'fix the typo' }] });
      expect(r.choices[0]!.message.content!.length).toBeGreaterThan(0);
      expect(gw.output).not.toContain('kb-two');
    } finally {
      await gw.kill9();
    }
  }, 60_000);

  it('starts without KOUBOU_GATEWAY_KEYS and serves a key made by koubou keys gateway create', async () => {
    const gw = new ActorProcess('gateway', ['gateway', '--port', '0'], { ...env, KOUBOU_GATEWAY_KEYS: '' });
    try {
      await gw.start(/gateway: http:\/\/127\.0\.0\.1:\d+\/v1/, 30_000);
      const base = /gateway: (http:\/\/127\.0\.0\.1:\d+\/v1)/.exec(gw.output)![1]!;
      expect(gw.output).toMatch(/models koubou, koubou\/gpt5_high, koubou\/gpt5_medium, koubou\/local/);
      const made = await runKoubou(['keys', 'gateway', 'create', 'cli-test', '--db', sys.dbPath]);
      expect(made.code, made.stderr).toBe(0);
      const client = new OpenAI({ apiKey: made.stdout.trim(), baseURL: base, maxRetries: 0 });
      const r = await client.chat.completions.create({ model: 'koubou', messages: [{ role: 'user', content: 'fix the typo' }] });
      expect(r.choices[0]!.message.content!.length).toBeGreaterThan(0);
      await expect(new OpenAI({ apiKey: 'kb-never-made', baseURL: base, maxRetries: 0 }).models.list()).rejects.toMatchObject({ status: 401 });
    } finally {
      await gw.kill9();
    }
  }, 60_000);
});
