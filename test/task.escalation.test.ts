/**
 * Verify, then escalate, in the task machine alone: its routing steps are fakes (.provide()), the
 * worker's reports are events. An agent attempt whose tests fail climbs the chain one tier at a
 * time, each attempt routed, rate-checked and reserved like the first.
 */
import { describe, expect, it } from 'vitest';
import { createActor, SimulatedClock, waitFor } from 'xstate';
import { statusOf, taskMachine } from '../machines/index.ts';
import { dispatchInputOf } from '../src/routing/index.ts';
import { fakeSteps, makeTask, policy, type FakeScript } from './support/taskFakes.ts';

const agentTask = (pinnedTier?: string) => makeTask({ type: 'code_generation', agent: { test: 'npm test' }, ...(pinnedTier ? { pinnedTier } : {}) } as never);

function start(script: FakeScript, opts: { maxSteps?: number; pinnedTier?: string } = {}) {
  const fakes = fakeSteps(script);
  const actor = createActor(taskMachine.provide({ actions: fakes.actions }), {
    input: { task: agentTask(opts.pinnedTier), policy: { ...policy, escalationMaxSteps: opts.maxSteps ?? 2 } }, clock: new SimulatedClock(),
  }).start();
  return { actor, ...fakes };
}
type Actor = ReturnType<typeof start>['actor'];

const awaiting = (actor: Actor) => waitFor(actor, (s) => s.matches({ Assigned: 'AwaitingWorker' }) || s.status === 'done', { timeout: 2000 });

/** The worker's report of the current attempt: tests exiting `exitCode` after a change. */
async function returns(actor: Actor, exitCode: number) {
  const { attempt, tier } = (await awaiting(actor)).context;
  actor.send({
    type: 'WORK_COMPLETED', attempt,
    result: {
      text: 'done', model: `koubou/${tier}`, workerId: `w-${tier}`, patch: `diff --git a/add.js b/add.js\n-${tier}\n`,
      agent: { turns: 1, commands: 1, filesChanged: ['add.js'], diffstat: '1 file', test: { command: 'npm test', exitCode, output: `exit ${exitCode} on ${tier}` } },
    },
  });
}

describe('task machine: verify, then escalate', () => {
  it('climbs local → gpt5_medium after failed tests, reserving the new attempt, and completes there', async () => {
    const { actor, log } = start({ difficulty: 'low' });
    await returns(actor, 1);
    const s1 = await awaiting(actor);
    expect(s1.context.tier).toBe('gpt5_medium');
    expect(s1.context.attempt).toBe(2);
    // The escalated attempt is reserved before it is dispatched, and carries the failed one's change and output.
    expect(log.reservations).toEqual(['gpt5_medium']);
    expect(log.dispatched.at(-1)).toEqual({ tier: 'gpt5_medium', attempt: 2, reservationId: `${s1.context.task.taskId}:gpt5_medium:2` });
    expect(dispatchInputOf(s1.context).feedback).toEqual({ tier: 'local', diff: 'diff --git a/add.js b/add.js\n-local\n', test: { command: 'npm test', exitCode: 1, output: 'exit 1 on local' } });
    await returns(actor, 0);
    const end = actor.getSnapshot();
    expect(end.output).toMatchObject({ status: 'completed', tier: 'gpt5_medium' });
    expect(end.context.escalations).toEqual([{ from: 'local', to: 'gpt5_medium', step: 1, reason: 'tests failed on local (`npm test` exited 1)' }]);
    expect(end.context.trace.map((t) => t.state)).toEqual(expect.arrayContaining(['Verify', 'Escalate', 'RouteToGPT5Medium', 'AssignToGPT5Medium', 'Completed']));
    expect(end.context.trace.find((t) => t.state === 'Escalate')?.escalation?.to).toBe('gpt5_medium');
  });

  it('stops at routing.escalation.max_steps and completes with the failed tests said', async () => {
    const { actor, log } = start({ difficulty: 'low' }, { maxSteps: 1 });
    await returns(actor, 1);
    await returns(actor, 1);
    const end = actor.getSnapshot();
    expect(end.output).toMatchObject({ status: 'completed', tier: 'gpt5_medium' });
    expect(end.output?.result?.agent?.test?.exitCode).toBe(1);
    expect(end.context.escalations).toHaveLength(1);
    expect(log.dispatched.map((d) => d.tier)).toEqual(['local', 'gpt5_medium']);
    expect(end.context.trace.at(-2)?.reason).toMatch(/^no escalation: 1 of 1 steps taken/);
  });

  it('climbs the whole chain, local → gpt5_medium → gpt5_high, and no higher', async () => {
    const { actor, log } = start({ difficulty: 'low' }, { maxSteps: 5 });
    for (let i = 0; i < 3; i++) await returns(actor, 1);
    expect(actor.getSnapshot().output).toMatchObject({ status: 'completed', tier: 'gpt5_high' });
    expect(log.dispatched.map((d) => d.tier)).toEqual(['local', 'gpt5_medium', 'gpt5_high']);
    expect(actor.getSnapshot().context.escalations!.map((e) => `${e.from}→${e.to}`)).toEqual(['local→gpt5_medium', 'gpt5_medium→gpt5_high']);
  });

  it('tries confidential work again on local, never higher, and reserves nothing', async () => {
    const { actor, log } = start({ sensitivity: 'confidential' });
    await returns(actor, 1);
    await returns(actor, 1);
    await returns(actor, 0);
    expect(actor.getSnapshot().output).toMatchObject({ status: 'completed', tier: 'local' });
    expect(log.dispatched.map((d) => d.tier)).toEqual(['local', 'local', 'local']);
    expect(log.rateLimitChecks).toEqual([]);
    expect(log.reservations).toEqual([]);
    expect(actor.getSnapshot().context.escalations!.map((e) => e.to)).toEqual(['local', 'local']);
  });

  it('falls back down the chain when the tier up refuses the reservation', async () => {
    const { actor } = start({ difficulty: 'low', reserve: { gpt5_medium: false } });
    await returns(actor, 1);
    const s = await awaiting(actor);
    expect(s.context.tier).toBe('local');
    expect(s.context.fallbacks.at(-1)).toMatchObject({ from: 'gpt5_medium', to: 'local', reason: 'budget reservation refused' });
    expect(statusOf(s)).toBe('assigned');
  });

  it('completes at once when the tests pass, and leaves tasks without a test outcome as they were', async () => {
    const { actor, log } = start({ difficulty: 'low' });
    await returns(actor, 0);
    expect(actor.getSnapshot().output).toMatchObject({ status: 'completed', tier: 'local' });
    expect(log.dispatched).toHaveLength(1);
    const plain = start({ difficulty: 'low' });
    const { attempt } = (await awaiting(plain.actor)).context;
    plain.actor.send({ type: 'WORK_COMPLETED', attempt, result: { text: 'ok', model: 'm', workerId: 'w' } });
    expect(plain.actor.getSnapshot().context.trace.map((t) => t.state)).not.toContain('Verify');
  });
});

describe('task machine: a pin and a critical budget stop the climb', () => {
  const noClimb = (actor: Actor) => actor.getSnapshot().context.trace.filter((t) => t.reason.startsWith('no escalation'));

  it('a task pinned to its tier is not escalated past it: it completes there with its failed tests and the pin as the reason', async () => {
    const { actor, log } = start({ difficulty: 'low' }, { pinnedTier: 'gpt5_medium' });
    await returns(actor, 1);
    const end = actor.getSnapshot();
    expect(end.output).toMatchObject({ status: 'completed', tier: 'gpt5_medium' });
    expect(end.output?.result?.agent?.test?.exitCode).toBe(1);
    expect(end.context.escalations).toEqual([]);
    expect(log.dispatched.map((d) => d.tier)).toEqual(['gpt5_medium']);
    expect(noClimb(actor).map((t) => t.reason)).toEqual(['no escalation: pinned by the client to gpt5_medium: gpt5_high is past the pin']);
  });

  it('a pinned task a fallback moved down climbs back up to its pin, and no higher', async () => {
    // gpt5_medium is rate limited longer than the task may wait at first: the pinned task falls back to local.
    const { actor, log } = start({ difficulty: 'low', rateLimit: { gpt5_medium: [{ available: false, waitMs: 60_000 }, { available: true }] } }, { pinnedTier: 'gpt5_medium', maxSteps: 5 });
    await returns(actor, 1);
    await returns(actor, 1);
    const end = actor.getSnapshot();
    expect(log.dispatched.map((d) => d.tier)).toEqual(['local', 'gpt5_medium']);
    expect(end.context.escalations!.map((e) => `${e.from}→${e.to}`)).toEqual(['local→gpt5_medium']);
    expect(end.output).toMatchObject({ status: 'completed', tier: 'gpt5_medium' });
    expect(noClimb(actor).map((t) => t.reason)).toEqual(['no escalation: pinned by the client to gpt5_medium: gpt5_high is past the pin']);
  });

  it('a task pinned to local is tried on local only, however its tests fail', async () => {
    const { actor, log } = start({ difficulty: 'high' }, { pinnedTier: 'local' });
    await returns(actor, 1);
    expect(actor.getSnapshot().output).toMatchObject({ status: 'completed', tier: 'local' });
    expect(log.dispatched.map((d) => d.tier)).toEqual(['local']);
    expect(log.reservations).toEqual([]);
  });

  it('the budget critical at the escalation: no paid tier is tried, the task completes with its failed tests and says why', async () => {
    // The routing saw room (gpt5_medium for medium work); by the time the tests fail the month is critical.
    const { actor, log } = start({ difficulty: 'medium', budget: [{ critical: false }, { critical: true, percentUsed: 85 }] });
    await returns(actor, 1);
    const end = actor.getSnapshot();
    expect(end.output).toMatchObject({ status: 'completed', tier: 'gpt5_medium' });
    expect(end.output?.result?.agent?.test).toEqual({ command: 'npm test', exitCode: 1, output: 'exit 1 on gpt5_medium' });
    expect(end.context.escalations).toEqual([]);
    expect(log.budgetChecks).toBe(2);
    expect(log.reservations).toEqual(['gpt5_medium']);
    expect(log.dispatched.map((d) => d.tier)).toEqual(['gpt5_medium']);
    expect(end.context.trace.map((t) => t.reason)).toEqual(expect.arrayContaining([
      '85.0% of the monthly budget committed (critical)',
      'no escalation: the monthly budget is critical or unknown, so no paid tier above gpt5_medium is tried; the task ends with its failed tests (`npm test` exited 1)',
    ]));
  });

  it('the budget critical from the start keeps low work on local and does not escalate it to a paid tier', async () => {
    const { actor, log } = start({ difficulty: 'low', budget: { critical: true, percentUsed: 90 } });
    await returns(actor, 1);
    expect(actor.getSnapshot().output).toMatchObject({ status: 'completed', tier: 'local' });
    expect(log.dispatched.map((d) => d.tier)).toEqual(['local']);
    expect(log.reservations).toEqual([]);
    expect(noClimb(actor)).toHaveLength(1);
  });

  it('no budget to be had at the escalation (no ledger): no paid tier either', async () => {
    const { actor, log } = start({ difficulty: 'low', budget: [{ critical: false }, new Error('no ledger answered')] });
    await returns(actor, 1);
    expect(actor.getSnapshot().output).toMatchObject({ status: 'completed', tier: 'local' });
    expect(log.dispatched.map((d) => d.tier)).toEqual(['local']);
    expect(actor.getSnapshot().context.trace.map((t) => t.reason)).toContain('budget unavailable (no ledger answered): paid tiers are not used');
  });

  it('confidential work is still tried again on local with the budget critical: local costs nothing', async () => {
    const { actor, log } = start({ sensitivity: 'confidential', budget: { critical: true, percentUsed: 95 } });
    await returns(actor, 1);
    await returns(actor, 0);
    expect(actor.getSnapshot().output).toMatchObject({ status: 'completed', tier: 'local' });
    expect(log.dispatched.map((d) => d.tier)).toEqual(['local', 'local']);
    expect(actor.getSnapshot().context.escalations!.map((e) => e.to)).toEqual(['local']);
  });
});
