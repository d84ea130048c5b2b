/**
 * The budget's invariant, as a property: whatever schema-valid submissions come (any tier pinned
 * or none, either executor or none, with a workspace or not, a conversation with tools or not,
 * a parent, any type and priority) against any budget state (from no headroom to plenty), every
 * paid call a worker makes is covered by a granted reservation of its task of at least what it
 * cost, and the month never goes past its limit. On the whole system: a real nats-server, the
 * real SQLite ledger, the router, plain and agent workers per tier; the model is a provider that
 * bills every call at its worst case (the output runs to the cap it was given).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Executor } from '../actors/worker/executors/Executor.ts';
import { agentConsumer, BUCKETS } from '../src/bus/index.ts';
import { KoubouError } from '../src/core/errors.ts';
import { TASK_TYPES, type Conversation } from '../src/core/types.ts';
import { countTokens } from '../src/policy/index.ts';
import { ensureMonth, currentYearMonth } from '../src/db/index.ts';
import type { GenerateRequest, GenerateResult, Provider } from '../src/llm/Provider.ts';
import { simPromptTokens } from '../src/llm/sim/index.ts';
import { git, packWorkspace, putObject } from '../src/workspace/index.ts';
import { startSystem, uniqueId, type TestSystem } from './support/system.ts';

const TIERS = ['gpt5_high', 'gpt5_medium', 'local'] as const;
const EPSILON = 1e-9;

/** Asked of the model, this fails upstream: the task falls back to the next tier (its reservation released on the way). */
const FAILS = 'this call fails upstream';

/** A provider that bills like one: the prompt as it came (messages and tools), the output to its cap. */
class WorstCaseProvider implements Provider {
  readonly name = 'worst-case';
  calls = 0;
  async generate(request: GenerateRequest): Promise<GenerateResult> {
    if (request.messages.some((m) => m.content.includes(FAILS))) throw new KoubouError('UPSTREAM_ERROR', 'the provider failed', { retryable: false });
    this.calls++;
    const promptTokens = simPromptTokens(request.messages) + (request.tools?.length ? countTokens(JSON.stringify(request.tools)) : 0);
    return { text: 'done', model: request.model, usage: { promptTokens, cachedPromptTokens: 0, completionTokens: request.maxOutputTokens, reasoningTokens: 0 } };
  }
}

/** What an agent worker is to the budget: its agent's model requests go through the gateway, none from the worker. */
const agentStandIn: Executor = {
  name: 'agent', maxCalls: 0,
  run: async (ctx) => ({ ok: true, result: { text: `agent ran in ${ctx.item.workspace?.object ?? 'no workspace'}`, model: 'agent', usage: { promptTokens: 0, cachedPromptTokens: 0, completionTokens: 0, reasoningTokens: 0 }, costUsd: 0 } }),
};
const noModel: Provider = { name: 'none', generate: () => Promise.reject(new Error('an agent worker calls no model')) };

const paid = { high: new WorstCaseProvider(), medium: new WorstCaseProvider() };
let sys: TestSystem;
let workspace: { object: string; commit: string; files: number; bytes: number; keptOut: number };

beforeAll(async () => {
  sys = await startSystem({
    // Small caps, so that a few worst cases fill a small month and its edge is crossed often.
    config: { tiers: { gpt5_high: { max_output_tokens: 3000 }, gpt5_medium: { max_output_tokens: 1500 } }, budget: { monthly_usd: 0.05 } },
    workers: [
      { tier: 'gpt5_high', provider: paid.high }, { tier: 'gpt5_medium', provider: paid.medium }, { tier: 'local' },
      ...TIERS.map((tier) => ({ tier, id: `${tier}-agent`, consumers: [agentConsumer(tier)], executor: agentStandIn, provider: noModel })),
    ],
  });
  ensureMonth(sys.db, currentYearMonth(), 0.05);
  const dir = mkdtempSync(join(tmpdir(), 'koubou-prop-ws-'));
  git(dir, ['init', '-q']);
  writeFileSync(join(dir, 'orders.ts'), 'export const orders: string[] = [];\n');
  const packed = packWorkspace(dir);
  workspace = { object: uniqueId('ws'), commit: packed.commit, files: packed.files.length, bytes: packed.bundle.length, keptOut: 0 };
  await putObject(sys.submitter, BUCKETS.workspaces, workspace.object, packed.bundle);
}, 60_000);
afterAll(async () => { await sys?.stop(); });

const PROMPTS = [
  'fix a typo in the README',
  'refactor this module to use dependency injection',
  'design a distributed, lock-free architecture with a consensus algorithm; optimise its concurrency and prove its complexity',
  `design a distributed scheduler with a consensus algorithm (${FAILS})`,
];

const conversationArb: fc.Arbitrary<Conversation> = fc.record({
  // A long history: what a conversation costs, whatever the task's prompt says.
  messages: fc.array(fc.record({ role: fc.constantFrom('user' as const, 'assistant' as const), content: fc.nat({ max: 600 }).map((n) => 'history '.repeat(n + 1)) }), { minLength: 1, maxLength: 4 }),
  tools: fc.array(fc.record({ name: fc.constantFrom('read_file', 'run_tests'), description: fc.nat({ max: 200 }).map((n) => 'does it '.repeat(n)) }), { maxLength: 2 }),
});

/** Any submission the schema takes, within the shapes that decide what runs and what it costs. */
const taskArb = fc.record({
  type: fc.constantFrom(...TASK_TYPES),
  priority: fc.integer({ min: 1, max: 10 }),
  prompt: fc.constantFrom(...PROMPTS),
  files: fc.array(fc.record({ path: fc.constantFrom('a.ts', 'b.ts', 'docs/c.md'), content: fc.nat({ max: 400 }).map((n) => 'let x = 1;\n'.repeat(n)) }), { maxLength: 2 }),
  pinnedTier: fc.option(fc.constantFrom(...TIERS), { nil: undefined }),
  conversation: fc.option(conversationArb, { nil: undefined }),
  withWorkspace: fc.boolean(),
  executor: fc.option(fc.constantFrom('single_call' as const, 'agent' as const), { nil: undefined }),
  parent: fc.boolean(),
  agent: fc.option(fc.record({ maxTokens: fc.integer({ min: 1, max: 10_000_000 }) }), { nil: undefined }),
  stream: fc.option(fc.boolean(), { nil: undefined }),
  // With a conversation, the prompt may be left out (the gateway's shape: the text travels once).
  withPrompt: fc.boolean(),
}, { requiredKeys: ['type', 'priority', 'prompt', 'files', 'withWorkspace', 'parent', 'withPrompt'] });

/** A month from empty to past its limit, with room from none to a few worst cases, critical at 50, 80 or 100 %. */
const budgetArb = fc.record({
  spentUsd: fc.double({ min: 0, max: 0.2, noNaN: true }),
  headroomUsd: fc.double({ min: 0, max: 0.12, noNaN: true }),
  thresholdPercent: fc.constantFrom(50, 80, 100),
});

type Generated = typeof taskArb extends fc.Arbitrary<infer T> ? T : never;

function submission(t: Generated, taskId: string, parentTaskId: string): Record<string, unknown> {
  const { withWorkspace, parent, withPrompt, ...rest } = t;
  return Object.fromEntries(Object.entries({
    ...rest, ...(withPrompt || !rest.conversation ? {} : { prompt: undefined }), taskId, ...(withWorkspace ? { workspace } : {}), ...(parent ? { parentTaskId } : {}),
  }).filter(([, v]) => v !== undefined));
}

interface CostRow { usage_id: string; task_id: string; cost_usd: number; reservation_id: string | null }
interface ReservationRow { reservation_id: string; task_id: string; amount_usd: number; actual_usd: number | null }

async function settled(taskIds: string[]): Promise<void> {
  // The ledger applies a task's usage before its final event (workers charge before they report).
  const q = sys.db.prepare<[string], { status: string }>('SELECT status FROM task_master WHERE task_id = ?');
  for (let i = 0; i < 400; i++) {
    if (taskIds.every((id) => ['completed', 'failed', 'cancelled'].includes(q.get(id)?.status ?? ''))) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`tasks not settled in the ledger: ${taskIds.filter((id) => !['completed', 'failed', 'cancelled'].includes(q.get(id)?.status ?? '')).join(', ')}`);
}

describe('every paid call is covered by a granted reservation', () => {
  it('for any schema-valid submissions against any budget state, and the month never goes past its limit', async () => {
    const month = currentYearMonth();
    await fc.assert(fc.asyncProperty(
      budgetArb, fc.array(taskArb, { minLength: 1, maxLength: 6 }),
      async ({ spentUsd, headroomUsd, thresholdPercent }, tasks) => {
        // The month as this run finds it: spent so far, the headroom left, where it turns critical.
        const limit = spentUsd + headroomUsd;
        sys.db.prepare('UPDATE budget_management SET spent_usd = ?, budget_limit_usd = ?, alert_threshold_percent = ? WHERE year_month = ?')
          .run(spentUsd, limit, thresholdPercent, month);
        const callsBefore = paid.high.calls + paid.medium.calls;
        const parentTaskId = uniqueId('parent');
        const ids = tasks.map(() => uniqueId('prop'));
        // A parent is named only by a front door (the gateway, koubou mcp): those tasks come through one.
        await Promise.all(tasks.map((t, i) => {
          const task = submission(t, ids[i]!, parentTaskId) as { taskId: string } & Record<string, unknown>;
          return t.parent ? sys.submitThroughGateway(task) : sys.submit(task);
        }));
        await Promise.all(ids.map((id) => sys.finalEvent(id, 30_000)));
        await settled(ids);

        const marks = ids.map(() => '?').join(',');
        const costs = sys.db.prepare(`SELECT usage_id, task_id, cost_usd, reservation_id FROM cost_tracking WHERE task_id IN (${marks})`).all(...ids) as CostRow[];
        const paidCalls = costs.filter((c) => c.cost_usd > 0);
        // Every paid call the providers made was charged (none made off the books)…
        expect(paidCalls.length).toBe(paid.high.calls + paid.medium.calls - callsBefore);
        for (const call of paidCalls) {
          // … each against a reservation granted to its own task (refused ones are never stored) …
          expect(call.reservation_id, `${call.usage_id} names no reservation`).not.toBeNull();
          const r = sys.db.prepare('SELECT reservation_id, task_id, amount_usd, actual_usd FROM budget_reservations WHERE reservation_id = ?').get(call.reservation_id) as ReservationRow | undefined;
          expect(r, `${call.usage_id}: reservation ${call.reservation_id} was never granted`).toBeDefined();
          expect(r!.task_id).toBe(call.task_id);
          // … that holds at least what its calls cost.
          expect(r!.actual_usd!, `${call.usage_id}: $${r!.actual_usd} spent of $${r!.amount_usd} reserved`).toBeLessThanOrEqual(r!.amount_usd + EPSILON);
        }
        // The ledger's own watch agrees: nothing it had to record for these tasks.
        expect(sys.db.prepare(`SELECT usage_id, reason FROM unreserved_usage WHERE task_id IN (${marks})`).all(...ids)).toEqual([]);
        const spent = (sys.db.prepare('SELECT spent_usd FROM budget_management WHERE year_month = ?').get(month) as { spent_usd: number }).spent_usd;
        expect(spent, `spent $${spent} of a $${limit} month`).toBeLessThanOrEqual(limit + EPSILON);
      },
    ), {
      // The case measured in issue 21 first: hard tasks with a workspace and executor single_call against a $0.02 month.
      examples: [
        [{ spentUsd: 0, headroomUsd: 0.02, thresholdPercent: 80 }, Array.from({ length: 8 }, () => ({ type: 'architecture' as const, priority: 5, prompt: PROMPTS[2]!, files: [], withWorkspace: true, executor: 'single_call' as const, parent: false, withPrompt: true }))],
        // Room for a call on each paid tier, so the run is never without paid calls.
        [{ spentUsd: 0, headroomUsd: 0.12, thresholdPercent: 100 }, (['gpt5_high', 'gpt5_medium'] as const).map((pinnedTier) => ({ type: 'general' as const, priority: 5, prompt: PROMPTS[1]!, files: [], pinnedTier, withWorkspace: false, parent: false, withPrompt: true }))],
      ],
      // A failure prints its seed; KOUBOU_PROPERTY_SEED replays it.
      numRuns: 14, endOnFailure: true, ...(process.env.KOUBOU_PROPERTY_SEED ? { seed: Number(process.env.KOUBOU_PROPERTY_SEED) } : {}),
    });
    // Not vacuous: the runs made paid calls, on both paid tiers.
    expect(paid.high.calls).toBeGreaterThan(0);
    expect(paid.medium.calls).toBeGreaterThan(0);
  }, 240_000);
});
