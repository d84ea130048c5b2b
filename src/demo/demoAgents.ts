/**
 * The demo's craftsmen for repo work: an agent worker per tier, each running the real Codex CLI
 * in a clone, its model requests through the demo's gateway to that tier's simulator (as
 * `koubou worker --tier T --agent` does).
 */
import { Worker } from '../../actors/worker/index.ts';
import { AgentExecutor } from '../../actors/worker/executors/AgentExecutor.ts';
import { agentConsumer } from '../bus/index.ts';
import { THROUGH_GATEWAY } from '../cli/commands/agentWorker.ts';
import { getObject } from '../workspace/index.ts';
import type { DemoSystem } from './DemoSystem.ts';

export interface DemoAgentsOptions {
  system: DemoSystem;
  /** The gateway's OpenAI API (`…/v1`) and a key it admits. */
  gatewayUrl: string;
  gatewayKey: string;
  tiers: readonly string[];
  /** Whether Codex's workspace-write sandbox works here (probeCodexSandbox). */
  sandbox: boolean;
}

/**
 * @example
 * const agents = await startDemoAgents({ system, gatewayUrl, gatewayKey, tiers: ['local', 'gpt5_medium'], sandbox: true });
 * await agents.stop();
 */
export async function startDemoAgents(o: DemoAgentsOptions): Promise<{ stop(): Promise<void> }> {
  const workers: Worker[] = [];
  const stop = async () => { await Promise.allSettled(workers.map((w) => w.stop({ timeoutMs: 5000 }))); };
  try {
    for (const tier of o.tiers) {
      const nc = await o.system.connect(tier === 'local' ? 'local_worker' : 'cloud_worker');
      const worker = new Worker({
        nc, tier, workerId: `${tier}-agent-demo`, config: o.system.config, provider: THROUGH_GATEWAY, maxConcurrent: 1,
        consumers: [agentConsumer(tier)],
        executor: new AgentExecutor({ gatewayUrl: o.gatewayUrl, gatewayKey: o.gatewayKey, sandbox: o.sandbox, fetchWorkspace: (bucket, object) => getObject(nc, bucket, object) }),
      });
      await worker.start();
      workers.push(worker);
    }
  } catch (e) {
    await stop();
    throw e;
  }
  return { stop };
}
