/**
 * `koubou submit --jsonl`: many tasks from one process, one id a line, bad lines reported
 * with their line number while the others go through — against a real system.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runKoubou } from './support/cli.ts';
import { startSystem, uniqueId, type TestSystem } from './support/system.ts';

let sys: TestSystem;
let env: Record<string, string>;

beforeAll(async () => {
  sys = await startSystem();
  env = { ...sys.nats.env, NATS_URL: sys.nats.url };
});
afterAll(async () => { await sys?.stop(); });

describe('koubou submit --jsonl', () => {
  it('submits every valid line, prints their ids in order, and names each bad line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'koubou-jsonl-'));
    writeFileSync(join(dir, 'notes.md'), '# Notes\nrename the helper\n');
    const ids = [uniqueId('j1'), uniqueId('j2'), uniqueId('j3')];
    const lines = [
      JSON.stringify({ taskId: ids[0], prompt: 'fix a typo in the README' }),
      JSON.stringify({ prompt: 'refactor the parser', priority: 11 }),
      JSON.stringify({ taskId: ids[1], prompt: 'rename the helper', type: 'refactoring', files: [join(dir, 'notes.md')] }),
      '{"prompt": "unterminated',
      '',
      JSON.stringify({ taskId: ids[2], prompt: 'add a comment', files: [{ path: 'a.ts', content: 'export const a = 1;\n' }] }),
    ];
    const r = await runKoubou(['submit', '--jsonl', '-'], { env, input: `${lines.join('\n')}\n`, cwd: dir });
    expect(r.stdout.trim().split('\n')).toEqual(ids);
    expect(r.stderr).toMatch(/line 2: priority: must be at most 10 \(found 11\)/);
    expect(r.stderr).toMatch(/line 4: not valid JSON/);
    expect(r.stderr).toMatch(/submitted 3 task\(s\), 2 line\(s\) refused/);
    expect(r.code).toBe(2);
    const finals = await Promise.all(ids.map((id) => sys.finalEvent(id, 30_000)));
    expect(finals.map((f) => f.status)).toEqual(['completed', 'completed', 'completed']);
  }, 60_000);

  it('refuses a line that names a key, a session or a parent, by its line and the field, and submits the rest', async () => {
    const id = uniqueId('j-pinned');
    const lines = [
      JSON.stringify({ prompt: 'fix a typo', clientKey: 'laptop' }),
      JSON.stringify({ taskId: id, prompt: 'fix a typo', pinnedTier: 'local' }),
      JSON.stringify({ prompt: 'fix a typo', parentTaskId: 'p-1', confidentialSession: { session: 's', since: 't' } }),
    ];
    const r = await runKoubou(['submit', '--jsonl', '-'], { env, input: `${lines.join('\n')}\n` });
    expect(r.stderr).toMatch(/line 1: clientKey: set only by a front door \(the gateway, koubou mcp\)/);
    expect(r.stderr).toMatch(/line 3: confidentialSession, parentTaskId: set only by a front door/);
    expect(r.stdout.trim().split('\n')).toEqual([id]);
    expect(r.code).toBe(2);
    // A pin is not bound to anyone: a plain submitter may set it.
    expect(await sys.finalEvent(id, 30_000)).toMatchObject({ status: 'completed', tier: 'local' });
  }, 60_000);

  it('submits a thousand tasks from a file in one process', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'koubou-jsonl-'));
    const file = join(dir, 'tasks.jsonl');
    const prefix = uniqueId('bulk');
    writeFileSync(file, Array.from({ length: 1000 }, (_, i) => JSON.stringify({ taskId: `${prefix}-${i}`, prompt: `fix typo number ${i}` })).join('\n'));
    const r = await runKoubou(['submit', '--jsonl', file], { env, timeoutMs: 60_000 });
    expect(r.code).toBe(0);
    const printed = r.stdout.trim().split('\n');
    expect(printed).toHaveLength(1000);
    expect(printed[999]).toBe(`${prefix}-999`);
    expect(r.stderr).toMatch(/submitted 1000 task\(s\)\n/);
  }, 90_000);

  it('refuses --jsonl with a prompt, and a file that is not there, with exit 2', async () => {
    const both = await runKoubou(['submit', '--jsonl', '-', 'fix a typo'], { env });
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/--jsonl takes its tasks from the lines/);
    const missing = await runKoubou(['submit', '--jsonl', '/nonexistent/tasks.jsonl'], { env });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/--jsonl \/nonexistent\/tasks\.jsonl: no such file/);
  }, 30_000);
});
