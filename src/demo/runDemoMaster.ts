/**
 * The demo's master: a scripted MCP client (the official SDK's, over stdio) that starts
 * `koubou mcp` as an agent CLI would from its configuration, delegates subtasks, waits for
 * them, reads their results and prints the session's tree: each child's tier, escalations,
 * test outcome and cost. A scripted client rather than a Codex session: the demo needs no
 * agent CLI for this step, and the tree is the same.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { dollars } from './report.ts';
import { FAKE_PASSWORD } from './samples.ts';

export interface DemoMasterOptions {
  /** The demo's NATS URL. */
  natsUrl: string;
  /** Where `koubou mcp` starts: the directory holding `.koubou/credentials.env`. */
  cwd: string;
  /** More environment for `koubou mcp` (the bus's CA when the demo's NATS has TLS). */
  env?: Record<string, string>;
  /** How to run `koubou` (default: this process's own entry point). */
  koubou?: { command: string; args: string[] };
}

/** The master's subtasks: a secret (stays local), a hard design (the high tier). */
const SUBTASKS = [
  { label: 'secret', prompt: `fix the login bug; the staging db password = "${FAKE_PASSWORD}"` },
  { label: 'hard', prompt: 'design the architecture of a distributed, scalable event pipeline with consensus between regions' },
];

interface Hop { from: string; to: string }
interface Child { taskId: string; status: string; tier: string | null; costUsd: number; fallbacks: Hop[]; escalations: Hop[]; test: { passed: boolean } | null }

/**
 * Runs the master's session and returns the lines of its tree.
 *
 * @example
 * for (const line of await runDemoMaster({ natsUrl, cwd: process.cwd() })) console.log(line);
 */
export async function runDemoMaster(options: DemoMasterOptions): Promise<string[]> {
  const session = `demo-master-${Date.now().toString(36)}`;
  const koubou = options.koubou ?? { command: process.execPath, args: [...process.execArgv, process.argv[1]!] };
  const transport = new StdioClientTransport({
    command: koubou.command, args: [...koubou.args, 'mcp', '--nats', options.natsUrl, '--session', session],
    cwd: options.cwd, env: { ...process.env, KOUBOU_CONFIG: process.env.KOUBOU_CONFIG ?? '', ...options.env } as Record<string, string>, stderr: 'ignore',
  });
  const client = new Client({ name: 'koubou-demo-master', version: '1.0.0' });
  await client.connect(transport);
  try {
    const call = async <T>(name: string, args: Record<string, unknown>): Promise<T> => {
      const r = (await client.callTool({ name, arguments: args }, undefined, { timeout: 120_000 })) as CallToolResult;
      if (r.isError) throw new Error(`koubou mcp ${name}: ${JSON.stringify(r.content)}`);
      return r.structuredContent as T;
    };
    const ids: string[] = [];
    for (const s of SUBTASKS) ids.push((await call<{ taskId: string }>('delegate', { prompt: s.prompt })).taskId);
    await call('wait', { taskIds: ids, timeoutSeconds: 90 });
    const children = await Promise.all(ids.map((taskId) => call<Child>('result', { taskId })));
    const total = children.reduce((sum, c) => sum + c.costUsd, 0);
    return [
      `MASTER ${session} (a scripted MCP client through koubou mcp): ${children.length} subtasks, ${dollars(total)}`,
      ...children.map((c, i) => {
        const hops = (list: Hop[]) => (list.length ? list.map((e) => `${e.from}→${e.to}`).join(', ') : '-');
        const test = c.test ? (c.test.passed ? 'passed' : 'failed') : '-';
        return `  ${i === children.length - 1 ? '└─' : '├─'} ${c.taskId}  ${SUBTASKS[i]!.label.padEnd(6)}  tier ${c.tier ?? '-'}  fallbacks ${hops(c.fallbacks)}  escalations ${hops(c.escalations)}  tests ${test}  ${dollars(c.costUsd)}  ${c.status}`;
      }),
    ];
  } finally {
    await client.close();
  }
}
