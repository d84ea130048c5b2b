/**
 * What a user must fix ends in one clear line and exit code 2, never a stack
 * trace: a missing nats-server, a ledger file written by another version.
 */
import { mkdirSync, mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { runKoubou } from './support/cli.ts';

describe('errors the user must fix', () => {
  it('koubou up without nats-server says how to install it, exit 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'koubou-nonats-'));
    const bin = join(dir, 'bin');
    // A PATH holding node and nothing else: no nats-server anywhere.
    mkdirSync(bin);
    symlinkSync(process.execPath, join(bin, 'node'));
    const r = await runKoubou(['up', '--no-workers'], { cwd: dir, env: { PATH: bin, NATS_URL: '' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/nats-server/);
    expect(r.stderr).toMatch(/apt-get install/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  }, 30_000);

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
