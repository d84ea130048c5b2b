/**
 * `koubou up --cluster 3`, as a person would try it: three nats-server nodes, every actor given
 * all three, 3 copies of every stream; a task goes through, one node is killed, and the next
 * task goes through as well. Killed with kill -9, it leaves no node and no actor behind.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { jetstreamManager } from '@nats-io/jetstream';
import { connectBus, loadOrCreateCredentials, STREAMS } from '../src/bus/index.ts';
import { runKoubou } from './support/cli.ts';
import { ActorProcess } from './support/processes.ts';

const cwd = mkdtempSync(join(tmpdir(), 'koubou-up-cluster-'));
let up: ActorProcess;

beforeAll(async () => {
  up = await new ActorProcess('up', ['up', '--cluster', '3', '--port', '0', '--dashboard-port', '0', '--gateway-port', '0'], { KOUBOU_CONFIG: '', NATS_URL: '' }, cwd)
    .start(/koubou is up:(?=[\s\S]*worker-local\] worker .* pulling)(?=[\s\S]*routing submissions)/, 90_000);
}, 120_000);
afterAll(async () => { await up?.kill9(); });

it('runs on three nodes with three copies, and goes on when one node is killed', async () => {
  expect(up.output).toMatch(/NATS\s+nats:\/\/127\.0\.0\.1:\d+,nats:\/\/127\.0\.0\.1:\d+,nats:\/\/127\.0\.0\.1:\d+/);
  expect(up.output).toMatch(/3-node cluster: n1 pid \d+, n2 pid \d+, n3 pid \d+/);
  expect(up.output).toMatch(/streams\s+3 replicas \(cluster koubou\)/);
  expect(up.output).toMatch(/router-1: routing submissions from .*, streams and buckets with 3 replicas/);

  const url = /NATS\s+(\S+)/.exec(up.output)![1]!;
  const nc = await connectBus({ url, role: 'router', env: loadOrCreateCredentials(join(cwd, '.koubou', 'credentials.env')) });
  const jsm = await jetstreamManager(nc);
  const replicas: Record<string, number> = {};
  for await (const s of jsm.streams.list()) replicas[s.config.name] = s.config.num_replicas;
  await nc.close();
  for (const name of [...Object.values(STREAMS), 'KV_koubou_tasks', 'KV_koubou_ratelimits', 'KV_koubou_sessions', 'OBJ_koubou_ws', 'OBJ_koubou_ws_cloud']) {
    expect({ name, replicas: replicas[name] }).toEqual({ name, replicas: 3 });
  }

  const first = await runKoubou(['submit', '--wait', '--json', 'fix a typo in the README'], { cwd, env: { NATS_URL: '' } });
  expect(first.code).toBe(0);
  expect(JSON.parse(first.stdout)).toMatchObject({ status: 'completed' });

  const n2 = Number(/n2 pid (\d+)/.exec(up.output)![1]);
  process.kill(n2, 'SIGKILL');
  const second = await runKoubou(['submit', '--wait', '--json', 'fix another typo in the README'], { cwd, env: { NATS_URL: '' }, timeoutMs: 60_000 });
  expect(second.stderr).not.toMatch(/error/i);
  expect(second.code).toBe(0);
  expect(JSON.parse(second.stdout)).toMatchObject({ status: 'completed' });

  await up.stop();
  expect(up.output).toMatch(/stopping dashboard, workers, router, ledger, 3 nats-server nodes/);
  expect(up.output).toMatch(/koubou: stopped/);
}, 180_000);

it('leaves nothing running when it is killed with kill -9', async () => {
  const elsewhere = mkdtempSync(join(tmpdir(), 'koubou-up-cluster-kill-'));
  const again = await new ActorProcess('up-again', ['up', '--cluster', '3', '--port', '0', '--dashboard-port', '0', '--gateway-port', '0'], { KOUBOU_CONFIG: '', NATS_URL: '' }, elsewhere)
    .start(/koubou is up:(?=[\s\S]*worker-local\] worker .* pulling)(?=[\s\S]*routing submissions)/, 90_000);
  const children = execFileSync('pgrep', ['-P', String(again.pid)], { encoding: 'utf8' }).trim().split('\n').map(Number);
  // Three nodes, ledger, router, dashboard, gateway, three workers (and their lifelines).
  expect(children.length).toBeGreaterThanOrEqual(10);
  await again.kill9();
  const alive = () => children.filter((pid) => { try { process.kill(pid, 0); return true; } catch { return false; } });
  const deadline = Date.now() + 30_000;
  while (alive().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  expect(alive()).toEqual([]);
}, 150_000);
