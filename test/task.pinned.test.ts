import { describe, expect, it } from 'vitest';
import { createActor, SimulatedClock, waitFor } from 'xstate';
import { taskMachine } from '../machines/index.ts';
import type { TaskInput } from '../src/core/types.ts';
import { fakeSteps, makeTask, policy, type FakeScript } from './support/taskFakes.ts';

function start(script: FakeScript, task: Partial<TaskInput>) {
  const clock = new SimulatedClock();
  const fakes = fakeSteps(script, () => clock.now());
  const machine = taskMachine.provide({ actions: fakes.actions });
  const actor = createActor(machine, { input: { task: { ...makeTask(), ...task }, policy }, clock });
  actor.start();
  return { actor, ...fakes };
}
const settled = (actor: ReturnType<typeof start>['actor']) =>
  waitFor(actor, (s) => s.matches({ Assigned: 'AwaitingWorker' }) || s.status === 'done', { timeout: 2000 });

describe('task machine: a tier pinned by the client', () => {
  it.each([
    ['low', 'gpt5_high'],
    ['high', 'gpt5_medium'],
    ['high', 'local'],
  ] as const)('routes %s-difficulty work pinned to %s there, and says so', async (difficulty, pinnedTier) => {
    const { actor } = start({ difficulty }, { pinnedTier });
    const s = await settled(actor);
    expect(s.context.tier).toBe(pinnedTier);
    expect(s.context.trace.find((t) => t.state === 'RouteByDifficulty')?.reason).toBe(`pinned by the client to ${pinnedTier} (difficulty ${difficulty} not used)`);
  });

  it('is overruled by sensitivity: confidential work pinned to gpt5_high runs locally', async () => {
    const { actor, log } = start({ sensitivity: 'confidential' }, { pinnedTier: 'gpt5_high' });
    const s = await settled(actor);
    expect(s.context.tier).toBe('local');
    expect(log.reservations).toEqual([]);
  });

  it('is overruled by a critical budget, and still falls back when its tier is rate limited', async () => {
    expect((await settled(start({ difficulty: 'low', budget: { critical: true } }, { pinnedTier: 'gpt5_high' }).actor)).context.tier).toBe('local');
    const limited = start({ difficulty: 'low', rateLimit: { gpt5_medium: [{ available: false, waitMs: 600_000 }] } }, { pinnedTier: 'gpt5_medium' });
    const s = await settled(limited.actor);
    expect(s.context.tier).toBe('local');
    expect(s.context.fallbacks).toEqual([expect.objectContaining({ from: 'gpt5_medium', to: 'local', phase: 'routing' })]);
  });
});

describe('task machine: a conversation that has been confidential', () => {
  it('stays local although this turn holds nothing sensitive, and the reason names the session and the task', async () => {
    const { actor, log } = start({ sensitivity: 'public', difficulty: 'high' }, { confidentialSession: { session: 'thread-7', since: 'gw-1' } });
    const s = await settled(actor);
    expect(s.context.tier).toBe('local');
    expect(s.context.sensitivity?.level).toBe('confidential');
    expect(s.context.sensitivity?.categories).toContain('session');
    expect(s.context.trace.find((t) => t.state === 'AnalyzeSensitivity')?.reason)
      .toBe('confidential session (thread-7 has been confidential since task gw-1; this turn: public): stays local');
    expect(log.rateLimitChecks).toEqual([]);
    expect(log.dispatched).toEqual([{ tier: 'local', attempt: 1, reservationId: null }]);
  });
});
