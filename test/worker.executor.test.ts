/**
 * The executor seam: an executor that makes several model calls in one attempt gets each
 * call charged once, under its own usage id; its result adds them up and may carry files and
 * a patch; the router reserves every call it may make; and it cannot make more calls than
 * the tier allows. Against the whole system on a real nats-server and SQLite.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Executor, ExecutorContext } from '../actors/worker/executors/Executor.ts';
import { buildPrompt } from '../src/context/index.ts';
import { startSystem, uniqueId, type TestSystem } from './support/system.ts';

/** Calls the model `calls` times (a draft, then revisions) and returns the last answer with a file and a patch. */
class ReviseExecutor implements Executor {
  readonly name = 'revise';
  constructor(readonly maxCalls: number, private readonly calls: number) {}

  async run(ctx: ExecutorContext) {
    const t = ctx.tierConfig;
    let messages = ctx.messages;
    let text = '';
    let model = '';
    let costUsd = 0;
    const usage = { promptTokens: 0, cachedPromptTokens: 0, completionTokens: 0, reasoningTokens: 0 };
    for (let i = 0; i < this.calls; i++) {
      const call = await ctx.call({ model: t.model, messages, reasoningEffort: t.reasoning_effort, maxOutputTokens: t.max_output_tokens });
      if (!call.ok) return call;
      text = call.result.text;
      model = call.result.model;
      costUsd += call.costUsd;
      for (const k of Object.keys(usage) as (keyof typeof usage)[]) usage[k] += call.result.usage[k];
      messages = [...messages, { role: 'assistant', content: text }, { role: 'user', content: 'revise it once more' }];
    }
    return { ok: true as const, result: { text, model, usage, costUsd, files: [{ path: 'NOTES.md', content: text }], patch: '--- /dev/null\n+++ b/NOTES.md\n@@ -0,0 +1 @@\n+notes\n' } };
  }
}

let sys: TestSystem;

beforeAll(async () => {
  sys = await startSystem({
    config: { tiers: { gpt5_medium: { max_calls_per_attempt: 3 }, gpt5_high: { max_calls_per_attempt: 3 } } },
    workers: [{ tier: 'gpt5_medium', executor: new ReviseExecutor(3, 3) }, { tier: 'gpt5_high', executor: new ReviseExecutor(2, 3) }, { tier: 'local' }],
  });
});
afterAll(async () => { await sys?.stop(); });

describe('an executor of several calls', () => {
  it('gets each call charged once under taskId:attempt:call, the result adding them up with its files and patch', async () => {
    const taskId = uniqueId('rev');
    await sys.submit({ taskId, prompt: 'refactor this module to use dependency injection' });
    const final = await sys.finalEvent(taskId, 30_000);
    expect(final).toMatchObject({ status: 'completed', tier: 'gpt5_medium' });
    const rows = await waitForRows(taskId, 3);
    expect(rows.map((r) => r.usage_id)).toEqual([`${taskId}:1:1`, `${taskId}:1:2`, `${taskId}:1:3`]);
    const total = rows.reduce((n, r) => n + r.cost_usd, 0);
    expect(final.result!.costUsd).toBeCloseTo(total, 12);
    expect(final.result!.usage!.promptTokens).toBe(rows.reduce((n, r) => n + r.prompt_tokens, 0));
    expect(final.result!.files).toEqual([{ path: 'NOTES.md', content: final.result!.text }]);
    expect(final.result!.patch).toMatch(/^\+\+\+ b\/NOTES\.md$/m);
    // The reservation covered all three calls at their worst case (the prompt the worker sends), and was settled by what they cost.
    const reservation = sys.db.prepare('SELECT amount_usd, actual_usd, status FROM budget_reservations WHERE task_id = ?').get(taskId) as { amount_usd: number; actual_usd: number; status: string };
    const tier = sys.config.tiers.gpt5_medium;
    const sent = buildPrompt({ task: { type: final.type, prompt: 'refactor this module to use dependency injection', files: [] }, tier }).promptTokens;
    const oneCall = 1.25e-6 * sent + 10e-6 * tier.max_output_tokens;
    expect(reservation.amount_usd).toBeCloseTo(3 * oneCall, 9);
    expect(reservation).toMatchObject({ status: 'settled' });
    expect(reservation.actual_usd).toBeCloseTo(total, 12);
  });

  it('cannot make more calls than the tier allows: the attempt fails, naming the limit, with the calls it made charged', async () => {
    const taskId = uniqueId('over');
    await sys.submit({ taskId, prompt: 'design a distributed, lock-free architecture with a consensus algorithm; optimise its concurrency' });
    const reason = await highTierFailure(taskId);
    expect(reason).toBe('execution failed (CALL_BUDGET_EXCEEDED)');
    const rows = await waitForRows(taskId, 2);
    expect(rows.map((r) => r.usage_id).filter((id) => id.startsWith(`${taskId}:1:`))).toEqual([`${taskId}:1:1`, `${taskId}:1:2`]);
  });
});

async function waitForRows(taskId: string, n: number): Promise<{ usage_id: string; cost_usd: number; prompt_tokens: number }[]> {
  const q = sys.db.prepare('SELECT usage_id, cost_usd, prompt_tokens FROM cost_tracking WHERE task_id = ? ORDER BY usage_id');
  for (let i = 0; i < 100; i++) {
    const rows = q.all(taskId) as { usage_id: string; cost_usd: number; prompt_tokens: number }[];
    if (rows.length >= n) return rows;
    await new Promise((r) => setTimeout(r, 50));
  }
  return q.all(taskId) as { usage_id: string; cost_usd: number; prompt_tokens: number }[];
}

/** Why the gpt5_high attempt failed (the task then falls back to gpt5_medium and completes there). */
async function highTierFailure(taskId: string): Promise<string | undefined> {
  expect(await sys.finalEvent(taskId, 30_000)).toMatchObject({ status: 'completed', tier: 'gpt5_medium' });
  const events = await sys.events(taskId);
  return events.find((e) => e.fallback?.phase === 'execution' && e.fallback.from === 'gpt5_high')?.fallback?.reason;
}
