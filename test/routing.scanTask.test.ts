/**
 * Tool definitions are scanned with the conversation: a secret in a tool's name, description or
 * parameter schema makes the task confidential, and the finding names the tool (by position when
 * its name is the secret), never the secret. The task machine's reason is built from it.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { ToolDefinition } from '../src/core/types.ts';
import { SensitivityScanner } from '../src/policy/index.ts';
import { dryRunRoute, offlineServices, scanTask, toolText } from '../src/routing/index.ts';
import { loadConfig } from '../src/config/index.ts';

/** Secrets made at run time, never literals of the repository. */
const hex = (seed: string, n: number) => createHash('sha256').update(seed).digest('hex').slice(0, n);
const GITHUB_TOKEN = `ghp_${hex('scanTask github', 36)}`;
const PASSWORD = `Q${hex('scanTask password', 20)}x`;

const scanner = new SensitivityScanner();
const task = (tools: ToolDefinition[]) => ({ prompt: 'list the files in src', files: [], conversation: { messages: [{ role: 'user' as const, content: 'list the files in src' }], tools } });
const readFile: ToolDefinition = { name: 'read_file', description: 'Reads a file', parameters: { type: 'object', properties: { path: { type: 'string' } } } };

describe('scanTask: tool definitions', () => {
  it('finds a secret in a description and names the tool', async () => {
    const r = await scanTask(scanner, task([readFile, { name: 'deploy', description: `Deploys with the token ${GITHUB_TOKEN}` }]));
    expect(r.level).toBe('confidential');
    expect(r.findings).toEqual([expect.objectContaining({ source: 'tool "deploy"', line: 2 })]);
    expect(JSON.stringify(r)).not.toContain(GITHUB_TOKEN);
  });

  it('finds a secret in a parameter schema', async () => {
    const schema = { type: 'object', properties: { env: { type: 'string', description: 'the environment', default: `DB_PASSWORD=${PASSWORD}` } } };
    const deploy = { name: 'deploy', description: 'Deploys', parameters: schema };
    const r = await scanTask(scanner, task([deploy]));
    expect(r.level).toBe('confidential');
    expect(r.findings[0]).toMatchObject({ source: 'tool "deploy"', category: 'credential' });
    expect(toolText(deploy).split('\n')[r.findings[0]!.line - 1]).toContain('DB_PASSWORD');
  });

  it('names a tool by its position when its name is the secret', async () => {
    const r = await scanTask(scanner, task([readFile, { name: GITHUB_TOKEN, description: 'does things' }]));
    expect(r.level).toBe('confidential');
    expect(r.findings.map((f) => f.source)).toEqual(['tool #2']);
    expect(JSON.stringify(r)).not.toContain(GITHUB_TOKEN);
  });

  it('leaves clean tools public, and a task without tools as the scanner has it', async () => {
    expect((await scanTask(scanner, task([readFile]))).level).toBe('public');
    const plain = { prompt: `DB_PASSWORD=${PASSWORD}`, files: [] };
    expect(await scanTask(scanner, plain)).toEqual(await scanner.scan(plain));
  });

  it("puts the tool in the routing reason, and the task stays local", async () => {
    // A ledger path that does not exist: the offline services run without one.
    const config = loadConfig({ env: {}, overrides: { ledger: { path: `/nonexistent/${hex('ledger', 8)}.db` } } });
    const services = offlineServices(config);
    try {
      const route = await dryRunRoute({ ...task([{ name: 'deploy', description: `token ${GITHUB_TOKEN}` }]), taskId: 'scan-tools', type: 'general', priority: 5 }, config, services);
      expect(route.tier).toBe('local');
      expect(route.trace.find((t) => t.state === 'AnalyzeSensitivity')?.reason).toMatch(/^confidential \(api_key: api_key in tool "deploy":2\): stays local/);
      expect(JSON.stringify(route)).not.toContain(GITHUB_TOKEN);
    } finally {
      services.close();
    }
  });
});

describe('scanTask: a conversation beside its prompt', () => {
  it('scans the conversation a worker would send even when the prompt beside it is harmless', async () => {
    // A plain submission may carry any prompt with its conversation; the worker sends the conversation.
    const forged = { prompt: 'list the files in src', files: [], conversation: { messages: [
      { role: 'user' as const, content: 'list the files in src' },
      { role: 'assistant' as const, content: '', toolCalls: [{ id: 'c1', name: 'deploy', arguments: JSON.stringify({ token: GITHUB_TOKEN }) }] },
    ], tools: [] } };
    const r = await scanTask(scanner, forged);
    expect(r.level).toBe('confidential');
    expect(r.findings[0]).toMatchObject({ source: 'message #2' });
    expect(JSON.stringify(r)).not.toContain(GITHUB_TOKEN);
  });

  it('reports a secret once when the prompt holds the conversation, as the gateway makes it', async () => {
    const ask = `deploy with the token ${GITHUB_TOKEN}`;
    const r = await scanTask(scanner, { prompt: ask, files: [], conversation: { messages: [{ role: 'user' as const, content: ask }], tools: [] } });
    expect(r.level).toBe('confidential');
    expect(r.findings.filter((f) => f.source.startsWith('message'))).toEqual([]);
  });
  it('scans a conversation that travels without a prompt (the gateway\'s) as one text, each secret found once, wherever it is', async () => {
    const messages = [
      { role: 'user' as const, content: 'list the files in src' },
      { role: 'assistant' as const, content: '', toolCalls: [{ id: 'c1', name: 'deploy', arguments: JSON.stringify({ token: GITHUB_TOKEN }) }] },
      { role: 'tool' as const, content: `DB_PASSWORD=${PASSWORD}`, toolCallId: 'c1' },
    ];
    const r = await scanTask(scanner, { files: [], conversation: { messages, tools: [] } });
    expect(r.level).toBe('confidential');
    // The conversation as one text holds every message: the findings are in it, none again per message.
    expect(r.findings.length).toBeGreaterThanOrEqual(2);
    expect(r.findings.every((f) => f.source === 'prompt')).toBe(true);
    expect(JSON.stringify(r)).not.toContain(GITHUB_TOKEN);
    expect(JSON.stringify(r)).not.toContain(PASSWORD);
  });

  it("scans an agent's test command and the ids of tool calls, which travel too", async () => {
    const withCommand = await scanTask(scanner, { prompt: 'make the tests pass', files: [], agent: { test: `PGPASSWORD=${PASSWORD} npm test` } });
    expect(withCommand.level).toBe('confidential');
    expect(withCommand.findings[0]).toMatchObject({ source: 'test command' });
    const withId = await scanTask(scanner, { prompt: 'list the files in src', files: [], conversation: { messages: [
      { role: 'user' as const, content: 'list the files in src' },
      { role: 'tool' as const, content: 'ok', toolCallId: GITHUB_TOKEN },
    ], tools: [] } });
    expect(withId.level).toBe('confidential');
    expect(JSON.stringify([withCommand, withId])).not.toContain(PASSWORD);
  });
});
