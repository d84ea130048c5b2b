/**
 * The agent executor: each attempt is OpenAI's Codex CLI working in a fresh clone of the task's
 * workspace, in its `workspace-write` sandbox where the host has one, with every model request
 * it makes sent to koubou's gateway pinned to this worker's tier (`koubou/<tier>`) — so each is
 * a task of its own: scanned for secrets (a request that turns confidential goes local), its
 * worst case reserved, rate-limited, charged, and attributed to this task (its parent). The
 * result is the patch the agent made, with its diffstat, the files changed and, when the task
 * names one, the outcome of the repository's test command.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { taskPrompt } from '../../../src/core/taskPrompt.ts';
import { checkoutWorkspace } from '../../../src/workspace/index.ts';
import { runCodex } from './codexRun.ts';
import type { Executor, ExecutorContext } from './Executor.ts';
import { runTests, workspaceChange } from './workspaceResult.ts';

export interface AgentExecutorOptions {
  /** The gateway the agent's model requests go to. Default `http://127.0.0.1:8788/v1`. */
  gatewayUrl?: string;
  /** A gateway key for the agent's requests (the worker's own, e.g. from $KOUBOU_AGENT_KEY). */
  gatewayKey: string;
  /** Fetches a workspace bundle from the bus (`bucket`, `object`); null when it is not there. */
  fetchWorkspace(bucket: string, object: string): Promise<Uint8Array | null>;
  /** The Codex CLI. Default `codex` on PATH. */
  codex?: string;
  /** Where clones and Codex's home are made. Default `~/.koubou/agents` (Codex refuses helper binaries under /tmp). */
  workRoot?: string;
  /** Defaults of the per-task limits. */
  maxWallSeconds?: number;
  maxTurns?: number;
  maxTokens?: number;
  /** Test commands run at most this long. Default 600 s. */
  testTimeoutSeconds?: number;
  /** Whether to run Codex in its sandbox (see `probeCodexSandbox`). Default true. */
  sandbox?: boolean;
}

/** Patches larger than this fail the task rather than overfill the result message. */
const MAX_PATCH_BYTES = 4 * 1024 * 1024;

/**
 * @example
 * new Worker({ ..., executor: new AgentExecutor({ gatewayKey: process.env.KOUBOU_AGENT_KEY!, fetchWorkspace }) });
 */
export class AgentExecutor implements Executor {
  readonly name = 'agent';
  /** It makes no model call of its own: its requests are gateway tasks, each reserved on its own. */
  readonly maxCalls = 0;
  private readonly o: Required<Omit<AgentExecutorOptions, 'fetchWorkspace' | 'gatewayKey'>> & Pick<AgentExecutorOptions, 'fetchWorkspace' | 'gatewayKey'>;

  constructor(options: AgentExecutorOptions) {
    this.o = {
      gatewayUrl: 'http://127.0.0.1:8788/v1', codex: 'codex', workRoot: join(homedir(), '.koubou', 'agents'),
      maxWallSeconds: 1800, maxTurns: 50, maxTokens: 5_000_000, testTimeoutSeconds: 600, sandbox: true, ...options,
    };
  }

  async run(ctx: ExecutorContext) {
    const { item } = ctx;
    const ws = item.workspace;
    if (!ws) return { ok: false as const, outcome: await ctx.fail('NO_WORKSPACE', 'an agent task needs a workspace (koubou submit --repo DIR)') };
    const bundle = await this.o.fetchWorkspace(ws.bucket, ws.object);
    if (!bundle) return { ok: false as const, outcome: await ctx.fail('WORKSPACE_MISSING', `workspace ${ws.object} is not in the ${ws.bucket} bucket (expired?)`) };
    mkdirSync(this.o.workRoot, { recursive: true });
    const dir = mkdtempSync(join(this.o.workRoot, `${item.taskId}-`));
    try {
      const clone = join(dir, 'workspace');
      mkdirSync(clone);
      checkoutWorkspace(bundle, ws.commit, clone);
      const home = join(dir, 'codex-home');
      mkdirSync(home);
      const maxTokens = item.agent?.maxTokens ?? this.o.maxTokens;
      writeFileSync(join(home, 'config.toml'), codexConfig(this.o.gatewayUrl, `koubou/${item.tier}`, item.taskId, item.attempt, maxTokens, item.parentToken));
      ctx.progress(`agent started in a clone of ${ws.files} files (${this.o.sandbox ? 'sandbox workspace-write' : 'no sandbox on this host'})`);
      const run = await runCodex({
        codex: this.o.codex, cwd: clone, home, prompt: taskPrompt(item), env: { KOUBOU_API_KEY: this.o.gatewayKey },
        sandbox: this.o.sandbox ? 'workspace-write' : 'danger-full-access', signal: ctx.signal,
        maxWallMs: (item.agent?.maxWallSeconds ?? this.o.maxWallSeconds) * 1000,
        maxCommands: item.agent?.maxTurns ?? this.o.maxTurns, onActivity: (line) => ctx.progress(line),
      });
      if (run.end === 'cancelled') return { ok: false as const, outcome: await ctx.cancelled() };
      if (run.end !== 'done') {
        // The gateway refuses the request past the token limit, and says so.
        const tokens = run.end === 'failed' && /token limit/i.test(run.error ?? '');
        const why = run.end === 'time_limit' ? `ran over its time limit of ${item.agent?.maxWallSeconds ?? this.o.maxWallSeconds} s`
          : run.end === 'turn_limit' ? `reached its limit of ${item.agent?.maxTurns ?? this.o.maxTurns} commands`
            : tokens ? `reached its token limit of ${maxTokens}`
              : `failed (exit ${run.exitCode}): ${run.error ?? run.stderrTail.trim().split('\n').at(-1) ?? ''}`;
        return { ok: false as const, outcome: await ctx.fail(run.end === 'failed' && !tokens ? 'AGENT_FAILED' : 'AGENT_LIMIT', `the agent ${why}`) };
      }
      const change = workspaceChange(clone);
      if (Buffer.byteLength(change.patch) > MAX_PATCH_BYTES) {
        return { ok: false as const, outcome: await ctx.fail('PATCH_TOO_LARGE', `the agent's patch is ${Buffer.byteLength(change.patch)} bytes, over ${MAX_PATCH_BYTES}`) };
      }
      // The tests run the code the agent wrote: in the same sandbox as the agent, where there is one.
      const sandbox: { prefix: string[]; env: Record<string, string> } = this.o.sandbox
        ? { prefix: [this.o.codex, 'sandbox', '-c', 'sandbox_mode="workspace-write"', '--'], env: { CODEX_HOME: home } }
        : { prefix: [], env: {} };
      const test = item.agent?.test ? runTests(clone, item.agent.test, this.o.testTimeoutSeconds * 1000, sandbox) : undefined;
      if (test) ctx.progress(`tests: ${test.command} exited ${test.exitCode ?? 'killed'}`);
      const u = run.usage;
      return {
        ok: true as const,
        result: {
          text: run.message || '(the agent ended without a message)',
          model: `koubou/${item.tier}`,
          usage: { promptTokens: u.input, cachedPromptTokens: u.cached, completionTokens: u.output, reasoningTokens: u.reasoning },
          costUsd: 0,
          patch: change.patch,
          agent: { turns: run.turns, commands: run.commands, filesChanged: change.files, diffstat: change.diffstat, ...(test ? { test } : {}) },
        },
      };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

/**
 * Codex's config for one task: the koubou gateway as its only model provider, pinned to the
 * tier, its requests marked with the task (their parent) and one session per attempt, no retries
 * of its own (koubou retries and falls back), no network inside the sandbox.
 */
export function codexConfig(gatewayUrl: string, model: string, taskId: string, attempt: number, maxTokens: number, parentToken?: string): string {
  return [
    `model = ${JSON.stringify(model)}`,
    'model_provider = "koubou"',
    '',
    '[model_providers.koubou]',
    'name = "koubou"',
    `base_url = ${JSON.stringify(gatewayUrl)}`,
    'env_key = "KOUBOU_API_KEY"',
    'wire_api = "responses"',
    'request_max_retries = 0',
    'stream_max_retries = 0',
    `http_headers = { "x-koubou-parent-task" = ${JSON.stringify(taskId)}, ${parentToken ? `"x-koubou-parent-token" = "${parentToken}", ` : ''}"x-koubou-session" = ${JSON.stringify(`${taskId}#${attempt}`)}, "x-koubou-token-limit" = "${maxTokens}" }`,
    '',
    '[sandbox_workspace_write]',
    'network_access = false',
    'exclude_slash_tmp = true',
    '',
  ].join('\n');
}

/**
 * Whether Codex's `workspace-write` sandbox works on this host: a write inside the workspace
 * must succeed and one outside it must fail. Used for the worker's start-up line.
 */
export function probeCodexSandbox(codex = 'codex', workRoot = join(homedir(), '.koubou', 'agents')): { ok: boolean; detail: string } {
  mkdirSync(workRoot, { recursive: true });
  const dir = mkdtempSync(join(workRoot, 'probe-'));
  try {
    const outside = join(homedir(), '.koubou', `sandbox-probe-${process.pid}`);
    const r = spawnSync(codex, ['sandbox', '-c', 'sandbox_mode="workspace-write"', '--', 'sh', '-c', `touch inside && ! touch ${outside} 2>/dev/null && echo sandboxed`],
      { cwd: dir, env: { ...process.env, CODEX_HOME: dir }, encoding: 'utf8', timeout: 20_000 });
    rmSync(outside, { force: true });
    if (r.error) return { ok: false, detail: `${codex} not found (${r.error.message}): this worker takes no agent work` };
    return r.stdout.includes('sandboxed')
      ? { ok: true, detail: 'Codex sandbox workspace-write (writes outside the workspace refused, no network)' }
      : { ok: false, detail: `Codex's sandbox does not work on this host (${(r.stderr || r.stdout).trim().split('\n').at(-1) ?? 'no output'})` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
