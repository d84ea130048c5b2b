/**
 * The demo's agent task: a small repository, an agent worker on the local tier running the real
 * Codex CLI against the demo's gateway (whose local simulator is scripted to create a file and
 * edit another), and the patch's diffstat printed, as `koubou submit --repo . --wait` would.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { jetstream } from '@nats-io/jetstream';
import { Worker } from '../../actors/worker/index.ts';
import { AgentExecutor, probeCodexSandbox } from '../../actors/worker/executors/AgentExecutor.ts';
import { agentConsumer, followTask, publishSubmission } from '../bus/index.ts';
import type { DemoSystem } from '../demo/DemoSystem.ts';
import { getObject } from '../workspace/index.ts';
import { THROUGH_GATEWAY } from './commands/agentWorker.ts';
import { agentSummary, attachWorkspace } from './submitRepo.ts';

const TURNS = [
  { name: 'exec_command', arguments: JSON.stringify({ cmd: "mkdir -p src && printf 'export const total = (xs: number[]) => xs.reduce((a, b) => a + b, 0);\\n' > src/total.ts" }) },
  { name: 'exec_command', arguments: JSON.stringify({ cmd: "printf '\\nTotals: see src/total.ts\\n' >> README.md" }) },
];

/** Runs the demo's agent task; returns the lines to print and a stop for its worker. */
export async function runDemoAgent(o: { system: DemoSystem; gatewayUrl: string; gatewayKey: string; stateDir: string }): Promise<{ lines: string[]; stop(): Promise<void> }> {
  const probe = probeCodexSandbox();
  if (/not found/.test(probe.detail)) {
    return { lines: ['  AGENT  skipped: OpenAI\'s Codex CLI is not installed (npm install -g @openai/codex runs it here)'], stop: async () => {} };
  }
  o.system.sims.local.setOptions({ turns: TURNS });
  const nc = await o.system.connect('local_worker');
  const worker = new Worker({
    nc, tier: 'local', workerId: 'local-agent-demo', config: o.system.config, provider: THROUGH_GATEWAY, maxConcurrent: 1,
    consumers: [agentConsumer('local')],
    executor: new AgentExecutor({ gatewayUrl: o.gatewayUrl, gatewayKey: o.gatewayKey, sandbox: probe.ok, fetchWorkspace: (bucket, object) => getObject(nc, bucket, object) }),
  });
  await worker.start();
  const repo = join(o.stateDir, 'agent-repo');
  mkdirSync(repo, { recursive: true });
  writeFileSync(join(repo, 'README.md'), '# orders\n');
  spawnSync('git', ['init', '-q'], { cwd: repo });
  spawnSync('git', ['-c', 'user.email=demo@koubou', '-c', 'user.name=koubou demo', 'commit', '-q', '--allow-empty', '-m', 'orders'], { cwd: repo });
  const started = Date.now();
  const submitter = await o.system.connect('submitter');
  const base = { taskId: `demo-agent-${Date.now()}`, type: 'general' as const, priority: 5, prompt: 'add a totals helper to the orders module', files: [], pinnedTier: 'local' };
  const lines: string[] = [];
  const { task } = await attachWorkspace(submitter, base, { repo }, (l) => lines.push(`  AGENT  ${l}`));
  await publishSubmission(jetstream(submitter), task);
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), 120_000);
  const final = await followTask(submitter, task.taskId, { deliver: 'all', onEvent: () => {}, signal: abort.signal }).finally(() => clearTimeout(timer));
  // The script was for this task only: a Codex pointed at the demo's gateway later gets plain answers, not these commands.
  o.system.sims.local.setOptions({ turns: [] });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (!final || final.status !== 'completed') {
    lines.push(`  AGENT  ${final ? `${final.status}: ${final.error?.message ?? final.reason}` : 'did not end within 120 s'}`);
  } else {
    lines.push(`  AGENT  "${task.prompt}" in a ${repo} clone, on ${final.tier} in ${seconds} s (${probe.ok ? 'Codex sandbox' : 'no sandbox here'}):`);
    lines.push(...agentSummary(final).split('\n').filter(Boolean).map((l) => `         ${l}`));
  }
  return { lines, stop: () => worker.stop({ timeoutMs: 5000 }) };
}
