import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { decode, encode, ensureStreams, MessageError, STREAMS, SUBJECTS, submissionSchema } from '../src/bus/index.ts';
import { startNats, type TestNats } from './support/nats.ts';

let nats: TestNats;
beforeAll(async () => { nats = await startNats(); });
afterAll(async () => { await nats?.stop(); });

describe('bus', () => {
  it('creates streams and consumers idempotently', async () => {
    const nc = await nats.connect('router');
    await ensureStreams(nc);
    await ensureStreams(nc, { workAckWaitMs: 5000 });
    const jsm = await jetstreamManager(nc);
    const names = (await jsm.streams.names().next()).sort();
    expect(names).toEqual([STREAMS.events, STREAMS.reports, STREAMS.submit, STREAMS.work].sort());
    for (const lane of ['local', 'remote', 'any'] as const) {
      const local = await jsm.consumers.info(STREAMS.work, `local_${lane}`);
      expect(local.config.ack_wait).toBe(5000 * 1_000_000);
      expect(local.config.filter_subject).toBe(SUBJECTS.work('local', lane));
    }
    const high = await jsm.consumers.info(STREAMS.work, 'gpt5_high');
    expect(high.config.filter_subject).toBe('koubou.work.gpt5_high');
  });

  it('drops a re-published task id within the duplicate window', async () => {
    const nc = await nats.connect('submitter');
    const js = jetstream(nc);
    const body = encode({ taskId: 'dup-1', prompt: 'fix a typo' });
    const a = await js.publish(SUBJECTS.submit, body, { msgID: 'dup-1' });
    const b = await js.publish(SUBJECTS.submit, body, { msgID: 'dup-1' });
    expect(a.duplicate).toBe(false);
    expect(b.duplicate).toBe(true);
    expect(b.seq).toBe(a.seq);
  });

  it('decodes valid messages and names the field of invalid ones', () => {
    const ok = decode(submissionSchema, encode({ taskId: 't-1', prompt: 'hi' }), SUBJECTS.submit);
    expect(ok).toMatchObject({ type: 'general', priority: 5, files: [] });
    expect(() => decode(submissionSchema, encode({ taskId: 't-1', prompt: 'hi', priority: 11 }), 's')).toThrow(/s: priority: .*10/);
    expect(() => decode(submissionSchema, new TextEncoder().encode('{nope'), 's')).toThrow(MessageError);
    expect(() => decode(submissionSchema, encode({ taskId: 'a.b', prompt: 'x' }), 's')).toThrow(/taskId/);
  });
});

describe('docs/protocol.md', () => {
  it('is what the message schemas render (run `npm run docs:protocol` after changing them)', async () => {
    const { readFileSync } = await import('node:fs');
    const { renderProtocolDoc } = await import('../src/bus/protocolDoc.ts');
    expect(readFileSync(new URL('../docs/protocol.md', import.meta.url), 'utf8')).toBe(renderProtocolDoc());
  });
});

describe('generated credentials', () => {
  it('are completed in a file written before a role existed: what it lacks is added, what it has is kept', async () => {
    const { mkdtempSync, readFileSync, statSync, writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const { DOOR_KEY_VAR, loadOrCreateCredentials, passwordVar, readCredentials } = await import('../src/bus/index.ts');
    const file = join(mkdtempSync(join(tmpdir(), 'koubou-creds-')), 'credentials.env');
    writeFileSync(file, `# old\n${passwordVar('router')}=kbold`, { mode: 0o600 });
    // A command that only reads (on a LAN host the file holds its own role's password alone) adds nothing.
    expect(readCredentials(file)).toEqual({ [passwordVar('router')]: 'kbold' });
    expect(readFileSync(file, 'utf8')).toBe(`# old\n${passwordVar('router')}=kbold`);
    const creds = loadOrCreateCredentials(file);
    expect(creds[passwordVar('router')]).toBe('kbold');
    expect(creds[passwordVar('gateway')]).toMatch(/^kb[0-9a-f]{48}$/);
    expect(creds[DOOR_KEY_VAR]).toMatch(/^kb[0-9a-f]{48}$/);
    // Written, so every later reader (nats-server, the gateway, the routers) gets the same values.
    expect(loadOrCreateCredentials(file)).toEqual(creds);
    expect(readFileSync(file, 'utf8')).toMatch(new RegExp(`^# old\\n${passwordVar('router')}=kbold\\n`));
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });


  it('always start nats-server, whatever the random bytes (a leading digit once broke it)', async () => {
    const { generateCredentials } = await import('../src/bus/index.ts');
    for (let i = 0; i < 200; i++) {
      for (const value of Object.values(generateCredentials())) expect(value).toMatch(/^[a-z][0-9a-z]{40,}$/);
    }
  });

  it("add a role's password to the server's file from before the role existed; a host's one-role file, only read, is left alone", async () => {
    const { loadOrCreateCredentials, passwordVar, readCredentials } = await import('../src/bus/index.ts');
    const { mkdtempSync, readFileSync: read, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'koubou-creds-'));
    const server = join(dir, 'server.env');
    writeFileSync(server, `${passwordVar('router')}=kbrouter\n${passwordVar('submitter')}=kbsubmitter`);
    const creds = loadOrCreateCredentials(server);
    expect(creds[passwordVar('gateway')]).toMatch(/^kb[0-9a-f]{48}$/);
    expect(loadOrCreateCredentials(server)).toEqual(creds);
    expect(read(server, 'utf8')).toContain(`${passwordVar('submitter')}=kbsubmitter\n${passwordVar('ledger')}=`);
    const host = join(dir, 'host.env');
    writeFileSync(host, `${passwordVar('local_worker')}=kblocal\n`);
    // A host's commands only read their file (init and up, which complete it, run on the server).
    expect(readCredentials(host)).toEqual({ [passwordVar('local_worker')]: 'kblocal' });
    expect(read(host, 'utf8')).toBe(`${passwordVar('local_worker')}=kblocal\n`);
  });
});
