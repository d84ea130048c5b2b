import { describe, expect, it } from 'vitest';
import { createActor, SimulatedClock, waitFor } from 'xstate';
import { statusOf, taskMachine } from '../machines/index.ts';
import { fakeSteps, makeTask, policy, type FakeScript } from './support/taskFakes.ts';

function start(script: FakeScript, opts: { clock?: SimulatedClock; policy?: typeof policy } = {}) {
  const clock = opts.clock ?? new SimulatedClock();
  const fakes = fakeSteps(script, () => clock.now());
  const machine = taskMachine.provide({ actions: fakes.actions });
  const actor = createActor(machine, { input: { task: makeTask(), policy: opts.policy ?? policy }, clock });
  actor.start();
  return { actor, clock, ...fakes };
}

const settled = (actor: ReturnType<typeof start>['actor']) =>
  waitFor(actor, (s) => s.matches({ Assigned: 'AwaitingWorker' }) || s.status === 'done', { timeout: 2000 });

describe('task machine: routing', () => {
  it.each([
    ['high', 'gpt5_high'],
    ['medium', 'gpt5_medium'],
    ['low', 'local'],
  ] as const)('routes %s difficulty to %s', async (difficulty, tier) => {
    const { actor } = start({ difficulty });
    const s = await settled(actor);
    expect(s.context.tier).toBe(tier);
    expect(statusOf(s)).toBe('assigned');
  });

  it('keeps confidential work local without consulting any cloud tier', async () => {
    const { actor, log } = start({ sensitivity: 'confidential', difficulty: 'high' });
    const s = await settled(actor);
    expect(s.context.tier).toBe('local');
    expect(log.rateLimitChecks).toEqual([]);
    expect(log.reservations).toEqual([]);
    expect(log.dispatched).toEqual([{ tier: 'local', attempt: 1, reservationId: null }]);
    expect(s.context.trace.map((t) => t.state)).not.toContain('EvaluateDifficulty');
  });

  it('sends internal work to the cloud by default and keeps it local when the policy says so', async () => {
    expect((await settled(start({ sensitivity: 'internal', difficulty: 'high' }).actor)).context.tier).toBe('gpt5_high');
    const strict = start({ sensitivity: 'internal', difficulty: 'high' }, { policy: { ...policy, internalStaysLocal: true } });
    expect((await settled(strict.actor)).context.tier).toBe('local');
  });

  it('with the budget critical, sends medium work local and keeps high work on gpt5_high', async () => {
    expect((await settled(start({ difficulty: 'medium', budget: { critical: true } }).actor)).context.tier).toBe('local');
    expect((await settled(start({ difficulty: 'high', budget: { critical: true } }).actor)).context.tier).toBe('gpt5_high');
  });

  it('uses no paid tier when the budget cannot be read', async () => {
    const { actor, log } = start({ difficulty: 'high', budget: new Error('no ledger answered') });
    const s = await settled(actor);
    expect(s.context.tier).toBe('local');
    expect(log.reservations).toEqual([]);
    expect(s.context.trace.find((t) => t.state === 'CheckBudget')?.reason).toMatch(/budget unavailable \(no ledger answered\)/);
  });
});

describe('task machine: rate limits and fallback', () => {
  it('waits for a short rate limit on simulated time, then assigns the tier', async () => {
    const { actor, clock, log } = start({
      difficulty: 'high',
      rateLimit: { gpt5_high: [{ available: false, waitMs: 3000 }, { available: true }] },
    });
    await waitFor(actor, (s) => s.hasTag('waiting'));
    clock.increment(2999);
    expect(actor.getSnapshot().hasTag('waiting')).toBe(true);
    clock.increment(1);
    const s = await settled(actor);
    expect(s.context.tier).toBe('gpt5_high');
    expect(s.context.waitedMs).toBe(3000);
    expect(log.rateLimitChecks).toEqual(['gpt5_high', 'gpt5_high']);
  });

  it('falls back high → medium → local when each wait is too long', async () => {
    const { actor } = start({
      difficulty: 'high',
      rateLimit: { gpt5_high: [{ available: false, waitMs: 60_000 }], gpt5_medium: [{ available: false, waitMs: 60_000 }] },
    });
    const s = await settled(actor);
    expect(s.context.tier).toBe('local');
    expect(s.context.fallbacks.map((f) => `${f.from}>${f.to}:${f.phase}`)).toEqual([
      'gpt5_high>gpt5_medium:routing',
      'gpt5_medium>local:routing',
    ]);
  });

  it('stops waiting once the total wait allowance is used up', async () => {
    const { actor, clock } = start({ difficulty: 'medium', rateLimit: { gpt5_medium: [{ available: false, waitMs: 6000 }] } });
    await waitFor(actor, (s) => s.hasTag('waiting'));
    clock.increment(6000);
    const s = await settled(actor);
    expect(s.context.tier).toBe('local');
    expect(s.context.waitedMs).toBe(6000);
  });

  it('falls back when the budget reservation is refused', async () => {
    const { actor, log } = start({ difficulty: 'high', reserve: { gpt5_high: false } });
    const s = await settled(actor);
    expect(s.context.tier).toBe('gpt5_medium');
    expect(log.reservations).toEqual(['gpt5_high', 'gpt5_medium']);
    expect(s.context.fallbacks[0]?.reason).toBe('budget reservation refused');
  });
});

describe('task machine: execution', () => {
  it('completes with the worker result', async () => {
    const { actor } = start({ difficulty: 'medium' });
    await settled(actor);
    actor.send({ type: 'WORK_STARTED', workerId: 'w1', attempt: 1 });
    expect(statusOf(actor.getSnapshot())).toBe('in_progress');
    actor.send({ type: 'WORK_COMPLETED', attempt: 1, result: { text: 'done', model: 'gpt-5', workerId: 'w1' } });
    expect(actor.getSnapshot().output).toMatchObject({ status: 'completed', tier: 'gpt5_medium', result: { text: 'done' } });
  });

  it('falls back on execution failure high → medium → local, then fails', async () => {
    const { actor, log } = start({ difficulty: 'high' });
    await settled(actor);
    actor.send({ type: 'WORK_FAILED', attempt: 1, error: { code: 'UPSTREAM_5XX', message: 'bad gateway' } });
    await settled(actor);
    actor.send({ type: 'WORK_FAILED', attempt: 2, rateLimited: true, error: { code: 'RATE_LIMITED', message: '429' } });
    await settled(actor);
    expect(log.dispatched.map((d) => d.tier)).toEqual(['gpt5_high', 'gpt5_medium', 'local']);
    actor.send({ type: 'WORK_FAILED', attempt: 3, error: { code: 'MODEL_MISSING', message: 'ollama pull gpt-oss:20b' } });
    const s = actor.getSnapshot();
    expect(s.output).toMatchObject({ status: 'failed', tier: 'local', error: { code: 'MODEL_MISSING' } });
    expect(s.context.fallbacks.map((f) => f.phase)).toEqual(['execution', 'execution']);
  });

  it('ignores events from an earlier attempt', async () => {
    const { actor } = start({ difficulty: 'high' });
    await settled(actor);
    actor.send({ type: 'WORK_FAILED', attempt: 1, error: { code: 'X', message: 'x' } });
    await settled(actor);
    actor.send({ type: 'WORK_COMPLETED', attempt: 1, result: { text: 'late', model: 'gpt-5', workerId: 'w' } });
    expect(actor.getSnapshot().status).toBe('active');
    expect(actor.getSnapshot().context.tier).toBe('gpt5_medium');
  });

  it('cancels in progress: aborts the work and releases the reservation', async () => {
    const { actor, log } = start({ difficulty: 'high' });
    await settled(actor);
    actor.send({ type: 'WORK_STARTED', workerId: 'w1', attempt: 1 });
    actor.send({ type: 'CANCEL', reason: 'user asked' });
    expect(actor.getSnapshot().output).toMatchObject({ status: 'cancelled', error: { code: 'CANCELLED' } });
    expect(log.aborted).toBe(1);
    expect(log.released).toBeGreaterThanOrEqual(1);
  });
});

describe('task machine: persistence', () => {
  it('restores a waiting task and re-arms its timer from the deadline in context', async () => {
    const clock = new SimulatedClock();
    clock.set(1_000_000);
    const script: FakeScript = { difficulty: 'high', rateLimit: { gpt5_high: [{ available: false, waitMs: 5000 }, { available: true }] } };
    const first = start(script, { clock });
    await waitFor(first.actor, (s) => s.hasTag('waiting'));
    const persisted = JSON.parse(JSON.stringify(first.actor.getPersistedSnapshot()));
    first.actor.stop();

    // A new router process, 2 s later: the timer is not restored, so RESUME re-arms it.
    const clock2 = new SimulatedClock();
    clock2.set(1_002_000);
    const fakes = fakeSteps({ ...script, rateLimit: { gpt5_high: [{ available: true }] } }, () => clock2.now());
    const machine = taskMachine.provide({ actions: fakes.actions });
    const restored = createActor(machine, { snapshot: persisted, clock: clock2, input: undefined as never }).start();
    expect(restored.getSnapshot().hasTag('waiting')).toBe(true);
    restored.send({ type: 'RESUME', now: clock2.now() });
    clock2.increment(2999);
    expect(restored.getSnapshot().hasTag('waiting')).toBe(true);
    clock2.increment(1);
    const s = await settled(restored);
    expect(s.context.tier).toBe('gpt5_high');
  });
});
