/**
 * An agent's limits on real parts: `koubou cancel` stops the agent's whole process group at
 * once and frees the slot; a time limit ends it with a clear error; and the budget is reserved
 * before each of the agent's model requests, so when the month cannot afford the next one it
 * runs on the local tier instead, and the ledger never passes the limit.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Gateway, keyDigest } from '../actors/gateway/index.ts';
import { Worker } from '../actors/worker/index.ts';
import { AgentExecutor } from '../actors/worker/executors/AgentExecutor.ts';
import { agentConsumer, BUCKETS, decode, progressSchema, SUBJECTS } from '../src/bus/index.ts';
import { InProcessSimProvider } from '../src/llm/InProcessSimProvider.ts';
import { startSimServer, type SimServer } from '../src/llm/sim/index.ts';
import { currentYearMonth, setMonthLimit } from '../src/db/index.ts';
import { getObject, packWorkspace, putObject } from '../src/workspace/index.ts';
import { startSystem, uniqueId, type TestSystem } from './support/system.ts';

const KEY = 'kb-test-agent-limits';
let sys: TestSystem;
let sim: SimServer;
let gateway: Gateway;
let worker: Worker;
let workRoot: string;
const dirs: string[] = [];

function repo(): string {
  const dir = mkdtempSync(join(tmpdir(), 'koubou-agent-lim-'));
  dirs.push(dir);
  spawnSync('git', ['init', '-q'], { cwd: dir });
  writeFileSync(join(dir, 'README.md'), '# orders\n');
  return dir;
}

/** Processes whose working directory is inside this test's agent clones. */
function agentProcesses(): number[] {
  return readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
    try { return readlinkSync(`/proc/${p}/cwd`).startsWith(workRoot); } catch { return false; }
  }).map(Number);
}

async function submitAgent(instruction: string, agent: Record<string, unknown> = {}): Promise<string> {
  const taskId = uniqueId('agent-lim');
  const ws = packWorkspace(repo());
  await putObject(sys.submitter, BUCKETS.workspaces, taskId, ws.bundle);
  await sys.submit({
    taskId, type: 'general', priority: 5, prompt: instruction, files: [], executor: 'agent', agent,
    workspace: { object: taskId, commit: ws.commit, files: ws.files.length, bytes: ws.bytes, keptOut: 0 },
  });
  return taskId;
}

beforeAll(async () => {
  sim = await startSimServer({});
  sys = await startSystem({ workers: [{ tier: 'gpt5_high', sim }, { tier: 'gpt5_medium', sim }, { tier: 'local', sim }] });
  gateway = new Gateway({ ...await sys.nats.gatewayBus(), keyDigests: [keyDigest(KEY)], port: 0 });
  const { url } = await gateway.start();
  workRoot = mkdtempSync(join(homedir(), '.koubou-agent-lim-'));
  dirs.push(workRoot);
  const nc: NatsConnection = await sys.nats.connect('cloud_worker');
  worker = new Worker({
    nc, tier: 'gpt5_medium', workerId: uniqueId('agent-medium'), config: sys.config, provider: new InProcessSimProvider(), maxConcurrent: 1, heartbeatMs: 500,
    consumers: [agentConsumer('gpt5_medium')],
    executor: new AgentExecutor({ gatewayUrl: `${url}/v1`, gatewayKey: KEY, workRoot, fetchWorkspace: (bucket, object) => getObject(nc, bucket, object) }),
  });
  await worker.start();
}, 60_000);
afterAll(async () => {
  await worker?.stop();
  await gateway?.stop();
  await sys?.stop();
  await sim?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const MEDIUM = 'refactor this module to use dependency injection';

describe('an agent\'s limits', () => {
  it('is stopped by koubou cancel, its whole process group within 2 s, and its slot taken by the next task', async () => {
    sim.setOptions({ turns: [{ name: 'exec_command', arguments: JSON.stringify({ cmd: 'sleep 60' }) }] });
    const running = new Promise<void>((resolve) => {
      const sub = sys.submitter.subscribe(SUBJECTS.progressAll, {
        callback: (_e, m) => { if (decode(progressSchema, m.data, m.subject).activity?.startsWith('running: ')) { sub.unsubscribe(); resolve(); } },
      });
    });
    const taskId = await submitAgent(MEDIUM);
    await running;
    expect(agentProcesses().length).toBeGreaterThan(0);
    const t0 = Date.now();
    await sys.cancel(taskId);
    while (agentProcesses().length > 0 && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 50));
    expect(agentProcesses()).toEqual([]);
    expect(Date.now() - t0).toBeLessThan(2000);
    expect((await sys.finalEvent(taskId)).status).toBe('cancelled');
    // The one slot is free again: the next agent task runs.
    sim.setOptions({ turns: [] });
    const next = await submitAgent(MEDIUM);
    expect((await sys.finalEvent(next, 60_000)).status).toBe('completed');
  }, 90_000);

  it('ends an agent that runs over its time limit: AGENT_LIMIT, its processes gone', async () => {
    sim.setOptions({ turns: [{ name: 'exec_command', arguments: JSON.stringify({ cmd: 'sleep 60' }) }] });
    const t0 = Date.now();
    const taskId = await submitAgent(MEDIUM, { maxWallSeconds: 2 });
    // The failed attempt falls back along the chain (here to a local tier with no agent worker): its error is on record.
    let events = '';
    while (!/AGENT_LIMIT/.test(events) && Date.now() - t0 < 30_000) events = JSON.stringify(await sys.events(taskId));
    expect(events).toMatch(/execution failed \(AGENT_LIMIT\)/);
    expect(agentProcesses()).toEqual([]);
    await sys.cancel(taskId);
    expect((await sys.finalEvent(taskId)).status).toBe('cancelled');
    sim.setOptions({ turns: [] });
  }, 90_000);

  it('refuses the agent\'s request past its token limit at the gateway, ending the attempt with AGENT_LIMIT', async () => {
    sim.setOptions({ turns: [{ name: 'exec_command', arguments: JSON.stringify({ cmd: 'echo one > one.txt' }) }] });
    const t0 = Date.now();
    const taskId = await submitAgent(MEDIUM, { maxTokens: 100 });
    let events = '';
    while (!/AGENT_LIMIT/.test(events) && Date.now() - t0 < 30_000) events = JSON.stringify(await sys.events(taskId));
    expect(events).toMatch(/execution failed \(AGENT_LIMIT\)/);
    // One request went through (it used far more than 100 tokens); the next was refused before it became a task.
    const children = sys.db.prepare('SELECT COUNT(*) AS n FROM task_master WHERE parent_task_id = ?').get(taskId) as { n: number };
    expect(children.n).toBe(1);
    await sys.cancel(taskId);
    expect((await sys.finalEvent(taskId)).status).toBe('cancelled');
    sim.setOptions({ turns: [] });
  }, 90_000);

  it('runs the agent\'s requests locally once the month cannot afford the next one, and never spends past the limit', async () => {
    sim.setOptions({ turns: [
      { name: 'exec_command', arguments: JSON.stringify({ cmd: 'sleep 2 && echo one > one.txt' }) },
      { name: 'exec_command', arguments: JSON.stringify({ cmd: 'echo two > two.txt' }) },
    ] });
    const spent = () => (sys.db.prepare('SELECT COALESCE(SUM(cost_usd), 0) AS usd FROM cost_tracking').get() as { usd: number }).usd;
    const before = spent();
    // Room for the first request, whatever the tests before spent.
    setMonthLimit(sys.db, currentYearMonth(), before + 1);
    // While the agent runs its first command, the month is left with almost nothing: the next request cannot be afforded.
    let limit = Infinity;
    const squeezed = new Promise<void>((resolve) => {
      const sub = sys.submitter.subscribe(SUBJECTS.progressAll, {
        callback: (_e, m) => {
          if (!decode(progressSchema, m.data, m.subject).activity?.startsWith('running: ')) return;
          sub.unsubscribe();
          void (async () => {
            while (spent() === before) await new Promise((r) => setTimeout(r, 20));
            limit = spent() + 0.000001;
            setMonthLimit(sys.db, currentYearMonth(), limit);
            resolve();
          })();
        },
      });
    });
    const taskId = await submitAgent(MEDIUM);
    await squeezed;
    expect((await sys.finalEvent(taskId, 90_000)).status).toBe('completed');
    let tiers: string[] = [];
    for (let i = 0; i < 100; i++) {
      tiers = (sys.db.prepare('SELECT assigned_worker_type AS tier FROM task_master WHERE parent_task_id = ? ORDER BY created_at, rowid').all(taskId) as { tier: string }[]).map((r) => r.tier);
      if (tiers.length >= 3) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(tiers).toEqual(['gpt5_medium', 'local', 'local']);
    expect(spent()).toBeLessThanOrEqual(limit);
    setMonthLimit(sys.db, currentYearMonth(), 100);
    sim.setOptions({ turns: [] });
  }, 120_000);
});
