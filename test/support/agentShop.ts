/**
 * The agents' side of a test system: a gateway (with one key) and an agent worker per tier, each
 * running the real Codex CLI in a clone, its model requests coming back through that gateway.
 * What the agent, escalation and master tests all stand on.
 */
import { Gateway, keyDigest } from '../../actors/gateway/index.ts';
import { Worker } from '../../actors/worker/index.ts';
import { AgentExecutor } from '../../actors/worker/executors/AgentExecutor.ts';
import { agentConsumer } from '../../src/bus/index.ts';
import { InProcessSimProvider } from '../../src/llm/InProcessSimProvider.ts';
import { getObject } from '../../src/workspace/index.ts';
import { uniqueId, type TestSystem } from './system.ts';

export interface AgentShop {
  /** The gateway's OpenAI API (`…/v1`). */
  url: string;
  stop(): Promise<void>;
}

/**
 * @example
 * const shop = await startAgentShop(sys, 'kb-test-agents', ['gpt5_medium', 'local']);
 * // … submit repo tasks …
 * await shop.stop();
 */
export async function startAgentShop(sys: TestSystem, key: string, tiers: readonly string[], options: { maxConcurrent?: number } = {}): Promise<AgentShop> {
  const gateway = new Gateway({ ...await sys.nats.gatewayBus(), keyDigests: [keyDigest(key)], port: 0 });
  const url = `${(await gateway.start()).url}/v1`;
  const agents: Worker[] = [];
  for (const tier of tiers) {
    const nc = await sys.nats.connect(tier === 'local' ? 'local_worker' : 'cloud_worker');
    const worker = new Worker({
      nc, tier, workerId: uniqueId(`agent-${tier}`), config: sys.config, provider: new InProcessSimProvider(), maxConcurrent: options.maxConcurrent ?? 2, heartbeatMs: 500,
      consumers: [agentConsumer(tier)],
      executor: new AgentExecutor({ gatewayUrl: url, gatewayKey: key, fetchWorkspace: (bucket, object) => getObject(nc, bucket, object) }),
    });
    await worker.start();
    agents.push(worker);
  }
  return {
    url,
    async stop() {
      await Promise.allSettled(agents.map((w) => w.stop()));
      await gateway.stop();
    },
  };
}
