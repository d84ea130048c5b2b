import type { Command } from 'commander';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { createMcpServer, MasterSession, notifyChildEnded, ParentLedger } from '../../../actors/mcp/index.ts';
import { DOOR_KEY_VAR } from '../../bus/index.ts';
import { InputError } from '../../core/errors.ts';
import type { ParentEnd } from '../../db/parentCaps.ts';
import type { SessionCaps } from '../../mcp/sessionCaps.ts';
import { natsContext, natsOption } from '../natsContext.ts';
import { parseIntOption } from '../parseIntOption.ts';

interface McpOptions { nats?: string; session?: string; maxUsd?: string; maxInFlight?: string; maxChildren?: string }

/** A money option: a non-negative number of dollars. */
function parseUsd(option: string, value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0) throw new InputError(`${option} must be a non-negative number of dollars, got ${JSON.stringify(value)}`);
  return n;
}

export function registerMcp(program: Command): void {
  natsOption(
    program
      .command('mcp')
      .description('serve MCP on stdio for a master agent (Codex, Claude Code, opencode, Qwen Code): delegate subtasks to the tiers, wait, take results and patches')
      .option('--session <id>', 'the session\'s id, the parent task of its subtasks, which are <id>-1, <id>-2, … (default: a fresh mcp-…)')
      .option('--max-usd <dollars>', 'the most this session\'s subtasks may spend (default: config mcp.max_usd)')
      .option('--max-in-flight <n>', 'the most subtasks running at once (default: config mcp.max_in_flight)')
      .option('--max-children <n>', 'the most subtasks in all (default: config mcp.max_children)')
      .addHelpText('after', `
Started by the master's client from its MCP configuration (README.md, "A master and its
craftsmen"), e.g. in Codex's ~/.codex/config.toml:
  [mcp_servers.koubou]
  command = "koubou"
  args = ["mcp", "--max-usd", "5"]
Tools: delegate, wait, result, apply, cancel, status. The session is a parent task: its subtasks
are its children (koubou costs --tree, koubou watch --parent ID).`),
  ).action(async (opts: McpOptions) => {
    const ctx = natsContext(program, opts);
    const doorKey = ctx.env[DOOR_KEY_VAR];
    if (!doorKey) throw new InputError(`${DOOR_KEY_VAR} is not set: koubou mcp seals its submissions with it, and the routers check them (koubou init writes it in .koubou/credentials.env)`);
    const defaults = ctx.config.mcp;
    const caps: SessionCaps = {
      usd: opts.maxUsd !== undefined ? parseUsd('--max-usd', opts.maxUsd) : defaults.max_usd,
      inFlight: opts.maxInFlight !== undefined ? parseIntOption('--max-in-flight', opts.maxInFlight, 1) : defaults.max_in_flight,
      total: opts.maxChildren !== undefined ? parseIntOption('--max-children', opts.maxChildren, 1) : defaults.max_children,
    };
    if (opts.session !== undefined && !/^[A-Za-z0-9_-]{1,100}$/.test(opts.session)) throw new InputError(`--session ${JSON.stringify(opts.session)}: letters, digits, _ or - (at most 100)`);
    const nc = await ctx.connect('mcp', 'koubou-mcp');
    let notify: (child: Parameters<typeof notifyChildEnded>[1]) => void = () => {};
    const session = new MasterSession({
      nc, doorKey, caps, ledger: new ParentLedger(nc), maxWorkspaceBytes: ctx.config.workspace.max_bytes,
      ...(opts.session ? { sessionId: opts.session } : {}), onChildEnded: (c) => notify(c),
    });
    await session.open();
    const server = createMcpServer(session);
    notify = (c) => notifyChildEnded(server, c);
    const transport = new StdioServerTransport();
    // The session ends when its client closes stdio, or when the server is stopped (SIGTERM, SIGINT).
    const ended = new Promise<ParentEnd>((resolve) => {
      transport.onclose = () => resolve('client_closed');
      process.stdin.once('end', () => resolve('client_closed'));
      for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => resolve('server_stopped'));
    });
    await server.connect(transport);
    process.stderr.write(`koubou mcp: session ${session.id} on ${ctx.url}\n`);
    const end = await ended;
    try {
      await session.close(end);
    } catch (e) {
      process.stderr.write(`koubou mcp: session ${session.id} not marked ended in the ledger: ${(e as Error).message}\n`);
    }
    await server.close(); // lets go of stdin, so a stopped server exits
    await nc.drain();
  });
}
