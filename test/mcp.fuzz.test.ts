/**
 * `koubou mcp`, fuzzed at its door (issue 21, "bad input at every door"): a master's client may
 * send any arguments to any tool, and anything at all down the stdio pipe. Each bad call gets an
 * error in MCP's own shape (a tool error naming what was wrong, or a JSON-RPC error), the server
 * never dies, and a good call made after them all still delegates and ends.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { applyInput, delegateInput, statusInput, taskIdInput, waitInput } from '../src/mcp/toolSchemas.ts';
import { KOUBOU } from './support/cli.ts';
import { masterHome, startMaster, type Master } from './support/mcpMaster.ts';
import { startSystem, type TestSystem } from './support/system.ts';

const SCHEMAS = { delegate: delegateInput, wait: waitInput, result: taskIdInput, apply: applyInput, cancel: taskIdInput, status: statusInput } as const;
const TOOLS = Object.keys(SCHEMAS) as (keyof typeof SCHEMAS)[];

let sys: TestSystem;
let master: Master;

beforeAll(async () => {
  sys = await startSystem();
  master = await startMaster(sys.nats, ['--session', 'mcp-fuzz']);
}, 60_000);
afterAll(async () => {
  await master?.close();
  await sys?.stop();
});

/** Values of every kind, and near-misses of the tools' own fields (wrong types, bounds, unknown keys). */
const anyArgs = fc.oneof(
  fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 5 }),
  fc.record({
    prompt: fc.oneof(fc.constant(''), fc.constant('   '), fc.integer(), fc.constant(null), fc.array(fc.string(), { maxLength: 2 })),
    priority: fc.oneof(fc.integer({ min: -5, max: 20 }), fc.double(), fc.string({ maxLength: 3 })),
    tier: fc.oneof(fc.string({ maxLength: 20 }), fc.integer()),
  }, { requiredKeys: ['prompt'] }),
  fc.record({
    taskIds: fc.oneof(fc.constant([]), fc.array(fc.string({ maxLength: 140 }), { maxLength: 3 }), fc.string()),
    taskId: fc.oneof(fc.string({ maxLength: 140 }), fc.integer(), fc.constant('../../etc/passwd')),
    branch: fc.oneof(fc.string({ maxLength: 30 }), fc.constant('--force'), fc.constant('a b')),
    timeoutSeconds: fc.oneof(fc.double(), fc.integer({ min: -10, max: 10_000 })),
  }),
);

/** One call's answer: a tool error with text, a JSON-RPC error, or (for a valid shape) a tool answer. */
async function answerOf(tool: string, args: unknown): Promise<{ kind: 'tool-error' | 'rpc-error' | 'answer'; text: string }> {
  try {
    const r = await master.client.callTool({ name: tool, arguments: args as Record<string, unknown> }, undefined, { timeout: 20_000 });
    const text = (r.content as { type: string; text?: string }[]).map((c) => c.text ?? '').join('\n');
    return { kind: r.isError ? 'tool-error' : 'answer', text };
  } catch (e) {
    if (e instanceof McpError) return { kind: 'rpc-error', text: e.message };
    throw e;
  }
}

describe('koubou mcp, fuzzed', () => {
  it('answers any arguments to any tool with an error in MCP\'s shape that says what was wrong', async () => {
    await fc.assert(fc.asyncProperty(fc.constantFrom(...TOOLS), anyArgs, async (tool, args) => {
      const valid = SCHEMAS[tool].safeParse(args).success;
      // A valid status is an answer; a valid task-id shape names no task of this session and is refused.
      fc.pre(!(valid && (tool === 'status' || tool === 'delegate')));
      const { kind, text } = await answerOf(tool, args);
      expect(kind).not.toBe('answer');
      expect(text.length).toBeGreaterThan(0);
      if (!valid) {
        // The message names a field of the call (or says the input was not what the tool takes).
        const fields = Object.keys(SCHEMAS[tool].shape);
        expect(fields.some((f) => text.includes(f)) || /unrecognized|invalid|expected|required/i.test(text), `${tool} ${JSON.stringify(args)} → ${text}`).toBe(true);
      }
    }), { numRuns: 60 });
    // Still serving: a good subtask after all of that is delegated and ends.
    const d = await master.call('delegate', { prompt: 'fix a typo in the README', tier: 'local' });
    expect(d.isError).toBeFalsy();
    const { taskId } = d.structuredContent as { taskId: string };
    const w = await master.call('wait', { taskIds: [taskId], timeoutSeconds: 60 });
    expect((w.structuredContent as { ended: { status: string }[] }).ended[0]?.status).toBe('completed');
  }, 180_000);

  it('outlives anything down its stdio pipe, and answers the next well-formed request', async () => {
    const child = spawn(process.execPath, [KOUBOU, 'mcp', '--nats', sys.nats.url, '--session', 'mcp-fuzz-raw'], {
      cwd: masterHome(sys.nats), env: { KOUBOU_CONFIG: '', PATH: process.env.PATH ?? '' }, stdio: ['pipe', 'pipe', 'ignore'],
    });
    const lines: string[] = [];
    createInterface({ input: child.stdout! }).on('line', (l) => lines.push(l));
    let exited: number | null = null;
    child.on('exit', (code) => { exited = code ?? -1; });
    try {
      const junk = fc.sample(fc.oneof(
        fc.string({ maxLength: 200 }).map((s) => s.replace(/\n/g, ' ')),
        fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
        fc.constant('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":'),
        fc.constant('['.repeat(5000)),
        fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b).toString('latin1').replace(/\n/g, ' ')),
      ), { numRuns: 80, seed: 21 });
      for (const line of junk) child.stdin!.write(`${line}\n`);
      child.stdin!.write(`${JSON.stringify({ jsonrpc: '2.0', id: 'hello', method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'fuzz', version: '1' } } })}\n`);
      const deadline = Date.now() + 30_000;
      while (!lines.some((l) => l.includes('"id":"hello"')) && exited === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(exited).toBeNull();
      const answer = JSON.parse(lines.find((l) => l.includes('"id":"hello"'))!) as { result?: { serverInfo?: { name?: string } } };
      expect(answer.result?.serverInfo?.name).toBeTruthy();
    } finally {
      child.kill();
    }
  }, 60_000);
});
