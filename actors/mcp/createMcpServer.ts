/**
 * The MCP face of a master's session: the six tools on the official SDK's McpServer, each
 * answering with structured content and the same as readable text; a child's end is sent to the
 * client as a logging notification. A refusal (a foreign task id, a cap, a tree that moved) is a
 * tool error naming the field; the SDK refuses arguments that do not fit a tool's schema, also
 * naming the field.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { usd } from '../../src/core/format.ts';
import {
  applyInput, applyOutput, cancelOutput, delegateInput, delegateOutput, resultOutput, statusInput, statusOutput,
  taskIdInput, waitInput, waitOutput,
} from '../../src/mcp/toolSchemas.ts';
import type { ChildTask } from './ChildTask.ts';
import type { MasterSession } from './MasterSession.ts';

const answer = <T extends Record<string, unknown>>(structured: T, text: string): CallToolResult => ({
  content: [{ type: 'text', text }], structuredContent: structured,
});

/**
 * @example
 * const server = createMcpServer(session);
 * await server.connect(new StdioServerTransport());
 */
export function createMcpServer(session: MasterSession): McpServer {
  const server = new McpServer({ name: 'koubou', version: '0.1.0' }, {
    capabilities: { logging: {} },
    instructions: 'koubou hands subtasks to its tiers of craftsmen (cloud GPT-5 and local models), routed by sensitivity, difficulty and budget. '
      + 'delegate a subtask (with repo: a coding agent works on a copy of your working tree), wait for it, read its result, apply its patch.',
  });
  server.registerTool('delegate', {
    description: 'Hand a subtask to koubou. With repo, a coding agent works in a copy of that working tree and the result is a patch (apply it with apply).',
    inputSchema: delegateInput, outputSchema: delegateOutput,
  }, async (args) => {
    const out = await session.delegate(args);
    return answer(out, `${out.taskId}: ${out.tier ? `routed to ${out.tier}` : 'not routed yet'}${out.reasons.length ? `\n${out.reasons.map((r) => `- ${r}`).join('\n')}` : ''}`);
  });
  server.registerTool('wait', {
    description: 'Wait until the given subtasks have ended (any: true, until one has), or timeoutSeconds.',
    inputSchema: waitInput, outputSchema: waitOutput,
  }, async (args) => {
    const out = await session.wait(args);
    const lines = out.ended.map((e) => `${e.taskId}: ${e.status} on ${e.tier ?? 'no tier'}, ${usd(e.costUsd)}${e.fallbacks.length ? `, ${e.fallbacks.length} fallback(s)` : ''}`);
    if (out.pending.length) lines.push(`still running: ${out.pending.join(', ')}${out.timedOut ? ' (timed out)' : ''}`);
    return answer(out, lines.join('\n'));
  });
  server.registerTool('result', {
    description: 'A subtask\'s result: its answer, diffstat and patch, test outcome, tier, fallbacks, cost and routing reasons.',
    inputSchema: taskIdInput, outputSchema: resultOutput,
  }, async ({ taskId }) => {
    const out = await session.result(taskId);
    const head = `${taskId}: ${out.status} on ${out.tier ?? 'no tier'}, ${usd(out.costUsd)}`;
    const test = out.test ? `tests: \`${out.test.command}\` ${out.test.passed ? 'passed' : `failed (exit ${out.test.exitCode ?? 'killed'})`}` : '';
    const error = out.error ? `${out.error.code}: ${out.error.message}` : '';
    return answer(out, [head, out.text.trim(), out.diffstat ?? '', test, error].filter(Boolean).join('\n\n'));
  });
  server.registerTool('apply', {
    description: 'Apply a completed repo subtask\'s patch to the working tree it was delegated from (refused, naming the files, if the tree moved), or commit it on a new branch.',
    inputSchema: applyInput, outputSchema: applyOutput,
  }, async (args) => {
    const out = await session.apply(args);
    const text = out.branch ? `committed on branch ${out.branch} (${out.commit?.slice(0, 12)}); the working tree is unchanged`
      : out.applied ? `applied to ${out.where}: ${out.files.join(', ')}` : 'nothing to apply: the agent changed no file';
    return answer(out, text);
  });
  server.registerTool('cancel', {
    description: 'Cancel a subtask of this session.', inputSchema: taskIdInput, outputSchema: cancelOutput,
  }, async ({ taskId }) => {
    const out = await session.cancel(taskId);
    return answer(out, out.cancelled ? `cancel of ${taskId} requested` : `${taskId} has already ended (${out.status})`);
  });
  server.registerTool('status', {
    description: 'This session\'s subtasks, their states, the spend against the session\'s cap, and the month\'s budget.',
    inputSchema: statusInput, outputSchema: statusOutput,
  }, async () => {
    const out = await session.status();
    const cap = out.caps.usd === null ? 'no cap' : `cap ${usd(out.caps.usd)}`;
    const lines = [`session ${out.session}: ${usd(out.spentUsd)} spent (${cap}); ${out.inFlight} in flight, ${out.total} in all`,
      ...out.children.map((c) => `  ${c.taskId} ${c.status} ${c.tier ?? '-'} ${usd(c.costUsd)}`)];
    if (out.month) lines.push(`month ${out.month.yearMonth}: ${usd(out.month.spentUsd)} spent, ${usd(out.month.reservedUsd)} reserved of ${usd(out.month.limitUsd)}`);
    return answer(out, lines.join('\n'));
  });
  return server;
}

/** Tells the client a child has ended: a logging notification, which every MCP client shows or keeps. */
export function notifyChildEnded(server: McpServer, child: ChildTask): void {
  void server.sendLoggingMessage({
    level: 'info', logger: 'koubou',
    data: { event: 'child_ended', taskId: child.taskId, status: child.status, tier: child.tier, costUsd: child.costUsd },
  }).catch(() => { /* the client has gone */ });
}
