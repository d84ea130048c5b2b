/**
 * Workspaces: what travels (the working tree with uncommitted changes and untracked files, never
 * a `.gitignore`d file, never what `.koubouignore` names, never history), the size limit, the
 * round trip through JetStream's Object Store, and who may read which bucket: cloud workers
 * never the bucket of unscanned workspaces.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUCKETS } from '../src/bus/index.ts';
import { checkoutWorkspace, ensureWorkspaceBuckets, getObject, packWorkspace, putObject, readWorkspaceFiles } from '../src/workspace/index.ts';
import { startNats, type TestNats } from './support/nats.ts';

function repo(): string {
  const dir = mkdtempSync(join(tmpdir(), 'koubou-ws-'));
  const git = (...args: string[]) => spawnSync('git', args, { cwd: dir, encoding: 'utf8' });
  git('init', '-q');
  mkdirSync(join(dir, 'src'));
  writeFileSync(join(dir, '.gitignore'), 'node_modules/\n*.log\n');
  writeFileSync(join(dir, 'src/orders.ts'), 'export const orders = [];\n');
  writeFileSync(join(dir, 'README.md'), '# orders\n');
  git('add', '-A');
  git('-c', 'user.email=t@example.com', '-c', 'user.name=t', 'commit', '-qm', 'base');
  // Uncommitted and untracked work travels; ignored files do not.
  writeFileSync(join(dir, 'README.md'), '# orders, changed\n');
  writeFileSync(join(dir, 'src/new.ts'), 'export {};\n');
  mkdirSync(join(dir, 'node_modules'));
  writeFileSync(join(dir, 'node_modules/big.js'), 'x'.repeat(10_000));
  writeFileSync(join(dir, 'debug.log'), 'secret=hunter2\n');
  return dir;
}

describe('packing a workspace', () => {
  it('takes the working tree as it is, untracked files included, ignored ones and history left out', () => {
    const ws = packWorkspace(repo());
    expect(ws.files.sort()).toEqual(['.gitignore', 'README.md', 'src/new.ts', 'src/orders.ts']);
    const files = Object.fromEntries(readWorkspaceFiles(ws.bundle, ws.commit).map((f) => [f.path, f.content]));
    expect(files['README.md']).toBe('# orders, changed\n');
    expect(Object.keys(files)).not.toContain('debug.log');
    expect(ws.head).toMatch(/^[0-9a-f]{40}$/);
    // One parentless commit: no history travels.
    const dir = mkdtempSync(join(tmpdir(), 'koubou-ws-out-'));
    checkoutWorkspace(ws.bundle, ws.commit, dir);
    expect(spawnSync('git', ['rev-list', '--count', 'HEAD'], { cwd: dir, encoding: 'utf8' }).stdout.trim()).toBe('1');
  });

  it('keeps out what .koubouignore names, and says how many', () => {
    const dir = repo();
    mkdirSync(join(dir, 'secrets'));
    writeFileSync(join(dir, 'secrets/prod.pem'), '-----BEGIN PRIVATE KEY-----\n');
    writeFileSync(join(dir, '.koubouignore'), 'secrets/\n*.pem\n');
    const ws = packWorkspace(dir);
    expect(ws.keptOut).toEqual(['secrets/prod.pem']);
    expect(ws.files).not.toContain('secrets/prod.pem');
    expect(ws.files).toContain('.koubouignore');
  });

  it('refuses a workspace over the limit, with its size and the limit', () => {
    expect(() => packWorkspace(repo(), { maxBytes: 20 })).toThrow(/the workspace is 0\.0 MiB \(4 files\), over the limit of 0\.0 MiB/);
    expect(() => packWorkspace(tmpdir())).toThrow(/is not inside a git repository/);
  });
});

describe('workspace buckets', () => {
  let nats: TestNats;
  beforeAll(async () => {
    nats = await startNats();
    await ensureWorkspaceBuckets(await nats.connect('router'));
  });
  afterAll(async () => { await nats?.stop(); });

  it('carries a bundle through the Object Store, byte for byte', async () => {
    const ws = packWorkspace(repo());
    await putObject(await nats.connect('submitter'), BUCKETS.workspaces, 'task-1', ws.bundle);
    const back = await getObject(await nats.connect('local_worker'), BUCKETS.workspaces, 'task-1');
    expect(Buffer.from(back!).equals(ws.bundle)).toBe(true);
    expect(await getObject(await nats.connect('local_worker'), BUCKETS.workspaces, 'no-such-task')).toBeNull();
  });

  it('lets a cloud worker read only the cloud bucket, and a submitter write only the submitted one', async () => {
    const router = await nats.connect('router');
    await putObject(router, BUCKETS.workspaces, 'unscanned', new Uint8Array([1, 2, 3]));
    await putObject(router, BUCKETS.cloudWorkspaces, 'scanned', new Uint8Array([4, 5, 6]));
    const cloud = await nats.connect('cloud_worker');
    await expect(getObject(cloud, BUCKETS.workspaces, 'unscanned')).rejects.toThrow(/permission|timeout/i);
    expect([...(await getObject(await nats.connect('cloud_worker'), BUCKETS.cloudWorkspaces, 'scanned'))!]).toEqual([4, 5, 6]);
    await expect(putObject(await nats.connect('submitter'), BUCKETS.cloudWorkspaces, 'forged', new Uint8Array([7]))).rejects.toThrow(/permission|timeout/i);
  }, 30_000);
});
