/**
 * Followers miss nothing: `koubou watch` (every task, started before the fault), a
 * `followTask` per task (what `submit --wait` uses), the dashboard's EventFollower and the
 * gateway's TaskEventHub each see every task's final event exactly once, through a kill -9 and
 * restart of nats-server in the middle of a run.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { EventFollower } from '../actors/dashboard/EventFollower.ts';
import { TaskEventHub } from '../actors/gateway/TaskEventHub.ts';
import { publishSubmission } from '../src/bus/index.ts';
import { followTask } from '../src/cli/followTask.ts';
import { FinalCounter, ledgerTally } from './support/exactlyOnce.ts';
import { startNats, type TestNats } from './support/nats.ts';
import { ActorProcess } from './support/processes.ts';
import { uniqueId } from './support/system.ts';

let nats: TestNats;
let env: Record<string, string>;
let dbPath: string;
const actors: ActorProcess[] = [];

beforeEach(async () => {
  nats = await startNats();
  const dir = mkdtempSync(join(tmpdir(), 'koubou-follow-'));
  dbPath = join(dir, 'ledger.db');
  writeFileSync(join(dir, 'koubou.yaml'), 'nats:\n  work_ack_wait_seconds: 2\n');
  env = { ...nats.env, NATS_URL: nats.url, KOUBOU_DB: dbPath, KOUBOU_CONFIG: join(dir, 'koubou.yaml') };
});
afterEach(async () => {
  await Promise.allSettled(actors.splice(0).map((a) => a.kill9()));
  await nats.stop();
});

const start = async (name: string, args: string[], ready: RegExp) => {
  const a = await new ActorProcess(name, args, env).start(ready);
  actors.push(a);
  return a;
};

it('kill -9 and restart of nats-server mid-run: every follower sees each final event once', async () => {
  await nats.setup();
  await start('ledger', ['ledger'], /ledger: writing/);
  await start('router', ['router', '--id', 'router-1'], /routing submissions/);
  await start('local-1', ['worker', '--tier', 'local', '--id', 'local-1', '--sim-latency', '150', '--max-concurrent', '4'], /pulling from/);
  const watch = await start('watch', ['watch', '--json'], /watching every task/);

  const follower = await nats.connect('dashboard');
  const dashboard = new FinalCounter();
  const events = new EventFollower(follower, {
    onTaskEvent: dashboard.see, onUsage: () => {}, onRateLimit: () => {}, onHeartbeat: () => {},
  }, { backfillHours: 1, readyTimeoutMs: 2000 });
  await events.start();
  const gatewayConn = await nats.connect('submitter');
  const hub = new TaskEventHub(gatewayConn);
  await hub.start();
  const gateway = new FinalCounter();
  const submitter = await nats.connect('submitter');
  const waiting = new FinalCounter();

  const ids = Array.from({ length: 120 }, () => uniqueId('f'));
  const finals: Promise<unknown>[] = [];
  const submit = async (taskId: string) => {
    hub.follow(taskId, gateway.see);
    await publishSubmission(jetstream(submitter), { taskId, prompt: `fix typo in ${taskId}` }, { timeoutMs: 60_000 });
    finals.push(followTask(submitter, taskId, { deliver: 'all', onEvent: waiting.see, signal: AbortSignal.timeout(90_000) }).catch(() => null));
  };
  for (const id of ids.slice(0, 60)) await submit(id);
  await waitFor(() => completedInLedger(ids) >= 20);
  await nats.server.restart({ kill: true });
  for (const id of ids.slice(60)) await submit(id);
  await waitFor(() => completedInLedger(ids) === ids.length, 90_000);

  const watched = new FinalCounter();
  await waitFor(() => {
    watched.counts.clear();
    for (const line of watch.output.split('\n')) if (line.startsWith('{"')) watched.see(JSON.parse(line));
    return watched.hasAll(ids) && dashboard.hasAll(ids) && gateway.hasAll(ids);
  }, 30_000).catch(() => {});
  await Promise.all(finals);
  // How many tasks each follower saw the final event of 0, 1, 2... times: all 120 exactly once.
  expect({ watch: watched.tallyOf(ids), submitWait: waiting.tallyOf(ids), dashboard: dashboard.tallyOf(ids), gateway: gateway.tallyOf(ids) })
    .toEqual({ watch: { 1: 120 }, submitWait: { 1: 120 }, dashboard: { 1: 120 }, gateway: { 1: 120 } });
  await events.stop();
  await hub.stop();
}, 240_000);

const completedInLedger = (ids: string[]) => ledgerTally(dbPath, ids).completed;

async function waitFor(fn: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 200));
  }
}
