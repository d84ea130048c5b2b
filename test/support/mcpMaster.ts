/**
 * A master agent's MCP client (the official SDK's Client over stdio) against a real
 * `koubou mcp` process on a test system: what Codex, Claude Code or opencode do when their
 * configuration names koubou's server.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectMcpMaster, type McpMaster } from '../../src/master/connectMcpMaster.ts';
import type { TestNats } from './nats.ts';
import { KOUBOU } from './cli.ts';

export type Master = McpMaster;

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

export function startMaster(nats: TestNats, args: string[] = []): Promise<Master> {
  return connectMcpMaster({
    command: process.execPath, args: [KOUBOU, 'mcp', '--nats', nats.url, ...args],
    cwd: masterHome(nats), env: { KOUBOU_CONFIG: '', PATH: process.env.PATH ?? '' }, name: 'koubou-test-master',
  });
}
