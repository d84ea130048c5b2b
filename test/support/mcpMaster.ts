/**
 * A master agent's MCP client (the official SDK's Client over stdio) against a real
 * `koubou mcp` process on a test system: what Codex, Claude Code or opencode do when their
 * configuration names koubou's server.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { LoggingMessageNotificationSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { TestNats } from './nats.ts';
import { KOUBOU } from './cli.ts';

export interface Master {
  client: Client;
  /** The logging notifications received, in order. */
  notes: Record<string, unknown>[];
  call(tool: string, args: Record<string, unknown>): Promise<CallToolResult>;
  close(): Promise<void>;
}

/**
 * A directory `koubou mcp` can start in: `.koubou/credentials.env` holding the test system's
 * role passwords and door key, as `koubou init` would write them.
 */
export function masterHome(nats: TestNats): string {
  const dir = mkdtempSync(join(tmpdir(), 'koubou-master-'));
  mkdirSync(join(dir, '.koubou'));
  const lines = Object.entries(nats.env).filter(([k]) => k.startsWith('KOUBOU_')).map(([k, v]) => `${k}=${v}`);
  writeFileSync(join(dir, '.koubou', 'credentials.env'), `${lines.join('\n')}\n`, { mode: 0o600 });
  return dir;
}

export async function startMaster(nats: TestNats, args: string[] = []): Promise<Master> {
  const transport = new StdioClientTransport({
    command: process.execPath, args: [KOUBOU, 'mcp', '--nats', nats.url, ...args],
    cwd: masterHome(nats), env: { KOUBOU_CONFIG: '', PATH: process.env.PATH ?? '' }, stderr: 'inherit',
  });
  const client = new Client({ name: 'koubou-test-master', version: '1.0.0' });
  const notes: Record<string, unknown>[] = [];
  client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => { notes.push(n.params.data as Record<string, unknown>); });
  await client.connect(transport);
  return {
    client, notes,
    call: async (tool, args) => (await client.callTool({ name: tool, arguments: args }, undefined, { timeout: 120_000 })) as CallToolResult,
    close: () => client.close(),
  };
}
