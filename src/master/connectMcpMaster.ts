/**
 * A master's MCP client without an agent CLI: the official SDK's Client over stdio, starting
 * `koubou mcp` as an agent CLI would from its configuration. The demo's master when Codex is not
 * here, and the MCP tests' client.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { LoggingMessageNotificationSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';

export interface McpMaster {
  client: Client;
  /** The logging notifications received, in order. */
  notes: Record<string, unknown>[];
  /** Calls a tool (waiting up to two minutes) and returns its result as is, an error result included. */
  call(tool: string, args: Record<string, unknown>): Promise<CallToolResult>;
  close(): Promise<void>;
}

/**
 * @example
 * const master = await connectMcpMaster({ command: 'koubou', args: ['mcp'], cwd: '/srv/koubou' });
 * const r = await master.call('delegate', { prompt: 'fix the typo in README.md' });
 * await master.close();
 */
export async function connectMcpMaster(o: { command: string; args: string[]; cwd: string; env: Record<string, string>; stderr?: 'inherit' | 'ignore'; name?: string }): Promise<McpMaster> {
  const transport = new StdioClientTransport({ command: o.command, args: o.args, cwd: o.cwd, env: o.env, stderr: o.stderr ?? 'inherit' });
  const client = new Client({ name: o.name ?? 'koubou-master', version: '1.0.0' });
  const notes: Record<string, unknown>[] = [];
  client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => { notes.push(n.params.data as Record<string, unknown>); });
  await client.connect(transport);
  return {
    client, notes,
    call: async (tool, args) => (await client.callTool({ name: tool, arguments: args }, undefined, { timeout: 120_000 })) as CallToolResult,
    close: () => client.close(),
  };
}
