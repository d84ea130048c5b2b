/**
 * Child of `npm run bench routing`: task machines alive at once, each routed to its resting state
 * before the next starts (as tasks arrive over time), in a process of their own running the
 * compiled code (dist/), as `koubou router` does. Prints its figures as JSON.
 *
 * Plain JavaScript on purpose: run through the TypeScript loader, the process would be ~45 MB
 * larger than a router is.
 */
import { readFileSync } from 'node:fs';
import { createActor, waitFor } from 'xstate';
import { loadConfig } from '../dist/src/config/index.js';
import { check, createRateLimitState } from '../dist/src/policy/index.js';
import { createRoutingSteps, createScanner } from '../dist/src/routing/index.js';
import { taskMachine } from '../dist/machines/task.machine.js';
import { tuneGarbageCollection } from '../dist/src/core/garbageCollection.js';

// As `koubou router` runs: with koubou's V8 flags.
tuneGarbageCollection();

const count = Number(process.argv[2] ?? 10_000);
const config = loadConfig({ env: {} });
const scanner = createScanner(config);
const machine = taskMachine.provide(createRoutingSteps(config, {
  scanSensitivity: (t) => scanner.scan({ prompt: t.prompt, files: t.files }),
  budgetState: () => ({ yearMonth: '2026-11', limitUsd: 100, spentUsd: 10, reservedUsd: 0, alertThresholdPercent: 80 }),
  reserveBudget: async () => ({ granted: true, reason: 'ok' }),
  checkRateLimit: async (_tier, tokens) => check(createRateLimitState({ rpm: null, tpm: null }), tokens, Date.now()),
  dispatch: async () => {},
  abortWork: () => {},
  now: Date.now,
}));
const policy = { maxRateLimitWaitMs: 10_000, internalStaysLocal: false };
// The routing benchmark's prompt (bench/routing.ts).
const PROMPT_2KB = readFileSync(new URL('./prompt-2kb.txt', import.meta.url), 'utf8');

async function route(i) {
  const actor = createActor(machine, { input: { task: { taskId: `m-${i}`, type: 'refactoring', priority: 5, prompt: `${i} ${PROMPT_2KB}`, files: [] }, policy } });
  actor.start();
  await waitFor(actor, (s) => s.matches({ Assigned: 'AwaitingWorker' }));
  return actor;
}

const mb = (n) => Math.round(n / 2 ** 20);
// Everything loaded and warm (tokenizer tables, secretlint) before the base is taken.
await route(-1);
global.gc();
const base = process.memoryUsage();
const actors = [];
for (let i = 0; i < count; i++) actors.push(await route(i));
global.gc();
const { rss, heapUsed, heapTotal } = process.memoryUsage();
const alive = actors.filter((a) => a.getSnapshot().status === 'active').length;
console.log(JSON.stringify({
  alive, baseMb: mb(base.rss), baseHeapMb: mb(base.heapUsed), rssMb: mb(rss), heapMb: mb(heapUsed), heapTotalMb: mb(heapTotal),
  heapPerMachineKb: Math.round((heapUsed - base.heapUsed) / count / 102.4) / 10,
}));
process.exit(0);
