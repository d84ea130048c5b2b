/**
 * `koubou gateway` as a process: it serves the OpenAI API with the keys of
 * KOUBOU_GATEWAY_KEYS, and refuses to start without any (exit 2, naming the variable).
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
      expect(gw.output).toMatch(/2 keys/);
      const client = new OpenAI({ apiKey: 'kb-two', baseURL: base, maxRetries: 0 });
      const r = await client.chat.completions.create({ model: 'koubou', messages: [{ role: 'user', content: 'fix the typo' }] });
      expect(r.choices[0]!.message.content!.length).toBeGreaterThan(0);
      expect(gw.output).not.toContain('kb-two');
    } finally {
      await gw.kill9();
    }
  }, 60_000);

  it('refuses to start without keys, naming the variable', async () => {
    const r = await runKoubou(['gateway', '--port', '0'], { env: { ...env, KOUBOU_GATEWAY_KEYS: '' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/KOUBOU_GATEWAY_KEYS is empty/);
  }, 30_000);
});
