/**
 * The task machine keeps a session's tier (task.sessionTier, set by the gateway) where it picks
 * the tier by difficulty, and leaves it only for a stated cause: a pin, sensitivity, a critical
 * budget, a rate limit, or a new ask. The routing steps are .provide() fakes.
 */
import { describe, expect, it } from 'vitest';
import { createActor, SimulatedClock, waitFor } from 'xstate';
import { taskMachine } from '../machines/index.ts';
import type { TaskInput } from '../src/core/types.ts';
import { fakeSteps, makeTask, policy, type FakeScript } from './support/taskFakes.ts';

function start(script: FakeScript, task: Partial<TaskInput>) {
  const clock = new SimulatedClock();
  const fakes = fakeSteps(script, () => clock.now());
  const actor = createActor(taskMachine.provide({ actions: fakes.actions }), { input: { task: { ...makeTask(), ...task }, policy }, clock });
  actor.start();
  return { actor, ...fakes };
}
const settled = async (script: FakeScript, task: Partial<TaskInput>) =>
  waitFor(start(script, task).actor, (s) => s.matches({ Assigned: 'AwaitingWorker' }) || s.status === 'done', { timeout: 2000 });
const routingReason = (s: Awaited<ReturnType<typeof settled>>) => s.context.trace.find((t) => t.state === 'RouteByDifficulty')?.reason;

describe("task machine: a session's tier", () => {
  it.each([
    ['low', 'gpt5_high'],
    ['high', 'gpt5_medium'],
    ['high', 'local'],
  ] as const)('keeps it whatever this turn scores (%s-difficulty turn of a %s session), and says so', async (difficulty, tier) => {
    const s = await settled({ difficulty }, { sessionTier: { tier, newAsk: false } });
    expect(s.context.tier).toBe(tier);
    expect(routingReason(s)).toBe(`kept the session's tier ${tier} (a session is routed once; this turn's difficulty ${difficulty} not used)`);
  });

  it('routes a new ask afresh by difficulty, and the reason says so', async () => {
    const s = await settled({ difficulty: 'low' }, { sessionTier: { tier: 'gpt5_high', newAsk: true } });
    expect(s.context.tier).toBe('local');
    expect(routingReason(s)).toBe('difficulty low → local; a new ask in the session: routed afresh (the session was on gpt5_high)');
  });

  it('routes afresh, saying why, when the kept tier is no longer in the fallback chain', async () => {
    const s = await settled({ difficulty: 'medium' }, { sessionTier: { tier: 'gpt4_retired', newAsk: false } });
    expect(s.context.tier).toBe('gpt5_medium');
    expect(routingReason(s)).toMatch(/; the session's tier gpt4_retired is not in the fallback chain: routed afresh$/);
  });

  it('gives way to a pinned tier', async () => {
    const s = await settled({ difficulty: 'high' }, { sessionTier: { tier: 'gpt5_high', newAsk: false }, pinnedTier: 'gpt5_medium' });
    expect(s.context.tier).toBe('gpt5_medium');
    expect(routingReason(s)).toMatch(/^pinned by the client to gpt5_medium/);
  });

  it('gives way to a confidential turn and to a critical budget', async () => {
    const secret = await settled({ sensitivity: 'confidential' }, { sessionTier: { tier: 'gpt5_high', newAsk: false } });
    expect(secret.context.tier).toBe('local');
    expect(routingReason(secret)).toBeUndefined();
    const broke = await settled({ difficulty: 'medium', budget: { critical: true } }, { sessionTier: { tier: 'gpt5_high', newAsk: false } });
    expect(broke.context.tier).toBe('local');
    expect(broke.context.trace.find((t) => t.state === 'BudgetCheck')?.reason).toBe('budget critical and difficulty medium: local to save cost');
  });

  it('falls back one step down the chain when its tier is rate limited, and records why', async () => {
    const s = await settled({ difficulty: 'low', rateLimit: { gpt5_high: [{ available: false, waitMs: 600_000 }] } }, { sessionTier: { tier: 'gpt5_high', newAsk: false } });
    expect(s.context.tier).toBe('gpt5_medium');
    expect(routingReason(s)).toMatch(/^kept the session's tier gpt5_high/);
    expect(s.context.fallbacks).toEqual([expect.objectContaining({ from: 'gpt5_high', to: 'gpt5_medium', phase: 'routing' })]);
  });
});
