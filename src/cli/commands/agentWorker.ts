/**
 * `koubou worker --tier T --agent`: a worker of the tier's agent queue, running OpenAI's Codex
 * CLI per task in a clone of its workspace, with the agent's model requests sent through the
 * koubou gateway (pinned to the tier) under the worker's gateway key, $KOUBOU_AGENT_KEY.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { AgentExecutor, probeCodexSandbox } from '../../../actors/worker/executors/AgentExecutor.ts';
import { agentConsumer } from '../../bus/index.ts';
import { InputError } from '../../core/errors.ts';
import type { Tier } from '../../core/types.ts';
import type { KoubouConfig } from '../../config/index.ts';
import type { Provider } from '../../llm/Provider.ts';
import { getObject } from '../../workspace/index.ts';

export const AGENT_KEY_VAR = 'KOUBOU_AGENT_KEY';

/** The agent makes its model calls through the gateway: a worker of agent work calls no model itself. */
export const THROUGH_GATEWAY: Provider = {
  name: 'koubou-gateway',
  generate: () => Promise.reject(new Error('an agent worker makes its model calls through the gateway')),
};

export interface AgentWorkerSetup {
  executor: AgentExecutor;
  consumers: string[];
  provider: Provider;
  /** The start-up line: where the agent runs and how it is isolated. */
  description: string;
}

export function agentWorkerSetup(nc: NatsConnection, tier: Tier, opts: { gateway?: string; codex?: string }, env: NodeJS.ProcessEnv, config: KoubouConfig): AgentWorkerSetup {
  const key = env[AGENT_KEY_VAR]?.trim();
  if (!key) throw new InputError(`${AGENT_KEY_VAR} is empty: an agent worker needs a gateway key for its agent's model requests (koubou keys gateway create agents)`);
  const codex = opts.codex ?? 'codex';
  const probe = probeCodexSandbox(codex);
  if (/not found/.test(probe.detail)) throw new InputError(`${probe.detail}; install it with npm install -g @openai/codex`);
  const gatewayUrl = opts.gateway ?? 'http://127.0.0.1:8788/v1';
  const executor = new AgentExecutor({
    gatewayUrl, gatewayKey: key, codex, sandbox: probe.ok,
    maxWallSeconds: config.agent.max_wall_seconds, maxTurns: config.agent.max_turns, maxTokens: config.agent.max_tokens,
    testTimeoutSeconds: config.agent.test_timeout_seconds,
    fetchWorkspace: (bucket, object) => getObject(nc, bucket, object),
  });
  const isolation = probe.ok ? probe.detail : `${probe.detail}: the agent runs unsandboxed as this worker's user (see docs/operations.md)`;
  return { executor, consumers: [agentConsumer(tier)], provider: THROUGH_GATEWAY, description: `agent: ${codex} via ${gatewayUrl} (model koubou/${tier}); ${isolation}` };
}
