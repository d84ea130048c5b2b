/**
 * Tiers are data. The default config builds the task machine of the seed's diagram, state
 * for state; and a fourth tier added in a user's config file — gpt5_mini, cloud, cheaper,
 * between gpt5_medium and local — gets its states, its queue, its workers' permissions, its
 * statechart boxes and its ledger rows with no change to the code: medium work goes there,
 * a rate-limited gpt5_mini falls back to local, and confidential work never reaches it.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTaskMachine, taskMachine } from '../machines/task.machine.ts';
import { loadConfig, tierPlanOf, type KoubouConfig } from '../src/config/index.ts';
import { statechartOf } from '../src/dashboard/statechart.ts';
import { assertDispatchAllowed } from '../src/routing/dispatchGuard.ts';
import { dryRunRoute } from '../src/routing/dryRunRoute.ts';
import { offlineServices } from '../src/routing/offlineServices.ts';
import { machineShape } from './support/machineShape.ts';
import { startSystem, uniqueId, type TestSystem } from './support/system.ts';

/** A user's config file adding one tier: nothing else is needed. */
const MINI_YAML = `
tiers:
  gpt5_mini:
    cloud: true
    provider: openai
    model: gpt-5-mini
    reasoning_effort: medium
    max_output_tokens: 16000
    context_window: 400000
    rpm: 1
    tpm: 200000
    retry: { delay_seconds: 1, max_retries: 1 }
routing:
  fallback_order: [gpt5_high, gpt5_medium, gpt5_mini, local]
  difficulty_tiers: { high: gpt5_high, medium: gpt5_mini, low: local }
`;

const dir = mkdtempSync(join(tmpdir(), 'koubou-tiers-'));
const file = join(dir, 'koubou.yaml');
writeFileSync(file, MINI_YAML);
const mini: KoubouConfig = loadConfig({ file, env: {} });

const task = (prompt: string, files: { path: string; content: string }[] = []) =>
  ({ taskId: uniqueId('tier'), type: 'general' as const, priority: 5, prompt, files });
const MEDIUM = 'refactor this module to use dependency injection';

describe('the default config', () => {
  it('builds the machine of the seed\'s diagram, state for state', () => {
    const expected = JSON.parse(readFileSync(new URL('./fixtures/task-machine.default.json', import.meta.url), 'utf8'));
    // The fixture was taken from the machine written by hand before tiers became data; the one
    // difference is that ExecutionFallback's onHighTier / onMediumTier guards are one onTier guard with the tier as its parameter.
    // Added since, deliberately: a tier pinned by the client (RouteByDifficulty's isPinnedTo, one per
    // tier), a conversation that has been confidential (AnalyzeSensitivity's inConfidentialSession),
    // and a session's kept tier (RouteByDifficulty's keepsSessionTier, one per tier, after the pins).
    // Changed since, deliberately: every routing step leaves on the answer its entry action raises
    // or sends back, not on an invoked actor's done / error event: DIFFICULTY_EVALUATED / _FAILED,
    // BUDGET_CHECKED / _UNAVAILABLE, SENSITIVITY_ANALYZED / _FAILED, RATE_LIMIT_CHECKED / _FAILED,
    // RESERVATION_ANSWERED / _FAILED, WORK_DISPATCHED / DISPATCH_FAILED: same states, same targets,
    // same guards (the fixture changed by those event names and nothing else).
    // Added since, deliberately: Verify and Escalate after an attempt that returns its tests' outcome
    // (WORK_COMPLETED with isCurrentTestedAttempt → Verify; Escalate one tier up, or local for work that must stay local).
    // Changed since, deliberately: Verify's canEscalate also gets the chain's order (a pinned task climbs no higher
    // than its pin), and Escalate looks at the month's budget afresh (Escalate.CheckBudget → Escalate.Climb; a
    // critical or unknown budget ends the task in Completed with its failed tests instead of a paid tier).
    expect(machineShape(createTaskMachine(tierPlanOf(loadConfig({ env: {} }))))).toEqual(expected);
    expect(machineShape(taskMachine)).toEqual(expected);
  });
});

describe('a fourth tier from a user\'s config file', () => {
  it('gets its states in the machine and boxes in the statechart, in fallback order', () => {
    const shape = machineShape(createTaskMachine(tierPlanOf(mini)));
    for (const state of ['RouteToGPT5Mini', 'CheckRateLimit3', 'QueueOrFallback3', 'AssignToGPT5Mini']) expect(shape.states).toContain(`task.${state}`);
    expect(shape.transitions).toContain('task.QueueOrFallback2.Decide --always--> task.RouteToGPT5Mini');
    expect(shape.transitions).toContain('task.QueueOrFallback3.Decide --always--> task.RouteToLocal');
    expect(shape.transitions).toContain('task.ExecutionFallback --always[onTier {"tier":"gpt5_mini"}]--> task.RouteToLocal');
    expect(shape.transitions).toContain('task.RouteByDifficulty --always[isMediumDifficulty]--> task.RouteToGPT5Mini');
    const chart = statechartOf(createTaskMachine(tierPlanOf(mini)));
    expect(chart.nodes.map((n) => n.id)).toEqual(expect.arrayContaining(['RouteToGPT5Mini', 'CheckRateLimit3', 'QueueOrFallback3.Waiting', 'AssignToGPT5Mini']));
  });

  it('route --dry-run sends medium work there, and a rate-limited gpt5_mini falls back to local', async () => {
    const services = offlineServices(mini);
    try {
      const decision = await dryRunRoute(task(MEDIUM), mini, services);
      expect(decision.tier).toBe('gpt5_mini');
      expect(decision.trace.map((t) => t.state)).toEqual(expect.arrayContaining(['RouteToGPT5Mini', 'CheckRateLimit3', 'AssignToGPT5Mini']));
      const limited = await dryRunRoute(task(MEDIUM), mini, {
        ...services,
        checkRateLimit: async (tier) => (tier === 'gpt5_mini'
          ? { available: false, waitMs: 60_000, reason: 'rpm limit 1 reached' }
          : { available: true, waitMs: 0, reason: 'available' }),
      });
      expect(limited.tier).toBe('local');
      expect(limited.fallbacks).toEqual([{ from: 'gpt5_mini', to: 'local', phase: 'routing', reason: 'rate limited longer than the task may wait' }]);
    } finally {
      services.close();
    }
  });

  it('is a cloud tier to the dispatch guard: confidential work is refused on it', () => {
    const input = { task: task('x'), tier: 'gpt5_mini', attempt: 1, reservationId: null };
    expect(() => assertDispatchAllowed({ ...input, sensitivity: 'confidential' }, mini)).toThrow(/CONFIDENTIAL|refused/);
    expect(() => assertDispatchAllowed({ ...input, sensitivity: 'public' }, mini)).not.toThrow();
    // A tier the config does not know counts as cloud.
    expect(() => assertDispatchAllowed({ ...input, tier: 'gpt9', sensitivity: 'confidential' }, mini)).toThrow();
  });

  it('refuses a chain that names a tier twice, misses one, or does not end on local, naming the key', () => {
    const bad = (yaml: string) => {
      writeFileSync(join(dir, 'bad.yaml'), yaml);
      return () => loadConfig({ file: join(dir, 'bad.yaml'), env: {} });
    };
    expect(bad(`${MINI_YAML.split('routing:')[0]}routing:\n  fallback_order: [gpt5_high, gpt5_medium, local]\n`)).toThrow(/routing\.fallback_order: expected every tier once \(missing: gpt5_mini\)/);
    expect(bad('routing:\n  fallback_order: [gpt5_high, local, gpt5_medium]\n')).toThrow(/routing\.fallback_order: expected a list ending with local/);
    expect(bad('routing:\n  difficulty_tiers: { high: gpt5_high, medium: gpt5_mini, low: local }\n')).toThrow(/routing\.difficulty_tiers\.medium: expected a tier of routing\.fallback_order, found string "gpt5_mini"/);
  });

  describe('in a running system', () => {
    let sys: TestSystem;
    beforeAll(async () => {
      sys = await startSystem({
        config: loadConfigObject(),
        workers: [{ tier: 'gpt5_high' }, { tier: 'gpt5_medium' }, { tier: 'gpt5_mini' }, { tier: 'local' }],
      });
    });
    afterAll(async () => { await sys?.stop(); });

    it('runs medium work on gpt5_mini with a cloud worker\'s credentials, and the ledger records its tier, cost and fallback', async () => {
      const first = task(MEDIUM);
      await sys.submit(first);
      expect(await sys.finalEvent(first.taskId, 30_000)).toMatchObject({ status: 'completed', tier: 'gpt5_mini' });
      // rpm 1: the next medium task finds the tier rate-limited for longer than it may wait, and goes local.
      const second = task(`${MEDIUM} (again)`);
      await sys.submit(second);
      const final = await sys.finalEvent(second.taskId, 30_000);
      expect(final).toMatchObject({ status: 'completed', tier: 'local' });
      await waitFor(() => sys.db.prepare("SELECT COUNT(*) n FROM fallback_log WHERE task_id = ? AND from_tier = 'gpt5_mini' AND to_tier = 'local'").get(second.taskId) as { n: number }, (r) => r.n === 1);
      const cost = await waitFor(() => sys.db.prepare('SELECT worker_type, model_name, cost_usd FROM cost_tracking WHERE task_id = ?').get(first.taskId) as { worker_type: string; model_name: string; cost_usd: number } | undefined, (r) => r !== undefined);
      expect(cost).toMatchObject({ worker_type: 'gpt5_mini', model_name: 'gpt-5-mini' });
      expect(cost!.cost_usd).toBeGreaterThan(0);
      const row = await waitFor(() => sys.db.prepare('SELECT assigned_worker_type, status FROM task_master WHERE task_id = ?').get(first.taskId) as { assigned_worker_type: string; status: string } | undefined, (r) => r?.status === 'completed');
      expect(row).toMatchObject({ assigned_worker_type: 'gpt5_mini' });
    });

    it('keeps confidential medium work local: it never reaches gpt5_mini', async () => {
      const secret = task(`${MEDIUM}; the database password is Hx9!qLm2#Zr7`, [{ path: '.env', content: 'DB_PASSWORD=Hx9!qLm2#Zr7\n' }]);
      await sys.submit(secret);
      const final = await sys.finalEvent(secret.taskId, 30_000);
      expect(final).toMatchObject({ status: 'completed', tier: 'local' });
      const events = await sys.events(secret.taskId);
      expect(events.every((e) => e.tier === null || e.tier === 'local')).toBe(true);
    });
  });
});

/** The user's file as overrides for the test system (which adds its own ledger path and ack wait). */
function loadConfigObject(): Record<string, unknown> {
  return { tiers: { gpt5_mini: mini.tiers.gpt5_mini }, routing: { fallback_order: mini.routing.fallback_order, difficulty_tiers: mini.routing.difficulty_tiers } };
}

async function waitFor<T>(read: () => T, ok: (value: T) => boolean): Promise<T> {
  for (let i = 0; i < 100; i++) {
    const value = read();
    if (ok(value)) return value;
    await new Promise((r) => setTimeout(r, 50));
  }
  return read();
}
