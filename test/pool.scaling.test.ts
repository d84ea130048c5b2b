/**
 * `koubou pool` as a real process: it grows its `koubou worker` processes
 * under a queue, shrinks them after it, and restarts one that dies.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decode, heartbeatSchema, SUBJECTS, type Heartbeat } from '../src/bus/index.ts';
import { ActorProcess } from './support/processes.ts';
import { startSystem, type TestSystem } from './support/system.ts';
import { uniqueId, until } from './support/util.ts';

let sys: TestSystem;
let pool: ActorProcess;
const beats = new Map<string, Heartbeat>();
const alive = () => [...beats.values()].filter((b) => b.workerId.startsWith('scale-') && b.status !== 'offline' && Date.now() - Date.parse(b.at) < 3000);

beforeAll(async () => {
  sys = await startSystem({ workers: [] });
  const dir = mkdtempSync(join(tmpdir(), 'koubou-pool-'));
  const config = join(dir, 'koubou.yaml');
  writeFileSync(config, 'nats: { work_ack_wait_seconds: 5 }\npool: { scale_check_seconds: 0.5, scale_down_idle_seconds: 1.5 }\n');
  sys.submitter.subscribe(SUBJECTS.heartbeatAll, { callback: (err, m) => { if (!err) { const hb = decode(heartbeatSchema, m.data, m.subject); beats.set(hb.workerId, hb); } } });
  pool = await new ActorProcess('pool', ['pool', '--min', '1', '--max', '3', '--max-active-tasks', '1', '--id-prefix', 'scale', '--sim-latency', '3000', '--nats', sys.nats.url],
    { ...sys.nats.env, KOUBOU_CONFIG: config, KOUBOU_DB: sys.dbPath }).start(/scaling with the local queue/);
  await until(() => alive().length === 1, 20_000);
}, 60_000);

afterAll(async () => {
  await pool?.stop();
  await sys?.stop();
});

describe('koubou pool', () => {
  it('grows with the queue to its maximum, then shrinks back to its minimum once the queue is empty', async () => {
    const ids = Array.from({ length: 6 }, () => uniqueId('scale'));
    for (const taskId of ids) await sys.submit({ taskId, prompt: 'fix a typo in the README', priority: 6 });
    let most = 0;
    const watch = setInterval(() => { most = Math.max(most, alive().length); }, 100);
    const finals = await Promise.all(ids.map((id) => sys.finalEvent(id, 60_000)));
    expect(finals.every((f) => f.status === 'completed')).toBe(true);
    expect(most).toBe(3);
    await until(() => alive().length === 1, 20_000);
    clearInterval(watch);
    expect(pool.output).toMatch(/pool: stopping scale-3/);
    // Work was shared out: more than one worker process ran tasks.
    expect(new Set(finals.map((f) => f.result?.workerId)).size).toBeGreaterThan(1);
  }, 90_000);

  it('restarts a worker process that dies', async () => {
    const [worker] = alive();
    await until(() => beats.get(worker!.workerId)?.pid !== undefined);
    const pid = beats.get(worker!.workerId)!.pid;
    process.kill(pid, 'SIGKILL');
    await until(() => { const b = beats.get(worker!.workerId); return b !== undefined && b.pid !== pid && b.status === 'idle'; }, 20_000);
    expect(pool.output).toMatch(new RegExp(`\\[${worker!.workerId}\\] exited \\(SIGKILL\\); restarting`));
  }, 30_000);
});
