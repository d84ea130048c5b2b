/**
 * The whole system in one test process: a real nats-server, a real SQLite
 * ledger, the router, and workers per tier, each actor on its own connection
 * with its own role's credentials.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { Router } from '../../actors/router/index.ts';
import { Ledger } from '../../actors/ledger/index.ts';
import { Worker } from '../../actors/worker/index.ts';
import type { Executor } from '../../actors/worker/executors/Executor.ts';
import { DOOR_KEY_VAR, encode, publishSubmission, streamOptionsFrom, SUBJECTS, type TaskEventMessage } from '../../src/bus/index.ts';
import { loadConfig, type KoubouConfig } from '../../src/config/index.ts';
import type { Tier } from '../../src/core/types.ts';
import { openLedgerDb, type LedgerDb } from '../../src/db/index.ts';
import type { Provider } from '../../src/llm/Provider.ts';
import { InProcessSimProvider } from '../../src/llm/InProcessSimProvider.ts';
import type { SimServer } from '../../src/llm/sim/index.ts';
import { resolveBackend } from '../../actors/worker/backend.ts';
import { followTask } from '../../src/cli/followTask.ts';
import { startNats, type TestNats } from './nats.ts';

/** A worker of the test system; by default on the in-process simulator. */
export interface SystemWorker {
  tier: Tier;
  id?: string;
  provider?: Provider;
  /** How the worker carries out an attempt. Default: one model call. */
  executor?: Executor;
  /** The durable consumers it pulls instead of its tier's (e.g. `[agentConsumer(tier)]` for agent work). */
  consumers?: string[];
  /**
   * A `startSimServer` instance to call over HTTP with the real SDKs, exactly as
   * `koubou worker --sim URL` would (OpenAI's protocol for the GPT-5 tiers, Ollama's for local).
   */
  sim?: SimServer;
  /** Idle timeout of the sim-backed provider's calls. Default: the provider's (minutes). */
  providerTimeoutMs?: number;
  maxConcurrent?: number;
  /** How long `started` is held back to fold into a fast outcome. Default: the worker's (250 ms). */
  holdStartMs?: number;
}

export interface SystemOptions {
  config?: Record<string, unknown>;
  /** The ledger's grace for a budget slice past its lease (default the ledger's, 30 s), and how often it sweeps (default 5 s). */
  slices?: { graceMs?: number; sweepMs?: number };
  workers?: SystemWorker[];
  ledger?: boolean;
}

export interface TestSystem {
  nats: TestNats;
  config: KoubouConfig;
  db: LedgerDb;
  dbPath: string;
  router: Router;
  ledger: Ledger | null;
  workers: Worker[];
  submitter: NatsConnection;
  submit(task: Record<string, unknown>, msgId?: string): Promise<void>;
  /** Submits as the gateway does, through its front door: the way a task may name a key, a session or a parent. */
  submitThroughGateway(task: { taskId: string } & Record<string, unknown>): Promise<void>;
  /** Resolves with the task's final event. */
  finalEvent(taskId: string, timeoutMs?: number): Promise<TaskEventMessage>;
  events(taskId: string): Promise<TaskEventMessage[]>;
  /** What `koubou cancel` sends: a cancel report for the routers. */
  cancel(taskId: string, reason?: string): Promise<void>;
  stop(): Promise<void>;
}

import { uniqueId } from './util.ts';

export { uniqueId };

export async function startSystem(options: SystemOptions = {}): Promise<TestSystem> {
  const nats = await startNats();
  try {
    return await assemble(nats, options);
  } catch (e) {
    // The test's afterAll has no system to stop: a nats-server left running would outlive the run.
    await nats.stop();
    throw e;
  }
}

async function assemble(nats: TestNats, options: SystemOptions): Promise<TestSystem> {
  const dir = mkdtempSync(join(tmpdir(), 'koubou-sys-'));
  const dbPath = join(dir, 'ledger.db');
  const config = loadConfig({ env: {}, overrides: { ledger: { path: dbPath }, nats: { work_ack_wait_seconds: 5 }, ...options.config } });
  await nats.setup(streamOptionsFrom(config));
  const db = openLedgerDb(dbPath);
  const ledger = options.ledger === false ? null : new Ledger({
    nc: await nats.connect('ledger'), db, config,
    ...(options.slices?.graceMs !== undefined ? { sliceGraceMs: options.slices.graceMs } : {}),
    ...(options.slices?.sweepMs !== undefined ? { sliceSweepMs: options.slices.sweepMs } : {}),
  });
  await ledger?.start();
  const router = new Router({ nc: await nats.connect('router'), config, routerId: 'router-test', ledgerTimeoutMs: 1000, doorKey: nats.env[DOOR_KEY_VAR] });
  await router.start();
  const workers: Worker[] = [];
  for (const w of options.workers ?? [{ tier: 'gpt5_high' }, { tier: 'gpt5_medium' }, { tier: 'local' }]) {
    const role = w.tier === 'local' ? 'local_worker' : 'cloud_worker';
    const backend = w.sim ? await resolveBackend(config, w.tier, { sim: w.sim.url, ...(w.providerTimeoutMs ? { timeoutMs: w.providerTimeoutMs } : {}) }) : null;
    const worker = new Worker({
      nc: await nats.connect(role), tier: w.tier, workerId: w.id ?? uniqueId(w.tier), config: backend?.config ?? config,
      provider: w.provider ?? backend?.provider ?? new InProcessSimProvider(), maxConcurrent: w.maxConcurrent ?? 4, heartbeatMs: 500, retryDelayScale: 0.001,
      ...(backend ? { endpoint: backend.endpoint } : {}),
      ...(w.executor ? { executor: w.executor } : {}),
      ...(w.consumers ? { consumers: w.consumers } : {}),
      ...(w.holdStartMs !== undefined ? { holdStartMs: w.holdStartMs } : {}),
    });
    await worker.start();
    workers.push(worker);
  }
  const submitter = await nats.connect('submitter');
  const js = jetstream(submitter);
  let door: Promise<{ nc: NatsConnection; doorKey: string }> | null = null;
  return {
    nats, config, db, dbPath, router, ledger, workers, submitter,
    async submit(task, msgId) {
      await js.publish(SUBJECTS.submit, encode(task), { msgID: msgId ?? String(task.taskId) });
    },
    async submitThroughGateway(task) {
      const { nc, doorKey } = await (door ??= nats.gatewayBus());
      await publishSubmission(jetstream(nc), task, { door: { name: 'gateway', key: doorKey } });
    },
    async finalEvent(taskId, timeoutMs = 20_000) {
      const abort = new AbortController();
      const timer = setTimeout(() => abort.abort(), timeoutMs);
      const final = await followTask(submitter, taskId, { deliver: 'all', onEvent: () => {}, signal: abort.signal });
      clearTimeout(timer);
      if (!final) throw new Error(`task ${taskId} did not end within ${timeoutMs} ms`);
      return final;
    },
    async events(taskId) {
      const all: TaskEventMessage[] = [];
      const abort = new AbortController();
      const timer = setTimeout(() => abort.abort(), 5000);
      await followTask(submitter, taskId, { deliver: 'all', onEvent: (e) => all.push(e), signal: abort.signal });
      clearTimeout(timer);
      return all;
    },
    async cancel(taskId, reason = 'cancelled by test') {
      await js.publish(SUBJECTS.cancel(taskId), encode({ kind: 'cancel', taskId, reason, at: new Date().toISOString() }));
    },
    async stop() {
      await Promise.allSettled(workers.map((w) => w.stop()));
      await router.stop();
      await ledger?.stop();
      db.close();
      await nats.stop();
    },
  };
}
