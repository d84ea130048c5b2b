/**
 * koubou on a 3-node JetStream cluster, with real actor processes given every node: a node is
 * killed with kill -9 in the middle of a burst and started again later. Every acknowledged task
 * completes once, is charged once, the budget holds, and the followers started before the fault
 * (`watch`'s, the dashboard's, the gateway's) see each task's final event once.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { EventFollower } from '../actors/dashboard/EventFollower.ts';
import { TaskEventHub } from '../actors/gateway/TaskEventHub.ts';
import { publishSubmission, STREAMS } from '../src/bus/index.ts';
import { followTask } from '../src/cli/followTask.ts';
import { FinalCounter, ledgerSettled, ledgerTally } from './support/exactlyOnce.ts';
import { startNatsCluster, type TestCluster } from './support/nats.ts';
import { ActorProcess } from './support/processes.ts';
import { uniqueId } from './support/system.ts';

const BUDGET_USD = 4;
let nats: TestCluster;
let env: Record<string, string>;
let dbPath: string;
const actors: ActorProcess[] = [];

beforeAll(async () => {
  nats = await startNatsCluster();
  const dir = mkdtempSync(join(tmpdir(), 'koubou-cluster-'));
  dbPath = join(dir, 'ledger.db');
  writeFileSync(join(dir, 'koubou.yaml'), `nats:\n  work_ack_wait_seconds: 3\nbudget:\n  monthly_usd: ${BUDGET_USD}\n`);
  env = { ...nats.env, NATS_URL: nats.url, KOUBOU_DB: dbPath, KOUBOU_CONFIG: join(dir, 'koubou.yaml') };
  const start = async (name: string, args: string[], ready: RegExp) => actors.push(await new ActorProcess(name, args, env).start(ready, 40_000));
  await start('ledger', ['ledger'], /ledger: writing/);
  await start('router', ['router', '--id', 'router-1'], /routing submissions/);
  for (const tier of ['gpt5_high', 'gpt5_medium', 'local']) {
    await start(tier, ['worker', '--tier', tier, '--id', `${tier}-1`, '--sim-latency', '40', '--max-concurrent', '8'], /pulling from/);
  }
}, 120_000);
afterAll(async () => {
  await Promise.allSettled(actors.map((a) => a.kill9()));
  await nats?.stop();
});

it('kill -9 of the work stream\'s leader node mid-burst: nothing lost, nothing charged twice, the budget holds', async () => {
  expect(actors.find((a) => a.name === 'router')!.output).toMatch(/3 replicas \(cluster koubou\)/);
  const submitter = await nats.connect('submitter');
  const watched = new FinalCounter();
  const watching = followTask(submitter, undefined, { deliver: 'new', untilFinal: false, onEvent: watched.see, signal: AbortSignal.timeout(170_000) });
  // The dashboard's and the gateway's followers, through the same node loss.
  const dashboard = new FinalCounter();
  const events = new EventFollower(await nats.connect('dashboard'), {
    onTaskEvent: dashboard.see, onUsage: () => {}, onRateLimit: () => {}, onHeartbeat: () => {},
  }, { backfillHours: 1, readyTimeoutMs: 2000 });
  await events.start();
  const gateway = new FinalCounter();
  const hub = new TaskEventHub(await nats.connect('submitter'));
  await hub.start();
  const prompts = ['design a distributed architecture for the event bus', 'refactor this module to use dependency injection', 'fix a typo in the README'];
  const ids = Array.from({ length: 240 }, () => uniqueId('cl'));
  for (const id of ids) hub.follow(id, gateway.see);
  const js = jetstream(submitter);
  const submitting = (async () => {
    for (let i = 0; i < ids.length; i += 20) {
      await Promise.all(ids.slice(i, i + 20).map((taskId, j) => publishSubmission(js, { taskId, prompt: `${prompts[(i + j) % 3]} (${taskId})` })));
    }
  })();

  // The node that leads the work queue goes, as in a power cut, while tasks are in flight.
  while (ledgerTally(dbPath, ids).completed < 40) await new Promise((r) => setTimeout(r, 100));
  const leader = (await (await jetstreamManager(submitter)).streams.info(STREAMS.work)).cluster!.leader!;
  const node = nats.cluster.nodes[Number(leader.slice(1)) - 1]!;
  await node.stop({ kill: true });
  while (ledgerTally(dbPath, ids).completed < 160) await new Promise((r) => setTimeout(r, 100));
  await node.restart();
  await submitting;

  const ledger = await ledgerSettled(dbPath, ids, 150_000);
  expect(ledger.completed).toBe(ids.length);
  expect(ledger.costRows).toEqual({ 1: ids.length });
  expect(ledger.openReservations).toBe(0);
  expect(ledger.spentUsd).toBeLessThanOrEqual(BUDGET_USD);
  const deadline = Date.now() + 30_000;
  while (![watched, dashboard, gateway].every((c) => c.hasAll(ids)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  expect({ watch: watched.tallyOf(ids), dashboard: dashboard.tallyOf(ids), gateway: gateway.tallyOf(ids) })
    .toEqual({ watch: { 1: ids.length }, dashboard: { 1: ids.length }, gateway: { 1: ids.length } });
  await events.stop();
  await hub.stop();
  void watching;
}, 240_000);
