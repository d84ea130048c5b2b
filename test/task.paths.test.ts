/**
 * Every path through the task machine, generated from its own graph, then
 * replayed through a live actor whose routing steps are fakes answering as the
 * path says. The hard rules are checked on every path.
 */
import { describe, expect, it } from 'vitest';
import { createActor, raise, SimulatedClock, waitFor } from 'xstate';
import { getSimplePaths } from 'xstate/graph';
import { statusOf, taskMachine } from '../machines/index.ts';
import { answerStep, type StepSelf } from '../src/routing/index.ts';
import { makeTask, policy as basePolicy } from './support/taskFakes.ts';
import { escalationPathEvents, inState, pathEvents, serializeTaskState, type PathEvent } from './support/taskPaths.ts';

const CLOUD_STATES = ['RouteToGPT5High', 'CheckRateLimit1', 'QueueOrFallback1', 'AssignToGPT5High',
  'RouteToGPT5Medium', 'CheckRateLimit2', 'QueueOrFallback2', 'AssignToGPT5Medium'];

const task = makeTask();
// A task the client pinned to gpt5_medium: its escalations stop at the pin.
const pinned = makeTask({ pinnedTier: 'gpt5_medium' });
// Two escalation steps: local → gpt5_medium → gpt5_high, and confidential work's retries on local.
const policy = { ...basePolicy, escalationMaxSteps: 2 };
const pathsOf = (events: typeof pathEvents, input = task) => getSimplePaths(taskMachine, {
  input: { task: input, policy },
  events: events as never,
  serializeState: serializeTaskState as never,
  toState: (s) => s.status === 'done',
});
const paths = [...pathsOf(pathEvents), ...pathsOf(escalationPathEvents), ...pathsOf(escalationPathEvents, pinned)];
const ORDER = ['gpt5_high', 'gpt5_medium', 'local'];

const IO_STEPS = ['analyzeSensitivity', 'checkRateLimit', 'reserveBudget', 'dispatchWork'] as const;
const PURE_STEPS = ['evaluateDifficulty', 'checkBudget'] as const;
/** The routing step whose action answers with this event, if any. */
function answeredBy(type: string): (typeof IO_STEPS)[number] | (typeof PURE_STEPS)[number] | undefined {
  if (/^SENSITIVITY_/.test(type)) return 'analyzeSensitivity';
  if (/^RATE_LIMIT_/.test(type)) return 'checkRateLimit';
  if (/^RESERVATION_/.test(type)) return 'reserveBudget';
  if (type === 'WORK_DISPATCHED' || type === 'DISPATCH_FAILED') return 'dispatchWork';
  if (/^DIFFICULTY_/.test(type)) return 'evaluateDifficulty';
  if (/^BUDGET_/.test(type)) return 'checkBudget';
  return undefined;
}

type Node = { id: string; states: Record<string, unknown>; always?: unknown[] };
/** States a snapshot can rest in; eventless (`always`) states are passed through within a step. */
function restingStateIds(node: Node): string[] {
  const own = node.always?.length ? [] : [node.id];
  return [...own, ...Object.values(node.states).flatMap((n) => restingStateIds(n as Node))];
}

describe('task machine: every path of its graph', () => {
  it('reaches every final state and rests in every non-transient state of the definition', () => {
    expect(paths.length).toBeGreaterThan(100);
    const visited = new Set<string>();
    for (const p of paths) for (const step of p.steps) for (const id of step.state._nodes.map((n) => n.id)) visited.add(id);
    const missing = restingStateIds(taskMachine.root as never).filter((id) => !visited.has(id));
    expect(missing).toEqual([]);
    for (const end of ['task.Completed', 'task.Failed', 'task.Cancelled']) expect(visited.has(end)).toBe(true);
  });

  it('passes through every transient state of the diagram on some path', () => {
    const traced = new Set(paths.flatMap((p) => p.state.context.trace.map((t) => t.state)));
    for (const name of ['ReceiveTask', 'BudgetCheck', 'ExecutionFallback', 'Assigned', 'QueueOrFallback1', 'QueueOrFallback2', 'AssignToGPT5High', 'CheckRateLimit2', 'Verify', 'Escalate']) {
      expect(traced.has(name)).toBe(true);
    }
  });

  it('never lets confidential work reach a cloud state or tier, fallbacks included', () => {
    const confidential = paths.filter((p) => p.state.context.sensitivity?.level === 'confidential');
    expect(confidential.length).toBeGreaterThan(0);
    for (const p of confidential) {
      for (const step of p.steps) {
        expect(CLOUD_STATES.some((name) => inState(step.state, name))).toBe(false);
        expect(step.state.context.tier ?? 'local').toBe('local');
      }
    }
  });

  it('routes by the diagram: a critical budget sends only high work to the cloud', () => {
    for (const p of paths) {
      const c = p.state.context;
      // The routing's own look at the budget (an escalation looks again later, with its own rule).
      const routing = c.trace.find((t) => t.state === 'CheckBudget');
      const critical = routing ? /\(critical\)|unavailable/.test(routing.reason) : false;
      if (c.sensitivity?.level !== 'public' || !critical || c.difficulty?.level === 'high') continue;
      expect(c.routedTier).toBe('local');
    }
  });

  it('never escalates a pinned task past its pin, and escalates it up to its pin when a fallback moved it down', () => {
    const pinnedPaths = paths.filter((p) => p.state.context.task.pinnedTier === 'gpt5_medium');
    const escalations = pinnedPaths.flatMap((p) => p.state.context.escalations ?? []);
    for (const e of escalations) expect(ORDER.indexOf(e.to)).toBeGreaterThanOrEqual(ORDER.indexOf('gpt5_medium'));
    // Both exits are on some path: a climb back up to the pin, and a stop at the pin with the reason.
    expect(escalations.some((e) => e.from === 'local' && e.to === 'gpt5_medium')).toBe(true);
    const stops = pinnedPaths.flatMap((p) => p.state.context.trace).filter((t) => t.reason.startsWith('no escalation: pinned'));
    expect(stops[0]?.reason).toBe('no escalation: pinned by the client to gpt5_medium: gpt5_high is past the pin');
  });

  it('never escalates to a paid tier once the budget is critical at the escalation, and ends such paths with their failed tests', () => {
    let stopped = 0;
    for (const p of paths) {
      const steps = p.steps as { event: PathEvent; state: typeof p.state }[];
      let critical = false;
      for (const [i, step] of steps.entries()) {
        if (i > 0 && inState(steps[i - 1]!.state, { Escalate: 'CheckBudget' })) critical ||= (step.event.output as { critical: boolean }).critical;
        const paid = (step.state.context.escalations ?? []).filter((e) => e.to !== 'local');
        if (critical) expect(paid.length).toBe((steps[i - 1]!.state.context.escalations ?? []).filter((e) => e.to !== 'local').length);
      }
      const c = p.state.context;
      if (critical && c.sensitivity?.level !== 'confidential') {
        stopped += 1;
        expect(p.state.output).toMatchObject({ status: 'completed' });
        expect(p.state.output?.result?.agent?.test?.exitCode).toBe(1);
        expect(c.trace.at(-2)?.reason).toMatch(/^no escalation: the monthly budget is critical or unknown/);
      }
    }
    expect(stopped).toBeGreaterThan(0);
  });

  it('ends every path in the status its output reports', () => {
    for (const p of paths) expect(statusOf(p.state)).toBe(p.state.output?.status);
  });

  it('replays every path through a live actor with fakes answering as the path says', async () => {
    for (const path of paths) {
      const queues = new Map<string, PathEvent[]>();
      const queue = (id: string, event: PathEvent) => queues.set(id, [...(queues.get(id) ?? []), event]);
      for (const { event } of path.steps as { event: PathEvent }[]) {
        const step = answeredBy(event.type);
        if (step) queue(step, event);
      }
      const next = (id: string) => queues.get(id)!.shift()! as never;
      // The I/O steps answer later, as the router's do; the pure steps raise their answer.
      const later = (id: string) => ({ self }: { self: StepSelf }) => answerStep(self, async () => next(id), (e) => e, (e) => e as never);
      const clock = new SimulatedClock();
      const machine = taskMachine.provide({
        actions: {
          ...Object.fromEntries(IO_STEPS.map((id) => [id, later(id)])),
          evaluateDifficulty: raise(() => next('evaluateDifficulty')),
          checkBudget: raise(() => next('checkBudget')),
        } as never,
      });
      const actor = createActor(machine, { input: { task: path.steps[0]!.state.context.task, policy }, clock }).start();
      const steps = path.steps as { event: PathEvent; state: typeof path.state }[];
      const raisedStep = (event?: PathEvent) => event !== undefined && PURE_STEPS.includes(answeredBy(event.type) as never);
      for (const [i, step] of steps.entries()) {
        const { type } = step.event;
        if (type.startsWith('xstate.after.')) clock.increment(actor.getSnapshot().context.waitMs);
        else if (!type.startsWith('xstate.') && !answeredBy(type)) actor.send(step.event as never);
        // A state a pure step leaves in the same macrostep is never seen at rest: the next one is.
        if (raisedStep(steps[i + 1]?.event)) continue;
        const want = serializeTaskState(step.state);
        await waitFor(actor, (s) => serializeTaskState(s) === want, { timeout: 1000 });
      }
      expect(actor.getSnapshot().output).toEqual(path.state.output);
      actor.stop();
    }
  });
});
