/**
 * With no local-tier worker left, local work waits in its queue: confidential
 * work never goes to a cloud tier instead, however long it waits.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstreamManager } from '@nats-io/jetstream';
import { Worker } from '../actors/worker/index.ts';
import { STREAMS, workConsumer } from '../src/bus/index.ts';
import { InProcessSimProvider } from '../src/llm/InProcessSimProvider.ts';
import { startSystem, uniqueId, type TestSystem } from './support/system.ts';
import { sleep, until } from './support/util.ts';

let sys: TestSystem;
beforeAll(async () => { sys = await startSystem({ workers: [{ tier: 'gpt5_high' }, { tier: 'gpt5_medium' }] }); });
afterAll(async () => { await sys?.stop(); });

describe('no local-tier worker', () => {
  it('keeps confidential work waiting in the local queue until a local worker comes, never on a cloud tier', async () => {
    const taskId = uniqueId('conf');
    await sys.submit({ taskId, prompt: 'design a distributed architecture; the db password = "Tr0ub4dor&3"', priority: 9 });
    const jsm = await jetstreamManager(await sys.nats.connect('router'));
    await until(async () => (await jsm.consumers.info(STREAMS.work, workConsumer('local', 'local'))).num_pending === 1, 10_000);
    await sleep(2000);
    const waiting = await sys.events(taskId);
    expect(waiting.at(-1)).toMatchObject({ status: 'assigned', tier: 'local' });
    expect(waiting.some((e) => e.tier === 'gpt5_high' || e.tier === 'gpt5_medium')).toBe(false);
    // Nothing reached the cloud workers' queues.
    for (const tier of ['gpt5_high', 'gpt5_medium'] as const) {
      const info = await jsm.consumers.info(STREAMS.work, workConsumer(tier));
      // consumer_seq counts what the consumer delivered; stream_seq only says how far it has looked
      // (a filtered consumer's pulls move it past other tiers' messages).
      expect(info.num_pending + info.num_ack_pending + info.delivered.consumer_seq).toBe(0);
    }
    const local = new Worker({ nc: await sys.nats.connect('local_worker'), tier: 'local', workerId: uniqueId('local'), config: sys.config, provider: new InProcessSimProvider(), heartbeatMs: 500 });
    await local.start();
    try {
      expect(await sys.finalEvent(taskId)).toMatchObject({ status: 'completed', tier: 'local', result: { workerId: local.workerId } });
    } finally {
      await local.stop();
    }
  }, 60_000);
});
