/**
 * Routing-core benchmarks: one routing decision for a 2 KB prompt (the task
 * machine from ReceiveTask to its assignment, with the real policies and
 * in-memory services; then the machine alone and the scanner alone), the sensitivity scan of 1 MB of source, and the memory
 * of 10,000 task machines alive at once.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createActor, waitFor } from 'xstate';
import { loadConfig } from '../src/config/index.ts';
import { taskPrompt } from '../src/core/taskPrompt.ts';
import type { TaskInput } from '../src/core/types.ts';
import { createRoutingSteps, createScanner, type RoutingServices } from '../src/routing/index.ts';
import { check, createRateLimitState } from '../src/policy/index.ts';
import { taskMachine } from '../machines/task.machine.ts';
import { tuneGarbageCollection } from '../src/core/garbageCollection.ts';
import { machineLine, percentile, recordSection, sourceCorpus, stamp } from './support.ts';

// Measured as the router runs: with koubou's V8 flags (the `koubou` command sets them at start).
tuneGarbageCollection();

const config = loadConfig({ env: {} });
const scanner = createScanner(config);
const services: RoutingServices = {
  scanSensitivity: (t) => scanner.scan({ prompt: taskPrompt(t), files: t.files }),
  budgetState: () => ({ yearMonth: '2026-11', limitUsd: 100, spentUsd: 10, reservedUsd: 0, alertThresholdPercent: 80 }),
  reserveBudget: async () => ({ granted: true, reason: 'ok' }),
  checkRateLimit: async (tier, tokens) => check(createRateLimitState({ rpm: null, tpm: null }), tokens, Date.now()),
  dispatch: async () => {},
  abortWork: () => {},
  now: Date.now,
};
const machine = taskMachine.provide(createRoutingSteps(config, services));
const policy = { maxRateLimitWaitMs: 10_000, internalStaysLocal: false };

/** 2,048 characters of a refactoring request; bench/machinesAlive.mjs routes the same. */
const PROMPT_2KB = readFileSync(new URL('./prompt-2kb.txt', import.meta.url), 'utf8');

/** The machine alone: the prompt's scan answered from a result computed once, before timing. */
const scanned = await scanner.scan({ prompt: PROMPT_2KB, files: [] });
const machineAlone = taskMachine.provide(createRoutingSteps(config, { ...services, scanSensitivity: async () => scanned }));

async function routeOnce(i: number, logic: typeof machine = machine): Promise<number> {
  // A prompt of its own each run: a text counted once is looked up after (countTokens keeps long
  // texts' counts), and a router counts each task's text afresh.
  const task: TaskInput = { taskId: `b-${i}`, type: 'refactoring', priority: 5, prompt: `${PROMPT_2KB}\n(run ${i})`, files: [] };
  const t0 = process.hrtime.bigint();
  const actor = createActor(logic, { input: { task, policy } });
  actor.start();
  await waitFor(actor, (s) => s.matches({ Assigned: 'AwaitingWorker' }) || s.status !== 'active');
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  actor.stop();
  return ms;
}

/** 3,000 timed runs after 300 of warm-up (JIT, tokenizer tables, secretlint), sorted. */
async function timed(run: (i: number) => Promise<number>): Promise<number[]> {
  for (let i = 0; i < 300; i++) await run(i);
  const times: number[] = [];
  for (let i = 0; i < 3000; i++) times.push(await run(i));
  return times.sort((a, b) => a - b);
}
const p50p99 = (t: number[]) => `p50 ${percentile(t, 50).toFixed(3)} ms, p99 ${percentile(t, 99).toFixed(3)} ms`;

export async function benchRouting(): Promise<string> {
  const times = await timed((i) => routeOnce(i));
  const alone = await timed((i) => routeOnce(i, machineAlone));
  const scans = await timed(async () => {
    const t0 = process.hrtime.bigint();
    await scanner.scan({ prompt: PROMPT_2KB, files: [] });
    return Number(process.hrtime.bigint() - t0) / 1e6;
  });

  const mb = sourceCorpus(1024 * 1024);
  await scanner.scanText(mb.slice(0, 100_000), 'warm');
  const runs: number[] = [];
  for (let i = 0; i < 10; i++) {
    const t0 = process.hrtime.bigint();
    await scanner.scanText(mb, 'corpus.ts');
    runs.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  runs.sort((a, b) => a - b);
  const mbPerS = (mb.length / 1024 / 1024) / (percentile(runs, 50) / 1000);

  const rows = [
    `| routing decision, 2 KB prompt (3,000 runs): the machine and the scanner | ${p50p99(times)} | p99 under 1 ms |`,
    `| the same, the machine alone (the scan's answer given) | ${p50p99(alone)} | |`,
    `| the same, the sensitivity scanner alone | ${p50p99(scans)} | |`,
    `| sensitivity scan of 1 MB of source (median of 10) | ${mbPerS.toFixed(1)} MB/s (${percentile(runs, 50).toFixed(1)} ms) | at least 50 MB/s |`,
  ];
  return rows.join('\n');
}

/**
 * 10,000 machines alive at once, in a process of their own running the compiled code, as the
 * router does (bench/machinesAlive.mjs): nothing else has grown its heap.
 */
export async function benchMachines(count = 10_000): Promise<string> {
  // dist/ as the sources are now: bin/koubou.js compiles it when they changed.
  const build = spawnSync(process.execPath, ['bin/koubou.js', '--version'], { encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`could not build dist/: ${build.stderr}`);
  const child = spawnSync(process.execPath, ['--expose-gc', 'bench/machinesAlive.mjs', String(count)], { encoding: 'utf8' });
  if (child.status !== 0) throw new Error(`bench/machinesAlive.mjs failed: ${child.stderr}`);
  const m = JSON.parse(child.stdout.trim().split('\n').at(-1)!) as {
    alive: number; baseMb: number; baseHeapMb: number; rssMb: number; heapMb: number; heapTotalMb: number; heapPerMachineKb: number;
  };
  return `| ${m.alive.toLocaleString('en')} task machines alive at once, in a process of their own running the compiled code (each holding a 2 KB prompt, resting in Assigned) | ${m.rssMb} MB resident: ${m.baseMb} MB the process before them, ${m.rssMb - m.baseMb} MB with them; their heap ${m.heapMb - m.baseHeapMb} MB (${m.heapPerMachineKb} KB each) in a heap of ${m.heapTotalMb} MB | under 200 MB resident |`;
}

export async function runRoutingBenchmarks(): Promise<void> {
  const routing = await benchRouting();
  const machines = await benchMachines();
  const md = [
    '## Routing core',
    '',
    `Ran ${stamp()} on ${machineLine()}.`,
    '',
    '| what | measured | goal |',
    '|---|---|---|',
    routing,
    machines,
  ].join('\n');
  console.log(md);
  recordSection('routing', md);
}
