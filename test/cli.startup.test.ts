/**
 * The CLI loads only the command it runs: `koubou --help` lists every command from the
 * command table, whose descriptions must be the ones the commands' own modules register,
 * and each command's own --help comes from its module.
 */
import { describe, expect, it } from 'vitest';
import { buildProgram, COMMANDS } from '../src/cli/program.ts';
import { runKoubou } from './support/cli.ts';

describe('koubou start-up', () => {
  it('lists every command with the description its module registers', async () => {
    const full = await buildProgram();
    const registered = Object.fromEntries(full.commands.map((c) => [c.name(), c.description()]));
    expect(Object.keys(registered).sort()).toEqual(Object.keys(COMMANDS).sort());
    for (const [name, { description }] of Object.entries(COMMANDS)) expect(description, name).toBe(registered[name]);
  });

  it('loads only the named command, and its own --help shows its options', async () => {
    const lazy = await buildProgram(['node', 'koubou', 'submit', '--help']);
    expect(lazy.commands.find((c) => c.name() === 'submit')!.options.map((o) => o.long)).toContain('--jsonl');
    // The others are only names and descriptions until they run.
    expect(lazy.commands.find((c) => c.name() === 'worker')!.options).toEqual([]);
    const r = await runKoubou(['submit', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/--jsonl \[file\]/);
  });

  it('prints the version from package.json', async () => {
    const r = await runKoubou(['--version']);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    expect(r.code).toBe(0);
  });
});
