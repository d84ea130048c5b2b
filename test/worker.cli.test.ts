/**
 * `koubou worker` as a real process against a real nats-server: its start
 * line, a graceful SIGTERM, and a kill -9 mid-call whose task another worker
 * redoes (ack_wait 1 s here).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Command } from 'commander';
import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { Worker } from '../actors/worker/index.ts';
import { encode, SUBJECTS, type WorkItem } from '../src/bus/index.ts';
import { registerWorker } from '../src/cli/commands/worker.ts';
import { loadConfig } from '../src/config/index.ts';
import { InputError } from '../src/core/errors.ts';
import { InProcessSimProvider } from '../src/llm/InProcessSimProvider.ts';
import { startNats, type TestNats } from './support/nats.ts';
import { CHARGING_SUBJECTS, chargedCalls } from './support/chargedCalls.ts';

const repo = (p: string) => fileURLToPath(new URL(`../${p}`, import.meta.url));
const src = (p: string) => repo(`src/${p}`);
/**
 * Runs the program with `worker` registered (through bin/run-ts.js, as
 * bin/koubou.js would). Until program.ts registers it, this adds it; the
 * lead's registration makes that a no-op.
 */
const HARNESS = `
const { buildProgram } = await import(${JSON.stringify(src('cli/program.ts'))});
const { registerWorker } = await import(${JSON.stringify(src('cli/commands/worker.ts'))});
const program = await buildProgram();
if (!program.commands.some((c) => c.name() === 'worker')) registerWorker(program);
await program.parseAsync(process.argv);
`;

interface Seen { subject: string; body: any }
let nats: TestNats;
let router: NatsConnection;
let js: JetStreamClient;
let harness: string;
const seen: Seen[] = [];
const children: ChildProcess[] = [];
let n = 0;
const uid = (p: string) => `${p}-${process.pid}-${++n}-${Date.now().toString(36)}`;
const item = (): WorkItem => ({
  taskId: uid('t'), attempt: 1, tier: 'gpt5_medium', type: 'general', priority: 5, prompt: 'write a haiku about queues',
  files: [], reservationId: 'r-test', dispatchedAt: new Date().toISOString(),
});
const dispatch = (it: WorkItem) => js.publish(SUBJECTS.work(it.tier), encode(it), { msgID: `${it.taskId}:${it.attempt}` });
const reports = (taskId: string) => seen.filter((s) => s.subject === SUBJECTS.report(taskId)).map((s) => s.body);
async function until(pred: () => boolean, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}
function worker(args: string[]) {
  // cwd: a fresh directory, so that no .koubou/credentials.env is picked up.
  const child = spawn(process.execPath, [repo('bin/run-ts.js'), harness, 'worker', '--nats', nats.url, ...args], {
    env: { ...process.env, ...nats.env, KOUBOU_CONFIG: '', NATS_URL: '' }, cwd: mkdtempSync(join(tmpdir(), 'koubou-wcli-')),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const out = { stderr: '', code: undefined as number | null | undefined };
  child.stderr!.on('data', (d) => { out.stderr += d; });
  child.on('exit', (code) => { out.code = code; });
  return { child, out };
}

beforeAll(async () => {
  harness = join(mkdtempSync(join(tmpdir(), 'koubou-harness-')), 'harness.mjs');
  writeFileSync(harness, HARNESS);
  nats = await startNats();
  await nats.setup({ workAckWaitMs: 1000 });
  router = await nats.connect('router');
  js = jetstream(router);
  for (const s of [SUBJECTS.reportAll, ...CHARGING_SUBJECTS, SUBJECTS.heartbeatAll]) {
    router.subscribe(s, { callback: (err, m) => { if (!err) seen.push({ subject: m.subject, body: m.json() }); } });
  }
  await router.flush();
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await nats?.stop();
});

describe('koubou worker', () => {
  it('refuses an unknown tier, naming the valid ones, and a bad --max-concurrent', async () => {
    const run = (args: string[]) => {
      const program = new Command('koubou').option('-c, --config <file>').exitOverride();
      registerWorker(program);
      return program.parseAsync(['worker', ...args], { from: 'user' });
    };
    await expect(run(['--tier', 'gpt4'])).rejects.toThrow(InputError);
    await expect(run(['--tier', 'gpt4'])).rejects.toThrow(/valid tiers: gpt5_high, gpt5_medium, local/);
    await expect(run(['--tier', 'local', '--max-concurrent', '0'])).rejects.toThrow(/--max-concurrent/);
  });

  it('logs its start, works, and on SIGTERM finishes its task, says offline and exits 0', async () => {
    const { child, out } = worker(['--tier', 'gpt5_medium', '--id', 'cli-w1', '--max-concurrent', '2', '--sim-latency', '700']);
    await until(() => /pulling/.test(out.stderr)).catch((e) => { throw new Error(`${e.message}; stderr: ${out.stderr}`); });
    expect(out.stderr).toContain(`worker cli-w1: tier gpt5_medium, 2 slots, pulling from ${nats.url}`);
    const t = item();
    await dispatch(t);
    await until(() => reports(t.taskId).some((r) => r.kind === 'started'));
    child.kill('SIGTERM');
    await until(() => out.code !== undefined);
    expect(out.code).toBe(0);
    // What the process sent before exiting may still be on its way to this subscriber.
    await until(() => seen.filter((s) => s.subject === SUBJECTS.heartbeat('cli-w1')).at(-1)?.body.status === 'offline', 3000);
    expect(reports(t.taskId).map((r) => r.kind)).toEqual(['started', 'completed']);
  });

  it('after kill -9 mid-call, another worker redoes the task under the same usage id', async () => {
    const { child, out } = worker(['--tier', 'gpt5_medium', '--id', 'cli-w2', '--sim-latency', '20000']);
    await until(() => /pulling/.test(out.stderr));
    const t = item();
    await dispatch(t);
    await until(() => reports(t.taskId).some((r) => r.kind === 'started'));
    child.kill('SIGKILL');
    const nc = await nats.connect('cloud_worker');
    const other = new Worker({ nc, tier: 'gpt5_medium', workerId: uid('w'), provider: new InProcessSimProvider(), config: loadConfig({ env: {} }) });
    await other.start();
    try {
      await until(() => reports(t.taskId).some((r) => r.kind === 'completed'));
      const usage = chargedCalls(seen, t.taskId);
      expect(usage).toEqual([expect.objectContaining({ usageId: `${t.taskId}:1:1`, workerId: other.workerId })]);
    } finally {
      await other.stop();
    }
  });
});
