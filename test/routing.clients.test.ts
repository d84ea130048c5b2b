/**
 * Routing on what real coding clients send: the requests Codex CLI, opencode and Qwen Code
 * sent for a trivial, a medium and a hard ask (data/clients, captured against
 * `koubou sim`), each turned into the task the gateway submits and routed through the real
 * task machine. Each lands on the tier its ask deserves, whatever the client's system prompt
 * says; side requests go local; the task's summary is the ask.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SimulatedClock, createActor } from 'xstate';
import { taskPrompt } from '../src/core/taskPrompt.ts';
import { loadConfig, tierPlanOf } from '../src/config/index.ts';
import { askOf, askSummary, evaluateDifficulty } from '../src/policy/index.ts';
import { difficultyOptions, dryRunRoute, offlineServices } from '../src/routing/index.ts';
import { promptSummary } from '../actors/router/taskEvents.ts';
import { createTaskMachine } from '../machines/task.machine.ts';
import { capturedSession, capturedSessionNames, fixtureClients, taskOfRequest } from './support/clientFixtures.ts';

const config = loadConfig({ env: { KOUBOU_DB: join(mkdtempSync(join(tmpdir(), 'koubou-clients-')), 'none.db') } });
const services = offlineServices(config);
afterAll(() => services.close());

const EXPECTED = { trivial: 'local', medium: 'gpt5_medium', hard: 'gpt5_high' } as const;
const ASKS = {
  trivial: 'fix a typo in README.md',
  medium: 'Add a /health endpoint to the orders API that returns the service version and the database status, with a unit test.',
  hard: 'Design a lock-free concurrent queue for the order dispatcher and explain how it avoids the ABA problem under parallel producers.',
} as const;

describe.each(fixtureClients())('%s, as captured', (client) => {
  it.each(Object.keys(EXPECTED) as (keyof typeof EXPECTED)[])('the %s ask: every main-turn request lands on its tier, side requests go local', async (name) => {
    const requests = capturedSession(client, name);
    let mainTurns = 0;
    for (const [i, request] of requests.entries()) {
      const task = taskOfRequest(request, `fx-${client}-${name}-${i}`);
      const ask = askOf(task);
      const decision = await dryRunRoute(task, config, services);
      // Sensitivity still reads everything (Codex's prompt holds an internal-looking marker; internal work may go to the cloud).
      expect(decision.sensitivity.level, `${client} ${name} #${i}`).not.toBe('confidential');
      if (ask.side) {
        expect(decision.tier, `${client} ${name} #${i}: a ${ask.side.kind} request`).toBe('local');
        expect(decision.difficulty.reasons.at(-1)).toMatch(/^side request: /);
        continue;
      }
      mainTurns++;
      expect(ask.statement).toBe(ASKS[name]);
      expect(decision.tier, `${client} ${name} #${i}: ${decision.difficulty.reasons.join('; ')}`).toBe(EXPECTED[name]);
      // The routing reason says which text was judged.
      expect(decision.trace.find((t) => t.state === 'RouteByDifficulty')?.reason).toMatch(/\(judged: the task statement/);
      expect(decision.difficulty.reasons[0]).toMatch(/^judged: /);
      // Tool definitions, tool outputs and the system prompt still count for what the call costs.
      expect(decision.difficulty.tokens).toBeGreaterThan(1_000);
    }
    expect(mainTurns).toBeGreaterThanOrEqual(2);
  });

  it('sends every side request it captured (titles, memory extraction, ...) to the local tier, with the reason', async () => {
    for (const name of capturedSessionNames(client)) {
      for (const [i, request] of capturedSession(client, name).entries()) {
        const task = taskOfRequest(request, `fx-side-${client}-${name}-${i}`);
        const side = askOf(task).side;
        if (!side) continue;
        const decision = await dryRunRoute(task, config, services);
        expect(decision.tier, `${client} ${name} #${i}`).toBe('local');
        expect(decision.trace.find((t) => t.state === 'RouteByDifficulty')?.reason).toMatch(/a side request/);
      }
    }
  });

  it('judged on the whole conversation, as before, its wrapper alone would send even the trivial ask up a tier', () => {
    const task = taskOfRequest(capturedSession(client, 'trivial').find((r) => !askOf(taskOfRequest(r, 'x')).side)!, 'fx-before');
    const before = evaluateDifficulty({ type: 'general', prompt: taskPrompt(task) }, difficultyOptions(config));
    expect(before.level).not.toBe('low');
  });

  it('summarises each task by its ask, not by the client\'s system prompt', () => {
    const [first] = capturedSession(client, 'medium');
    const task = taskOfRequest(first!, 'fx-summary');
    const snapshot = createActor(createTaskMachine(tierPlanOf(config)), { input: { task, policy: { maxRateLimitWaitMs: 0, internalStaysLocal: false } }, clock: new SimulatedClock() }).getSnapshot();
    const summary = promptSummary(snapshot);
    expect(summary).toBe(askSummary(askOf(task)));
    expect(summary.startsWith(ASKS.medium.slice(0, 60)) || summary.startsWith(`[title] ${ASKS.medium.slice(0, 60)}`)).toBe(true);
  });
});

describe('side requests the clients really send', () => {
  it('opencode asks for a title of every session; Qwen Code runs a memory extraction after a chat', () => {
    const kinds = (client: string, name: string) => capturedSession(client, name).map((r) => askOf(taskOfRequest(r, 'k')).side?.kind ?? null);
    expect(kinds('opencode', 'trivial')).toEqual(['title', null, null]);
    expect(kinds('qwen-code', 'chat-and-memory')).toEqual([null, 'memory', 'memory']);
    expect(kinds('codex', 'trivial')).toEqual([null, null]);
  });
});
