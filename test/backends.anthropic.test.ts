/**
 * A cloud tier of Claude models (backend kind `anthropic`) through the whole system: a worker
 * whose provider is the Anthropic SDK talks to the Messages face of `koubou sim` over HTTP
 * (`--sim` on an anthropic tier speaks its kind's face). Hard work runs there and is charged
 * as the sim counted it; Anthropic's rate-limit headers reach the routers as koubou's signal
 * (the `x-ratelimit-*` set), and a 429 falls back to the next tier.
 */
import { readFileSync } from 'node:fs';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { SUBJECTS, type RateLimitSignal } from '../src/bus/index.ts';
import { startSimServer, type SimServer } from '../src/llm/sim/index.ts';
import { startSystem, uniqueId, type TestSystem } from './support/system.ts';

let sys: TestSystem;
let claude: SimServer;
let openai: SimServer;
let local: SimServer;
let watcher: NatsConnection;
const signals: RateLimitSignal[] = [];

/** The README's anthropic tier, as written: a tier of Claude models ahead of the GPT-5 tiers, hard work starting there. */
function readmeConfig(): Record<string, unknown> {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const block = /<!-- anthropic-tier[^>]*-->\n```yaml\n([\s\S]*?)```/.exec(readme)?.[1];
  if (!block) throw new Error('README.md has no anthropic-tier block');
  return parse(block) as Record<string, unknown>;
}

beforeAll(async () => {
  claude = await startSimServer({ rateLimit: { rpm: 100 } });
  openai = await startSimServer();
  local = await startSimServer();
  sys = await startSystem({
    config: readmeConfig(),
    workers: [{ tier: 'claude', sim: claude }, { tier: 'gpt5_high', sim: openai }, { tier: 'gpt5_medium', sim: openai }, { tier: 'local', sim: local }],
  });
  watcher = await sys.nats.connect('router');
  watcher.subscribe(SUBJECTS.rateLimit('claude'), { callback: (err, m) => { if (!err) signals.push(m.json<RateLimitSignal>()); } });
  await watcher.flush();
}, 60_000);
afterAll(async () => {
  await sys?.stop();
  await Promise.all([claude, openai, local].map((s) => s?.close()));
});

const charge = (taskId: string) => sys.db.prepare('SELECT worker_type, prompt_tokens, completion_tokens, cost_usd FROM cost_tracking WHERE task_id = ?')
  .get(taskId) as { worker_type: string; prompt_tokens: number; completion_tokens: number; cost_usd: number } | undefined;

describe('an anthropic tier', () => {
  it('runs hard work through the Messages API, charged as the backend counted it, its rate-limit headers on the bus as koubou\'s signal', async () => {
    const taskId = uniqueId('claude');
    await sys.submit({ taskId, prompt: 'design a lock-free concurrent queue algorithm' });
    const final = await sys.finalEvent(taskId, 30_000);
    expect(final).toMatchObject({ status: 'completed', tier: 'claude' });
    expect(final.result!.text).toContain('[simulated claude-sonnet-4-5]');
    const call = claude.stats.log.filter((r) => r.path === '/v1/messages').at(-1)!;
    expect(call).toMatchObject({ protocol: 'anthropic', status: 200 });
    let row = charge(taskId);
    for (let i = 0; i < 50 && !row; i++) { await new Promise((r) => setTimeout(r, 100)); row = charge(taskId); }
    expect(row).toMatchObject({ worker_type: 'claude', prompt_tokens: final.result!.usage!.promptTokens, completion_tokens: final.result!.usage!.completionTokens });
    expect(row!.cost_usd).toBeGreaterThan(0);
    for (let i = 0; i < 50 && !signals.some((s) => s.status === 200); i++) await new Promise((r) => setTimeout(r, 100));
    expect(signals.find((s) => s.status === 200)!.headers).toMatchObject({ 'x-ratelimit-limit-requests': '100', 'x-ratelimit-remaining-requests': '99', 'x-ratelimit-reset-requests': expect.stringMatching(/^\d+ms$/) });
  }, 60_000);

  it('falls back to the next tier on Anthropic\'s 429, whose headers reach the routers: the next hard task does not call the tier', async () => {
    claude.setOptions({ inject: [{ status: 429, retryAfterMs: 30_000 }] });
    const taskId = uniqueId('claude');
    await sys.submit({ taskId, prompt: 'design a distributed consensus algorithm for the scheduler' });
    expect(await sys.finalEvent(taskId, 30_000)).toMatchObject({ status: 'completed', tier: 'gpt5_high' });
    expect((await sys.events(taskId)).find((e) => e.fallback)?.fallback).toMatchObject({ from: 'claude', to: 'gpt5_high', reason: expect.stringMatching(/RATE_LIMITED|rate limited/) });
    expect(claude.stats.faultsInjected).toBe(1);
    for (let i = 0; i < 50 && !signals.some((s) => s.status === 429); i++) await new Promise((r) => setTimeout(r, 100));
    expect(signals.find((s) => s.status === 429)!.headers).toMatchObject({ 'retry-after': '30', 'x-ratelimit-limit-requests': '100' });

    const calls = claude.stats.chatRequests;
    const next = uniqueId('claude');
    await sys.submit({ taskId: next, prompt: 'design a scalable, distributed architecture for the queue' });
    expect(await sys.finalEvent(next, 30_000)).toMatchObject({ status: 'completed', tier: 'gpt5_high' });
    expect((await sys.events(next)).find((e) => e.fallback)?.fallback).toMatchObject({ from: 'claude', phase: 'routing' });
    expect(claude.stats.chatRequests).toBe(calls);
  }, 60_000);
});
