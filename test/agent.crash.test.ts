/**
 * A worker killed with kill -9 in the middle of an agent's work: its agent goes with it (no
 * process keeps working, or spending, for a worker that is gone), nothing is applied, and the
 * task is redone from its workspace bundle by another agent worker. The killed worker is a
 * process with a home of its own, and the submitter's repository is deleted before any worker
 * starts: the workspace reaches workers only through the Object Store.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Gateway, keyDigest } from '../actors/gateway/index.ts';
import { Worker } from '../actors/worker/index.ts';
import { AgentExecutor } from '../actors/worker/executors/AgentExecutor.ts';
import { agentConsumer, BUCKETS, decode, progressSchema, SUBJECTS } from '../src/bus/index.ts';
import { InProcessSimProvider } from '../src/llm/InProcessSimProvider.ts';
import { startSimServer, type SimServer } from '../src/llm/sim/index.ts';
import { getObject, packWorkspace, putObject } from '../src/workspace/index.ts';
import { ActorProcess } from './support/processes.ts';
import { startSystem, uniqueId, type TestSystem } from './support/system.ts';

const KEY = 'kb-test-agent-crash';
let sys: TestSystem;
let sim: SimServer;
let gateway: Gateway;
let url: string;
const dirs: string[] = [];
const stops: (() => Promise<unknown>)[] = [];

/** Processes working in a clone of this task under `home` (the executor names clones after their task). */
function agentProcesses(taskId: string, home = homedir()): number[] {
  const root = join(home, '.koubou', 'agents', `${taskId}-`);
  return readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
    try { return readlinkSync(`/proc/${p}/cwd`).startsWith(root); } catch { return false; }
  }).map(Number);
}

beforeAll(async () => {
  // First a slow command, then a change: the worker is killed during the first.
  sim = await startSimServer({ turns: [
    { name: 'exec_command', arguments: JSON.stringify({ cmd: 'sleep 4' }) },
    { name: 'exec_command', arguments: JSON.stringify({ cmd: 'echo redone > redone.txt' }) },
  ] });
  sys = await startSystem({ workers: [{ tier: 'gpt5_high', sim }, { tier: 'gpt5_medium', sim }, { tier: 'local', sim }] });
  gateway = new Gateway({ ...await sys.nats.gatewayBus(), keyDigests: [keyDigest(KEY)], port: 0 });
  url = `${(await gateway.start()).url}/v1`;
}, 60_000);
afterAll(async () => {
  for (const stop of stops) await stop().catch(() => {});
  await gateway?.stop();
  await sys?.stop();
  await sim?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('an agent worker killed mid-task', () => {
  it('takes its agent with it, and another agent worker redoes the task from the bundle', async () => {
    // A host of its own, as far as files go: its own home, and the submitter's repository gone before it starts work.
    const home = mkdtempSync(join(homedir(), '.koubou-agent-host-'));
    dirs.push(home);
    const env = { ...sys.nats.env, NATS_URL: sys.nats.url, KOUBOU_AGENT_KEY: KEY, HOME: home };
    const doomed = new ActorProcess('agent-worker', ['worker', '--tier', 'local', '--agent', '--gateway', url, '--id', 'agent-doomed'], env);
    await doomed.start(/tier local, 1 slots, pulling/, 60_000);
    expect(doomed.output).toMatch(/agent: codex via .* \(model koubou\/local\); Codex sandbox workspace-write/);
    stops.push(() => doomed.kill9());

    const dir = mkdtempSync(join(tmpdir(), 'koubou-agent-crash-'));
    dirs.push(dir);
    spawnSync('git', ['init', '-q'], { cwd: dir });
    writeFileSync(join(dir, 'README.md'), '# orders\n');
    const taskId = uniqueId('agent-crash');
    const ws = packWorkspace(dir);
    await putObject(sys.submitter, BUCKETS.workspaces, taskId, ws.bundle);
    rmSync(dir, { recursive: true, force: true });
    const sleeping = new Promise<void>((resolve) => {
      const sub = sys.submitter.subscribe(SUBJECTS.progress(taskId), {
        callback: (_e, m) => { if (decode(progressSchema, m.data, m.subject).activity?.includes('sleep 4')) { sub.unsubscribe(); resolve(); } },
      });
    });
    await sys.submit({
      taskId, type: 'general', priority: 5, prompt: 'fix a typo in README.md', files: [], executor: 'agent', pinnedTier: 'local',
      workspace: { object: taskId, commit: ws.commit, files: ws.files.length, bytes: ws.bytes, keptOut: 0 },
    });
    await sleeping;
    expect(agentProcesses(taskId, home).length).toBeGreaterThan(0);
    await doomed.kill9();
    const t0 = Date.now();
    while (agentProcesses(taskId, home).length > 0 && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 50));
    expect(agentProcesses(taskId, home)).toEqual([]);

    // Another agent worker: the work item comes back to it after ack_wait (5 s here).
    const nc: NatsConnection = await sys.nats.connect('local_worker');
    const rescuer = new Worker({
      nc, tier: 'local', workerId: 'agent-rescuer', config: sys.config, provider: new InProcessSimProvider(), heartbeatMs: 500,
      consumers: [agentConsumer('local')],
      executor: new AgentExecutor({ gatewayUrl: url, gatewayKey: KEY, fetchWorkspace: (bucket, object) => getObject(nc, bucket, object) }),
    });
    await rescuer.start();
    stops.push(() => rescuer.stop());
    const final = await sys.finalEvent(taskId, 60_000);
    expect(final.status).toBe('completed');
    expect(final.result?.workerId).toBe('agent-rescuer');
    expect(final.result?.patch).toMatch(/\+\+\+ b\/redone\.txt/);
  }, 120_000);
});
