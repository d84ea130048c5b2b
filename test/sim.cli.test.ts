/**
 * `koubou sim` as a process: it prints its URLs, serves both protocols with the
 * options given, and stops cleanly on SIGTERM.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Command } from 'commander';
import { InputError } from '../src/core/errors.ts';
import { registerSim, simOptionsFromCli } from '../src/cli/commands/sim.ts';

const simModule = fileURLToPath(new URL('../src/cli/commands/sim.ts', import.meta.url));

/** Runs `koubou sim ARGS` through registerSim (the lead wires it into program.ts). */
function runSim(args: string[]) {
  const script = `import { Command } from 'commander';
import { registerSim } from ${JSON.stringify(simModule)};
const program = new Command('koubou').exitOverride();
registerSim(program);
await program.parseAsync(['node', 'koubou', 'sim', ...${JSON.stringify(args)}]);`;
  return spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: fileURLToPath(new URL('..', import.meta.url)),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

describe('koubou sim', () => {
  it('prints both URLs, serves them with the options given, and stops on SIGTERM', async () => {
    const child = runSim(['--port', '0', '--api-key', 'sk-cli-key', '--rpm', '5', '--models', 'gpt-5,gpt-oss:20b', '--output-tokens', '30']);
    let out = '';
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /listening on (http:\/\/[\d.]+:\d+)/.exec(out);
        if (m && out.includes('Ctrl-C')) resolve(m[1]!);
      });
      void exited.then((code) => reject(new Error(`koubou sim exited early (${code}): ${err}`)));
    });
    try {
      expect(out).toContain(`OpenAI: ${url}/v1`);
      expect(out).toContain(`Ollama: ${url}`);
      expect(out).toContain(`Anthropic: ${url}`);
      expect((await fetch(`${url}/v1/models`)).status).toBe(401);
      const models = await fetch(`${url}/v1/models`, { headers: { authorization: 'Bearer sk-cli-key' } });
      expect(models.status).toBe(200);
      expect(models.headers.get('x-ratelimit-limit-requests')).toBe('5');
      const tags = await (await fetch(`${url}/api/tags`)).json();
      expect(tags.models.map((m: { name: string }) => m.name)).toEqual(['gpt-5:latest', 'gpt-oss:20b']);
      const answer = await (await fetch(`${url}/api/chat`, { method: 'POST', body: JSON.stringify({ model: 'gpt-oss:20b', stream: false, think: false, messages: [{ role: 'user', content: 'hello' }] }) })).json();
      expect(answer.eval_count).toBe(30);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(err).toContain('stopped on SIGTERM');
  });

  it('rejects bad numbers as input errors', () => {
    const base = { port: '0', host: '127.0.0.1', latency: '0', tokensPerSecond: '0' };
    expect(() => simOptionsFromCli({ ...base, latency: '-5' })).toThrow(InputError);
    expect(() => simOptionsFromCli({ ...base, rpm: '0' })).toThrow(/--rpm must be an integer of at least 1/);
    expect(() => simOptionsFromCli({ ...base, models: ' , ' })).toThrow(InputError);
    expect(simOptionsFromCli({ ...base, tpm: '1000' })).toMatchObject({ port: 0, rateLimit: { rpm: null, tpm: 1000 } });
  });

  it('turns --call TOOL:JSON into scripted tool calls, and refuses a bad one naming it', () => {
    const base = { port: '0', host: '127.0.0.1', latency: '0', tokensPerSecond: '0' };
    expect(simOptionsFromCli({ ...base, call: ['exec_command:{"cmd":["ls"]}', 'apply_patch:{"input":"x"}'] }).toolCalls)
      .toEqual({ exec_command: '{"cmd":["ls"]}', apply_patch: '{"input":"x"}' });
    expect(() => simOptionsFromCli({ ...base, call: ['exec_command'] })).toThrow(/--call must be TOOL:JSON/);
    expect(() => simOptionsFromCli({ ...base, call: ['exec_command:[1]'] })).toThrow(/--call exec_command: the arguments must be a JSON object/);
  });

  it('turns --fail and --fail-ratio into injected faults, and refuses bad ones', () => {
    const base = { port: '0', host: '127.0.0.1', latency: '0', tokensPerSecond: '0' };
    expect(simOptionsFromCli({ ...base, fail: '503', failRatio: '0.2' }).inject).toEqual({ fault: { status: 503 }, ratio: 0.2 });
    expect(simOptionsFromCli({ ...base, fail: '429' }).inject).toEqual({ fault: { status: 429, retryAfterMs: 1000 }, ratio: 1 });
    expect(simOptionsFromCli({ ...base, fail: 'cut' }).inject).toEqual({ fault: { cutStream: true }, ratio: 1 });
    expect(simOptionsFromCli({ ...base, fail: 'malformed' }).inject).toEqual({ fault: { malformedJson: true }, ratio: 1 });
    expect(() => simOptionsFromCli({ ...base, fail: '200' })).toThrow(/--fail must be an HTTP status from 400 to 599/);
    expect(() => simOptionsFromCli({ ...base, fail: '500', failRatio: '1.5' })).toThrow(/--fail-ratio must be a number from 0 to 1/);
    expect(() => simOptionsFromCli({ ...base, failRatio: '0.5' })).toThrow(/--fail-ratio needs --fail/);
  });

  it('serves the injected failure over HTTP', async () => {
    const child = runSim(['--port', '0', '--fail', '503']);
    let out = '';
    const url = await new Promise<string>((resolve) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /listening on (http:\/\/[\d.]+:\d+)/.exec(out);
        if (m && out.includes('Ctrl-C')) resolve(m[1]!);
      });
    });
    try {
      const r = await fetch(`${url}/api/chat`, { method: 'POST', body: JSON.stringify({ model: 'gpt-oss:20b', stream: false, messages: [{ role: 'user', content: 'hello' }] }) });
      expect(r.status).toBe(503);
    } finally {
      child.kill('SIGTERM');
    }
  });

  it('registers a `sim` command with the documented options', () => {
    const program = new Command('koubou');
    registerSim(program);
    const sim = program.commands.find((c) => c.name() === 'sim')!;
    expect(sim.options.map((o) => o.long)).toEqual(expect.arrayContaining(['--port', '--latency', '--tokens-per-second', '--rpm', '--tpm', '--api-key', '--models']));
  });
});
