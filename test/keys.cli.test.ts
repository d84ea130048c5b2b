import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { readSecret } from '../src/cli/commands/keys.ts';
import { Keystore } from '../src/keys/index.ts';
import { KOUBOU } from './support/cli.ts';

const KEY = ['sk', 'cli', 'T3stK3y', 'y'.repeat(24)].join('-');
const PASSWORD = 'cli test password';
const root = mkdtempSync(join(tmpdir(), 'koubou-keys-cli-'));
let n = 0;
afterAll(() => rmSync(root, { recursive: true, force: true }));

const programTs = readFileSync(fileURLToPath(new URL('../src/cli/program.ts', import.meta.url)), 'utf8');
/** Once the lead registers the command, the real `koubou` binary is exercised too. */
const registered = programTs.includes('registerKeys(');
const keysTs = new URL('../src/cli/commands/keys.ts', import.meta.url).href;

/**
 * The command on its own program, run like `runCli` runs it (errors as one line on
 * stderr, InputError → exit 2), in a child process with real stdin, stdout and stderr.
 */
const HARNESS = `
const { Command } = await import('commander');
const { registerKeys } = await import(${JSON.stringify(keysTs)});
const program = new Command('koubou').exitOverride();
registerKeys(program);
try { await program.parseAsync(process.argv.slice(1), { from: 'user' }); }
catch (e) {
  if (e.code?.startsWith?.('commander.')) process.exitCode = e.exitCode === 0 ? 0 : 2;
  else { process.stderr.write('koubou: ' + e.message + '\\n'); process.exitCode = e.name === 'InputError' ? 2 : 1; }
}`;

interface Run { code: number | null; stdout: string; stderr: string }

function run(args: string[], env: Record<string, string>, input = '', viaBin = false): Promise<Run> {
  const argv = viaBin ? [KOUBOU, ...args] : ['--import', 'tsx', '--input-type=module', '-e', HARNESS, ...args];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, argv, { env: { ...process.env, KOUBOU_CONFIG: '', OPENAI_API_KEY: '', ...env }, stdio: 'pipe' });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

const modes = registered ? ([['harness', false], ['bin/koubou.js', true]] as const) : ([['harness', false]] as const);

describe.each(modes)('koubou keys (%s)', (_label, viaBin) => {
  const setup = () => {
    const file = join(root, `case-${++n}`, 'keys.enc');
    return { file, env: { KOUBOU_KEYSTORE: file, KOUBOU_MASTER_PASSWORD: PASSWORD } };
  };

  it('set reads the key from stdin, trims one newline, and never prints it', async () => {
    const { file, env } = setup();
    const r = await run(['keys', 'set', 'openai'], env, `${KEY}\n`, viaBin);
    expect(r.code).toBe(0);
    expect(r.stdout + r.stderr).not.toContain(KEY);
    expect(r.stdout).toContain(`stored key "openai" in ${file}`);
    expect(readFileSync(file, 'utf8')).not.toContain(KEY);
    expect(await new Keystore({ file, env }).get('openai')).toBe(KEY);

    const list = await run(['keys', 'list'], env, '', viaBin);
    expect(list).toMatchObject({ code: 0, stdout: 'openai\n' });
    const del = await run(['keys', 'delete', 'openai'], env, '', viaBin);
    expect(del.code).toBe(0);
    expect(await new Keystore({ file, env }).list()).toEqual([]);
  });

  it('refuses the key as a command-line argument, without storing or echoing it', async () => {
    const { file, env } = setup();
    const r = await run(['keys', 'set', 'openai', KEY], env, '', viaBin);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/never taken as a command-line argument/);
    expect(r.stdout + r.stderr).not.toContain(KEY);
    expect(new Keystore({ file, env }).exists()).toBe(false);
  });

  it('says in --help that the key is never an argument', async () => {
    const r = await run(['keys', 'set', '--help'], {}, '', viaBin);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/never accepted as a command-line argument/);
  });

  it('exits 2 with a clear line for a wrong password, an empty key and an unknown name', async () => {
    const { env } = setup();
    await run(['keys', 'set', 'openai'], env, KEY, viaBin);
    const wrong = await run(['keys', 'list'], { ...env, KOUBOU_MASTER_PASSWORD: 'nope' }, '', viaBin);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/wrong KOUBOU_MASTER_PASSWORD, or the keystore file was modified/);
    const empty = await run(['keys', 'set', 'openai'], env, '\n', viaBin);
    expect(empty.code).toBe(2);
    const missing = await run(['keys', 'delete', 'nothing'], env, '', viaBin);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/no key named "nothing"/);
    for (const r of [wrong, empty, missing]) expect(r.stdout + r.stderr).not.toContain(KEY);
  });
});

describe('readSecret', () => {
  afterEach(() => vi.restoreAllMocks());

  it('on a terminal: prompts on stderr and reads one line with echo off', async () => {
    const written: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => { written.push(String(s)); return true; });
    vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => { written.push(String(s)); return true; });
    const tty = Object.assign(new PassThrough(), { isTTY: true });
    const secret = readSecret(tty, 'openai key (input hidden): ');
    tty.write(`${KEY}\r`);
    expect(await secret).toBe(KEY);
    expect(written.join('')).toContain('openai key (input hidden): ');
    expect(written.join('')).not.toContain(KEY);
  });

  it('from a pipe: removes exactly one trailing newline', async () => {
    const pipe = (text: string) => { const s = new PassThrough(); s.end(text); return s; };
    expect(await readSecret(pipe(`${KEY}\r\n`), '')).toBe(KEY);
    expect(await readSecret(pipe(`${KEY}\n\n`), '')).toBe(`${KEY}\n`); // then refused by Keystore.set
    expect(await readSecret(pipe(KEY), '')).toBe(KEY);
  });
});
