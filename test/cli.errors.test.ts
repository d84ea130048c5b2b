/**
 * What a user must fix ends in one clear line and exit code 2, never a stack
 * trace: a nats-server koubou cannot install, a ledger file written by another version.
 * And a missing nats-server that can be installed is installed.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { runKoubou } from './support/cli.ts';
import { ActorProcess } from './support/processes.ts';

const which = (cmd: string): string => execFileSync('/bin/bash', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).trim();

/** A folder whose bin/ (the whole PATH) holds node and the few tools the installer uses: no nats-server, no apt-get. */
function barePath(): { dir: string; bin: string } {
  const dir = mkdtempSync(join(tmpdir(), 'koubou-nonats-'));
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  symlinkSync(process.execPath, join(bin, 'node'));
  for (const tool of ['date', 'mktemp', 'tail', 'rm', 'chmod']) symlinkSync(which(tool), join(bin, tool));
  return { dir, bin };
}

function writeScript(file: string, body: string): void {
  writeFileSync(file, body);
  chmodSync(file, 0o755);
}

describe('errors the user must fix', () => {
  it('koubou up without nats-server and no way to install it (no apt-get) names the three ways to get it in one line, exit 2', async () => {
    const { dir, bin } = barePath();
    const r = await runKoubou(['up', '--no-workers'], { cwd: dir, env: { PATH: bin, NATS_URL: '' } });
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/nats-server is not installed.*cannot be installed here/);
    expect(r.stderr).toMatch(/apt-get install -y nats-server.*brew install nats-server.*releases/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  }, 30_000);

  it('koubou up installs a missing nats-server through apt-get, saying what and why, then starts it', async () => {
    // The stand-in apt-get "installs" by putting a nats-server on PATH (the real one, behind a
    // wrapper): what is tested is that up runs the installer, says so, and goes on with it.
    const { dir, bin } = barePath();
    const real = which('nats-server');
    writeScript(join(bin, 'apt-get'), `#!/bin/bash\necho "apt-get $*" >> ${dir}/apt.log\nif [ "$1" = install ]; then printf '#!/bin/bash\\nexec ${real} "$@"\\n' > ${bin}/nats-server; chmod +x ${bin}/nats-server; fi\n`);
    const up = new ActorProcess('up', ['up', '--no-workers', '--port', '0', '--dashboard-port', '0'], { PATH: bin, NATS_URL: '', KOUBOU_CONFIG: '' }, dir);
    try {
      await up.start(/Ctrl-C/, 60_000);
      expect(up.output).toMatch(/koubou: installing nats-server with apt-get \(koubou up runs its own NATS server\)\.\.\./);
      expect(up.output).toMatch(/koubou: installed nats-server in \d+ s/);
      expect(up.output).toMatch(/NATS\s+nats:\/\/127\.0\.0\.1:\d+ \(nats-server pid \d+/);
      expect(readFileSync(join(dir, 'apt.log'), 'utf8')).toMatch(/apt-get update -qq\napt-get install -y -qq nats-server/);
    } finally {
      await up.kill9();
    }
  }, 90_000);

  it('an apt-get that fails: the end of its output, and exit 2 with no stack trace', async () => {
    const { dir, bin } = barePath();
    writeScript(join(bin, 'apt-get'), '#!/bin/bash\necho "E: Unable to locate package nats-server" >&2\nexit 100\n');
    const r = await runKoubou(['up', '--no-workers'], { cwd: dir, env: { PATH: bin, NATS_URL: '' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/installing nats-server failed; the end of apt-get's output:\nE: Unable to locate package nats-server/);
    expect(r.stderr).toMatch(/koubou: nats-server is not installed and installing it with apt-get failed \(its output is above\)/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  }, 30_000);

  it('koubou up --no-agent without --demo is refused in one line, exit 2, before anything starts', async () => {
    const r = await runKoubou(['up', '--no-agent'], { env: { NATS_URL: '' } });
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toMatch(/^koubou: --no-agent goes with --demo: only the demo starts a Codex master$/);
  });

  it('a ledger file from a newer koubou is refused in one line, exit 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'koubou-newer-'));
    const file = join(dir, 'ledger.db');
    const db = new Database(file);
    db.pragma('user_version = 99');
    db.close();
    const r = await runKoubou(['route', '--dry-run', 'fix a typo'], { env: { KOUBOU_DB: file } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/schema version 99.*upgrade koubou/s);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  }, 30_000);
});
