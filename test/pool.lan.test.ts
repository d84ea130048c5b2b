/**
 * The LAN worker pool with real parts: `koubou sim` Ollama hosts at different
 * speeds as child processes on loopback, `koubou worker` processes started
 * with the one-line LAN command, a real nats-server, router and ledger.
 * Priority rules, a host killed mid-task, a host that recovers, and
 * performance factors measured from the executions.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decode, heartbeatSchema, type Heartbeat } from '../src/bus/index.ts';
import { SUBJECTS } from '../src/bus/index.ts';
import { ActorProcess } from './support/processes.ts';
import { startSystem, type TestSystem } from './support/system.ts';
import { uniqueId, until } from './support/util.ts';

/** Output tokens per answer and host speeds: the fast host does them in 0.67 s, the half-speed ones in 1.33 s. */
const TOKENS = 200;
const FAST_TPS = 300;
const SLOW_TPS = 150;

let sys: TestSystem;
let env: Record<string, string>;
const procs: ActorProcess[] = [];
const hosts = new Map<string, { proc: ActorProcess; port: number; tps: number }>();
const beats = new Map<string, Heartbeat>();

async function startHost(name: string, tps: number, port = 0): Promise<number> {
  const proc = await new ActorProcess(`sim-${name}`, ['sim', '--port', String(port), '--tokens-per-second', String(tps), '--output-tokens', String(TOKENS)], env).start(/listening on/);
  procs.push(proc);
  const found = Number(/listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(proc.output)?.[1]);
  hosts.set(name, { proc, port: found, tps });
  return found;
}

async function startWorker(id: string, port: number): Promise<ActorProcess> {
  // The LAN one-liner of docs/operations.md: worker id, the host's Ollama URL, the master's NATS.
  const proc = await new ActorProcess(id, ['worker', '--tier', 'local', '--ollama', `http://127.0.0.1:${port}`, '--nats', sys.nats.url, '--id', id], env).start(/pulling from/);
  procs.push(proc);
  return proc;
}

async function run(prompt: string, priority: number) {
  const taskId = uniqueId('lan');
  await sys.submit({ taskId, prompt, priority });
  return sys.finalEvent(taskId, 60_000);
}

beforeAll(async () => {
  sys = await startSystem({ workers: [], config: { pool: { performance: { recompute_seconds: 3600, window_hours: 1, min_samples: 2 } } } });
  const dir = mkdtempSync(join(tmpdir(), 'koubou-lan-'));
  env = { ...sys.nats.env, KOUBOU_CONFIG: join(dir, 'koubou.yaml'), KOUBOU_DB: sys.dbPath };
  const fast = await startHost('fast', FAST_TPS);
  const slow1 = await startHost('slow1', SLOW_TPS);
  const slow2 = await startHost('slow2', SLOW_TPS);
  writeFileSync(env.KOUBOU_CONFIG!, [
    'nats: { work_ack_wait_seconds: 5 }',
    'pool: { health_check_seconds: 1, cooldown: { initial_seconds: 0.5, max_seconds: 2 } }',
    'workers:',
    '  local_workers:',
    `    - { worker_id: local_001, model: gpt-oss:20b, server_host: "http://127.0.0.1:${fast}", max_concurrent_tasks: 3 }`,
    '  remote_workers:',
    `    - { worker_id: remote_lan_001, model: gpt-oss:20b, remote_host: 127.0.0.1, remote_port: ${slow1}, performance_factor: 0.5, max_concurrent_tasks: 2, network_timeout: 20 }`,
    `    - { worker_id: remote_lan_002, model: gpt-oss:20b, remote_host: 127.0.0.1, remote_port: ${slow2}, performance_factor: 0.5, max_concurrent_tasks: 2, network_timeout: 20 }`,
    '',
  ].join('\n'));
  const observer = sys.submitter;
  observer.subscribe(SUBJECTS.heartbeatAll, { callback: (err, m) => { if (!err) { const hb = decode(heartbeatSchema, m.data, m.subject); beats.set(hb.workerId, hb); } } });
  await startWorker('local_001', fast);
  await startWorker('remote_lan_001', slow1);
  await startWorker('remote_lan_002', slow2);
  await until(() => ['local_001', 'remote_lan_001', 'remote_lan_002'].every((id) => beats.get(id)?.status === 'idle'), 20_000);
}, 120_000);

afterAll(async () => {
  await Promise.allSettled(procs.map((p) => p.kill9()));
  await sys?.stop();
});

describe('LAN worker pool', () => {
  it('registers the LAN workers from their heartbeats: location, endpoint, health and latency', async () => {
    expect(beats.get('remote_lan_001')).toMatchObject({ location: 'remote', endpoint: `http://127.0.0.1:${hosts.get('slow1')!.port}`, performanceFactor: 0.5 });
    expect(beats.get('local_001')).toMatchObject({ location: 'local', performanceFactor: 1 });
    expect(beats.get('remote_lan_002')?.health).toMatchObject({ ok: true, version: expect.any(String) });
    await until(() => {
      const row = sys.db.prepare("SELECT location, network_latency_ms, last_health_check FROM workers WHERE worker_id = 'remote_lan_002'").get() as Record<string, unknown> | undefined;
      return row !== undefined && row.location !== 'local' && row.network_latency_ms !== null && row.last_health_check !== null;
    });
  });

  it('honours the priority rules: 8-10 on the local machine, 1-4 on LAN hosts, 5-7 on either', async () => {
    const high = await Promise.all([1, 2, 3].map((i) => run(`fix typo ${i} in the README`, 9)));
    const low = await Promise.all([1, 2].map((i) => run(`fix typo ${i} in the changelog`, 2)));
    const mid = await run('fix a typo in the docs', 6);
    expect(high.map((e) => e.result?.workerId)).toEqual(['local_001', 'local_001', 'local_001']);
    for (const e of low) expect(e.result?.workerId).toMatch(/^remote_lan_00[12]$/);
    expect(mid.status).toBe('completed');
    expect(['local_001', 'remote_lan_001', 'remote_lan_002']).toContain(mid.result?.workerId);
  }, 60_000);

  it('measures performance factors toward the hosts\' speed ratio and sends them to the workers', async () => {
    await Promise.all([1, 2, 3, 4].map((i) => run(`fix typo ${i} in the guide`, 2)));
    // The executions' metrics reach the ledger on their own messages, committed in its next batch:
    // the ten tasks of this file so far, each measured once.
    const measured = () => (sys.db.prepare('SELECT COUNT(*) n FROM worker_metrics WHERE success = 1 AND tokens_processed > 0').get() as { n: number }).n;
    await until(() => measured() >= 10);
    const factors = sys.ledger!.performance.recompute();
    expect(factors.get('local_001')).toBeCloseTo(1, 5);
    const expected = SLOW_TPS / FAST_TPS;
    for (const id of ['remote_lan_001', 'remote_lan_002']) {
      expect(factors.get(id)).toBeGreaterThan(expected - 0.12);
      expect(factors.get(id)).toBeLessThan(expected + 0.12);
    }
    const stored = sys.db.prepare("SELECT performance_factor f FROM workers WHERE worker_id = 'remote_lan_001'").get() as { f: number };
    expect(stored.f).toBe(factors.get('remote_lan_001'));
    await until(() => beats.get('remote_lan_001')?.performanceFactor === factors.get('remote_lan_001'), 10_000);
    expect(measured()).toBeGreaterThanOrEqual(10);
  }, 60_000);

  it('a host killed mid-task: the task completes on another LAN host, charged once; the dead host is cooled down, then comes back', async () => {
    const taskId = uniqueId('lan-kill');
    // The first progress report names the worker generating the answer: its host dies right then.
    const generating = new Promise<string>((resolve) => {
      const sub = sys.submitter.subscribe(SUBJECTS.progress(taskId), { callback: (err, m) => { if (!err) { sub.unsubscribe(); resolve(m.json<{ workerId: string }>().workerId); } } });
    });
    await sys.submitter.flush();
    await sys.submit({ taskId, prompt: 'fix the typo in the release notes', priority: 2 });
    const victim = await generating;
    const host = hosts.get(victim === 'remote_lan_001' ? 'slow1' : 'slow2')!;
    await host.proc.kill9();
    const final = await sys.finalEvent(taskId, 60_000);
    expect(final.status).toBe('completed');
    expect(final.result?.workerId).toMatch(/^remote_lan_00[12]$/);
    expect(final.result?.workerId).not.toBe(victim);
    const failed = sys.db.prepare('SELECT error_type FROM worker_metrics WHERE task_id = ? AND worker_id = ? AND success = 0').all(taskId, victim) as { error_type: string }[];
    expect(failed.map((r) => r.error_type)).toEqual([expect.stringMatching(/MALFORMED_RESPONSE|UNREACHABLE/)]);
    await until(() => beats.get(victim)?.status === 'error' || beats.get(victim)?.health?.ok === false, 10_000);
    // The host comes back on the same port: the worker finds it healthy again by itself.
    await startHost(victim === 'remote_lan_001' ? 'slow1' : 'slow2', SLOW_TPS, host.port);
    await until(() => beats.get(victim)?.status === 'idle' && beats.get(victim)?.health?.ok === true, 20_000);
    const again = await Promise.all([1, 2, 3, 4].map((i) => run(`fix typo ${i} in the FAQ`, 2)));
    expect(again.map((e) => e.result?.workerId)).toContain(victim);
  }, 120_000);

  it('every LAN host down: the local machine carries on alone with the LAN hosts\' work', async () => {
    await Promise.all(['slow1', 'slow2'].map((h) => hosts.get(h)!.proc.kill9()));
    // The LAN workers find out at their next call or health check (every second here).
    await until(() => ['remote_lan_001', 'remote_lan_002'].every((id) => beats.get(id)?.status === 'error'), 20_000);
    const low = await Promise.all([1, 2].map((i) => run(`fix typo ${i} in the install guide`, 2)));
    expect(low.map((e) => [e.status, e.result?.workerId])).toEqual([['completed', 'local_001'], ['completed', 'local_001']]);
  }, 60_000);
});
