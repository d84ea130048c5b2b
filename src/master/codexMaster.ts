/**
 * OpenAI's Codex CLI as a master: a CODEX_HOME whose config.toml names `koubou mcp` as the MCP
 * server `koubou` and a model provider, and one batch session (`codex exec --json`) in it, whose
 * MCP tool calls are read back from its JSON events. The demo's master and the Codex master test
 * both run on this.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** How Codex starts `koubou mcp`: README.md's `[mcp_servers.koubou]` keys, filled in. */
export interface KoubouMcpServer {
  command: string;
  args: string[];
  /** Where `.koubou/credentials.env` is (where `koubou up` runs). */
  cwd: string;
  /** Environment for the server (Codex passes it only a few variables of its own). */
  env?: Record<string, string>;
}

/** The master's own model: an OpenAI Responses API (a `koubou sim` in the demo and the tests). */
export interface MasterModel {
  /** e.g. `http://127.0.0.1:4000/v1`. */
  baseUrl: string;
  /** The variable Codex reads the API key from (set it in runCodexMaster's env). */
  keyVar: string;
}

const toml = (v: unknown): string => JSON.stringify(v);

/**
 * The `[mcp_servers.koubou]` block, with the keys README.md documents.
 *
 * @example
 * koubouMcpBlock({ command: 'koubou', args: ['mcp'], cwd: '/srv/koubou' }); // '[mcp_servers.koubou]\ncommand = "koubou"\n…'
 */
export function koubouMcpBlock(server: KoubouMcpServer): string {
  return [
    '[mcp_servers.koubou]',
    `command = ${toml(server.command)}`,
    `args = [${server.args.map(toml).join(', ')}]`,
    `cwd = ${toml(server.cwd)}`,
    ...(server.env && Object.keys(server.env).length ? [`env = { ${Object.entries(server.env).map(([k, v]) => `${toml(k)} = ${toml(v)}`).join(', ')} }`] : []),
    'required = true',
    'startup_timeout_sec = 30',
    'tool_timeout_sec = 3600',
    'default_tools_approval_mode = "approve"',
  ].join('\n');
}

/**
 * Writes `home/config.toml`: the model provider, no approvals, and the MCP block (README.md's, or
 * koubouMcpBlock's). CODEX_HOME is best outside the temp directory: Codex makes its helper
 * binaries only there (a master that only calls MCP tools works either way, with a warning).
 *
 * @example
 * writeCodexMasterHome(home, koubouMcpBlock(server), { baseUrl: `${sim.url}/v1`, keyVar: 'MASTER_SIM_KEY' });
 */
export function writeCodexMasterHome(home: string, mcpBlock: string, model: MasterModel): void {
  mkdirSync(home, { recursive: true });
  writeFileSync(join(home, 'config.toml'), [
    'model = "gpt-5"', 'model_provider = "master"', 'approval_policy = "never"', '',
    mcpBlock, '',
    '[model_providers.master]', 'name = "master"', `base_url = ${toml(model.baseUrl)}`, `env_key = ${toml(model.keyVar)}`,
    'wire_api = "responses"', 'request_max_retries = 0', 'stream_max_retries = 0', '',
  ].join('\n'));
}

/** One MCP tool call of the session, as Codex reports it. */
export interface McpToolCall {
  server: string;
  tool: string;
  status: string;
  arguments: unknown;
  /** The tool's structured content, when it answered with one. */
  structured: Record<string, unknown> | null;
  error: string | null;
}

export interface CodexMasterRun {
  code: number | null;
  /** Every JSON event, in order. */
  events: Record<string, unknown>[];
  /** The MCP tool calls, completed or failed, in order. */
  calls: McpToolCall[];
  stderr: string;
}

/**
 * Runs one `codex exec --json` session in `cwd` with `home` as CODEX_HOME, the prompt on stdin;
 * killed after `timeoutMs`.
 *
 * @example
 * const run = await runCodexMaster({ home, cwd: repo, prompt: 'hand it to koubou', env: { MASTER_SIM_KEY: 'sim' } });
 * run.calls.map((c) => c.tool); // ['delegate', 'wait', 'apply']
 */
export function runCodexMaster(o: { home: string; cwd: string; prompt: string; env?: Record<string, string>; timeoutMs?: number; codex?: string }): Promise<CodexMasterRun> {
  return new Promise((resolve, reject) => {
    const args = ['exec', '--json', '--ephemeral', '--skip-git-repo-check', '--sandbox', 'workspace-write', '-C', o.cwd, '-'];
    const child = spawn(o.codex ?? 'codex', args, { cwd: o.cwd, env: { ...process.env, ...o.env, CODEX_HOME: o.home }, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString('utf8'); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString('utf8'); });
    const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 300_000);
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.on('close', (code) => {
      clearTimeout(timer);
      const events = out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
      resolve({ code, events, calls: mcpToolCalls(events), stderr });
    });
    child.stdin.end(o.prompt);
  });
}

type ToolItem = { type?: string; server?: string; tool?: string; status?: string; arguments?: unknown; result?: { structured_content?: unknown } | null; error?: { message?: string } | null };

/** The completed `mcp_tool_call` items of a session's events. */
export function mcpToolCalls(events: readonly Record<string, unknown>[]): McpToolCall[] {
  return events
    .filter((e) => e.type === 'item.completed' && (e.item as ToolItem | undefined)?.type === 'mcp_tool_call')
    .map((e) => {
      const item = e.item as ToolItem;
      const structured = item.result?.structured_content;
      return {
        server: item.server ?? '', tool: item.tool ?? '', status: item.status ?? '', arguments: item.arguments ?? null,
        structured: structured && typeof structured === 'object' ? structured as Record<string, unknown> : null,
        error: item.error?.message ?? null,
      };
    });
}
