/**
 * The router's cache of live machines (tasks waiting for a worker) is bounded in bytes as well
 * as in count: large tasks push the oldest out, and a task pushed out is read back from KV
 * when its worker reports, so every task still completes once.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { NatsConnection } from '@nats-io/transport-node';
import { Router } from '../actors/router/index.ts';
import { Worker } from '../actors/worker/index.ts';
import { InProcessSimProvider } from '../src/llm/InProcessSimProvider.ts';
import { startSystem, uniqueId, type TestSystem } from './support/system.ts';

const LIMIT = 100_000;
let sys: TestSystem;
let router: Router;
let nc: NatsConnection;

beforeAll(async () => {
  // No workers yet: every task waits for one, its machine kept live while the cache has room.
  sys = await startSystem({ workers: [] });
  await sys.router.stop();
  nc = await sys.nats.connect('router');
  router = new Router({ nc, config: sys.config, routerId: 'router-hot', hotCache: { bytes: LIMIT } });
  await router.start();
});
afterAll(async () => {
  await router?.stop();
  await sys?.stop();
});

it('keeps at most its byte limit of waiting machines, and every task still completes once', async () => {
  // 12 tasks of ~30 KB each: about 360 KB of records against a 100 KB cache.
  const ids = Array.from({ length: 12 }, () => uniqueId('hot'));
  for (const taskId of ids) await sys.submit({ taskId, prompt: `fix a typo in the README ${'lorem ipsum dolor sit amet '.repeat(1100)}` });
  // Every task dispatched and waiting for a worker (its last event: Assigned).
  const deadline = Date.now() + 20_000;
  for (;;) {
    const waiting = await Promise.all(ids.map(async (id) => (await sys.events(id)).at(-1)?.state === 'Assigned'));
    if (waiting.every(Boolean)) break;
    if (Date.now() > deadline) throw new Error(`only ${waiting.filter(Boolean).length} of ${ids.length} tasks waiting for a worker`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const cache = router.hotCache();
  expect(cache.bytes).toBeLessThanOrEqual(LIMIT);
  expect(cache.tasks).toBeGreaterThan(0);
  expect(cache.tasks).toBeLessThan(ids.length);

  const worker = new Worker({ nc: await sys.nats.connect('local_worker'), tier: 'local', workerId: 'local-hot', config: sys.config, provider: new InProcessSimProvider(), maxConcurrent: 4, heartbeatMs: 500 });
  const cloud = await Promise.all(['gpt5_high', 'gpt5_medium'].map(async (tier) => {
    const w = new Worker({ nc: await sys.nats.connect('cloud_worker'), tier, workerId: `${tier}-hot`, config: sys.config, provider: new InProcessSimProvider(), maxConcurrent: 4, heartbeatMs: 500 });
    await w.start();
    return w;
  }));
  await worker.start();
  try {
    const finals = await Promise.all(ids.map((id) => sys.finalEvent(id, 30_000)));
    expect(finals.map((f) => f.status)).toEqual(ids.map(() => 'completed'));
    for (const id of ids) expect((await sys.events(id)).filter((e) => e.status === 'completed')).toHaveLength(1);
    expect(router.hotCache()).toEqual({ tasks: 0, bytes: 0 });
  } finally {
    await Promise.all([worker, ...cloud].map((w) => w.stop()));
  }
}, 90_000);
