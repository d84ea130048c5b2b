/**
 * Reliability of the distributed system with real processes and a real
 * nats-server: crashes (kill -9) of a worker and of the router, a restart of
 * nats-server, and duplicates. Every task completes, is recorded once and
 * charged once.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { encode, MSG_ID, SUBJECTS } from '../src/bus/index.ts';
import { followTask } from '../src/cli/followTask.ts';
import { openLedgerDb } from '../src/db/index.ts';
import { startNats, type TestNats } from './support/nats.ts';
import { ActorProcess } from './support/processes.ts';
import { uniqueId } from './support/system.ts';

let nats: TestNats;
let env: Record<string, string>;
let dbPath: string;
let actors: ActorProcess[];
let submitter: NatsConnection;

beforeEach(async () => {
  nats = await startNats();
  const dir = mkdtempSync(join(tmpdir(), 'koubou-rel-'));
  dbPath = join(dir, 'ledger.db');
  const configFile = join(dir, 'koubou.yaml');
  // A short ack wait so a dead worker's task is redelivered within the test.
  writeFileSync(configFile, 'nats:\n  work_ack_wait_seconds: 2\n');
  env = { ...nats.env, NATS_URL: nats.url, KOUBOU_DB: dbPath, KOUBOU_CONFIG: configFile };
  actors = [];
  submitter = await nats.connect('submitter');
});
afterEach(async () => {
  await Promise.allSettled(actors.map((a) => a.kill9()));
  await nats.stop();
});

const start = async (name: string, args: string[], ready: RegExp) => {
  const a = await new ActorProcess(name, args, env).start(ready);
  actors.push(a);
  return a;
};
const ledger = () => start('ledger', ['ledger'], /ledger: writing/);
const router = () => start('router', ['router', '--id', 'router-1'], /routing submissions/);
const worker = (tier: string, id: string, latencyMs: number, slots = 2) =>
  start(id, ['worker', '--tier', tier, '--id', id, '--sim-latency', String(latencyMs), '--max-concurrent', String(slots)], /pulling from/);

async function submit(prompt: string, taskId = uniqueId('r')): Promise<string> {
  await jetstream(submitter).publish(SUBJECTS.submit, encode({ taskId, prompt }), { msgID: MSG_ID.submission(taskId) });
  return taskId;
}

async function finalStatus(taskId: string, timeoutMs = 60_000) {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  const final = await followTask(submitter, taskId, { deliver: 'all', onEvent: () => {}, signal: abort.signal });
  clearTimeout(timer);
  return final;
}

/** Waits until the ledger has caught up: every task completed with its cost row. */
async function ledgerRows(taskIds: string[], timeoutMs = 30_000) {
  const db = openLedgerDb(dbPath, { readonly: true });
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const tasks = db.prepare(`SELECT task_id, status FROM task_master WHERE task_id IN (${taskIds.map(() => '?').join(',')})`).all(...taskIds) as { task_id: string; status: string }[];
      const costs = db.prepare(`SELECT task_id, COUNT(*) n FROM cost_tracking WHERE task_id IN (${taskIds.map(() => '?').join(',')}) GROUP BY task_id`).all(...taskIds) as { task_id: string; n: number }[];
      const done = tasks.length === taskIds.length && tasks.every((t) => t.status === 'completed') && costs.length === taskIds.length;
      if (done || Date.now() > deadline) return { tasks, costs };
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    db.close();
  }
}

describe('reliability', () => {
  it('kill -9 a worker in the middle of a task: the task completes on another worker, charged once', async () => {
    await ledger();
    await router();
    const doomed = await worker('local', 'local-doomed', 4000, 1);
    const taskId = await submit('fix a typo in the README');
    // Wait until the doomed worker holds the task, then kill it mid-call.
    await waitUntil(async () => (await eventsOf(taskId)).some((e) => e.state === 'InProgress'));
    await doomed.kill9();
    await worker('local', 'local-survivor', 100, 1);
    const final = await finalStatus(taskId);
    expect(final).toMatchObject({ status: 'completed', tier: 'local', result: { workerId: 'local-survivor' } });
    const { tasks, costs } = await ledgerRows([taskId]);
    expect(tasks).toEqual([{ task_id: taskId, status: 'completed' }]);
    expect(costs).toEqual([{ task_id: taskId, n: 1 }]);
  }, 90_000);

  it('kill -9 the router during a run and start it again: every task completes, once, charged once', async () => {
    await ledger();
    const first = await router();
    await worker('gpt5_medium', 'medium-1', 300, 4);
    await worker('local', 'local-1', 300, 4);
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) ids.push(await submit(i % 2 ? `refactor module ${i} to use dependency injection` : `fix typo number ${i}`));
    await new Promise((r) => setTimeout(r, 700));
    await first.kill9();
    await new Promise((r) => setTimeout(r, 500));
    await router();
    // Messages the dead router had buffered come back after the consumers' 10 s ack wait.
    const finals = await Promise.all(ids.map((id) => finalStatus(id, 150_000)));
    if (process.env.DEBUG_REL) for (const a of actors) console.log(`---- ${a.name}\n${a.output.slice(-4000)}`);
    expect(finals.map((f) => f?.status)).toEqual(ids.map(() => 'completed'));
    const { tasks, costs } = await ledgerRows(ids);
    expect(tasks).toHaveLength(30);
    expect(tasks.every((t) => t.status === 'completed')).toBe(true);
    expect(costs.map((c) => c.n)).toEqual(ids.map(() => 1));
    for (const id of ids) expect((await eventsOf(id)).filter((e) => e.status === 'completed')).toHaveLength(1);
  }, 240_000);

  it('stop and restart nats-server during a run: nothing acknowledged is lost', async () => {
    await ledger();
    await router();
    await worker('local', 'local-1', 200, 4);
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) ids.push(await submit(`fix typo ${i}`));
    await nats.server.restart();
    for (let i = 20; i < 30; i++) ids.push(await retry(() => submit(`fix typo ${i}`)));
    const finals = await Promise.all(ids.map((id) => retry(() => finalStatus(id, 30_000))));
    if (process.env.DEBUG_REL) for (const a of actors) console.log(`---- ${a.name}\n${a.output.slice(-3000)}`);
    expect(finals.map((f) => f?.status)).toEqual(ids.map(() => 'completed'));
    const { tasks, costs } = await ledgerRows(ids);
    expect(tasks).toHaveLength(30);
    expect(costs.map((c) => c.n)).toEqual(ids.map(() => 1));
  }, 120_000);
});

async function eventsOf(taskId: string) {
  const all: { state: string; status: string }[] = [];
  await followTask(submitter, taskId, { deliver: 'all', untilFinal: false, onEvent: (e) => all.push(e), signal: AbortSignal.timeout(500) }).catch(() => null);
  return all;
}

async function waitUntil(fn: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Clients ride out the server restart; a call made in the gap is tried again. */
async function retry<T>(fn: () => Promise<T>, tries = 20): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (e) {
      if (i >= tries) throw e;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}
