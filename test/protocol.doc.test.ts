/**
 * docs/protocol.md, read as a client author would: its `nats` CLI examples are taken
 * out of the document and run, word for word, with the legacy `nats` v2 package (a
 * client other than koubou's own nats.js v3) against a real nats-server with the
 * repo's nats.conf, a real router, ledger and worker.
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { connect, headers, type NatsConnection } from 'nats';
import { startSystem, type SystemOptions, type TestSystem } from './support/system.ts';

const DOC = readFileSync(new URL('../docs/protocol.md', import.meta.url), 'utf8');

/** One `nats` command of the document: its global flags, verb, arguments and headers. */
interface NatsCommand {
  flags: Record<string, string>;
  verb: string;
  subject: string;
  body: string;
  headers: [string, string][];
}

/** The shell words of a command line: single quotes literal, double quotes with $VAR expanded. */
function shellWords(line: string, env: Record<string, string>): string[] {
  const words: string[] = [];
  const re = /'([^']*)'|"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (const m of line.matchAll(re)) {
    if (m[1] !== undefined) words.push(m[1]);
    else if (m[2] !== undefined) words.push(m[2].replace(/\$([A-Z_][A-Z0-9_]*)/g, (_, name: string) => env[name] ?? ''));
    else words.push(m[3]!);
  }
  return words;
}

/** The `nats` commands of the document's round-trip example, in order. */
function docCommands(env: Record<string, string>): NatsCommand[] {
  const start = DOC.indexOf('The whole round trip as the submitter');
  const block = /```sh\n([\s\S]*?)```/.exec(DOC.slice(start))?.[1];
  if (start < 0 || !block) throw new Error('docs/protocol.md has no round-trip example');
  const lines = block.replace(/\\\n\s*/g, ' ').split('\n').filter((l) => l.trim() && !l.trim().startsWith('#'));
  return lines.map((line) => {
    const words = shellWords(line, env);
    expect(words[0]).toBe('nats');
    const cmd: NatsCommand = { flags: {}, verb: '', subject: '', body: '', headers: [] };
    const rest: string[] = [];
    for (let i = 1; i < words.length; i++) {
      const w = words[i]!;
      if (w === '-H') {
        const [k, ...v] = words[++i]!.split(':');
        cmd.headers.push([k!, v.join(':')]);
      } else if (w.startsWith('--')) cmd.flags[w.slice(2)] = words[++i]!;
      else rest.push(w);
    }
    [cmd.verb = '', cmd.subject = '', cmd.body = ''] = rest;
    return cmd;
  });
}

/** Runs one documented command with the nats v2 client; `req` answers the reply's text. */
async function run(url: string, cmd: NatsCommand): Promise<string> {
  const nc: NatsConnection = await connect({
    servers: url, user: cmd.flags.user, pass: cmd.flags.password, inboxPrefix: cmd.flags['inbox-prefix'], reconnect: false,
  });
  try {
    const h = headers();
    for (const [k, v] of cmd.headers) h.set(k, v);
    expect(cmd.verb).toBe('req');
    // One inbox per request, as `nats req` does.
    const reply = await nc.request(cmd.subject, new TextEncoder().encode(cmd.body), { timeout: 8000, headers: h, noMux: true });
    return new TextDecoder().decode(reply.data);
  } finally {
    await nc.close();
  }
}

const FINAL = new Set(['completed', 'failed', 'cancelled']);

/** Fetches the task's events with the documented fetch command until the final one. */
async function followToEnd(url: string, fetch: NatsCommand): Promise<{ status: string; seq: number }[]> {
  const events: { status: string; seq: number }[] = [];
  for (let i = 0; i < 200 && !FINAL.has(events.at(-1)?.status ?? ''); i++) {
    const text = await run(url, fetch);
    if (text === '') continue; // the fetch expired with no new event: ask again, as the document says
    // A router step's events in one message (protocol 2), or one event by itself (protocol 1).
    const message = JSON.parse(text) as { events?: { status: string; seq: number }[]; status: string; seq: number };
    events.push(...(message.events ?? [message]));
  }
  return events;
}

let sys: TestSystem | undefined;
afterEach(async () => {
  await sys?.stop();
  sys = undefined;
});

async function system(options: SystemOptions): Promise<{ url: string; commands: NatsCommand[] }> {
  sys = await startSystem(options);
  return { url: sys.nats.url, commands: docCommands(sys.nats.env) };
}

describe('docs/protocol.md, run as written with another NATS client', () => {
  it('names a nats-server version that is the one here or older, and the inbox prefix of every role', () => {
    expect(DOC).toMatch(/nats-server 2\.9 or newer/);
    for (const prefix of ['_INBOX_router', '_INBOX_ledger', '_INBOX_cloud', '_INBOX_local', '_INBOX_submit', '_INBOX_dashboard']) {
      expect(DOC).toContain(prefix);
    }
  });

  it('submits a task, follows its events to the end and sees it completed', async () => {
    const { url, commands } = await system({});
    const [submit, create, fetch] = commands;
    expect(commands.map((c) => c.subject)).toEqual([
      'koubou.task.submit',
      '$JS.API.CONSUMER.CREATE.KOUBOU_EVENTS.follow-t-1.koubou.evt.task.t-1',
      '$JS.API.CONSUMER.MSG.NEXT.KOUBOU_EVENTS.follow-t-1',
      'koubou.cancel.t-1',
    ]);
    expect(JSON.parse(await run(url, submit!))).toMatchObject({ stream: 'KOUBOU_SUBMIT' });
    const created = JSON.parse(await run(url, create!)) as { error?: unknown; name?: string };
    expect(created.error).toBeUndefined();
    expect(created.name).toBe('follow-t-1');
    const events = await followToEnd(url, fetch!);
    expect(events.at(-1)?.status).toBe('completed');
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
  });

  it('cancels a task that waits for a worker, and the follower sees it cancelled', async () => {
    // No worker: the task waits in its queue until the documented cancel ends it.
    const { url, commands } = await system({ workers: [] });
    const [submit, create, fetch, cancel] = commands;
    expect(JSON.parse(await run(url, submit!))).toMatchObject({ stream: 'KOUBOU_SUBMIT' });
    expect(JSON.parse(await run(url, create!))).not.toHaveProperty('error');
    expect(JSON.parse(await run(url, cancel!))).toMatchObject({ stream: 'KOUBOU_REPORTS' });
    const events = await followToEnd(url, fetch!);
    expect(events.at(-1)?.status).toBe('cancelled');
  });

  it('says why the inbox prefix matters: without it, the same submit gets no reply', async () => {
    const { url, commands } = await system({ workers: [] });
    const { 'inbox-prefix': _prefix, ...flags } = commands[0]!.flags;
    await expect(run(url, { ...commands[0]!, flags })).rejects.toThrow(/TIMEOUT|Permissions Violation/i);
    // And a plain subscription to the task's events, the old example, is refused.
    const nc = await connect({ servers: url, user: 'submitter', pass: sys!.nats.env.KOUBOU_NATS_SUBMITTER_PASSWORD, inboxPrefix: '_INBOX_submit' });
    try {
      // The server refuses the subscription; the client ends it with the permission error.
      const sub = nc.subscribe('koubou.evt.task.t-1');
      const ended = (async () => {
        for await (const _m of sub) { /* no message can arrive */ }
      })();
      const error = await ended.then(() => null, (e: unknown) => e as { permissionContext?: unknown });
      expect(error?.permissionContext).toEqual({ operation: 'subscription', subject: 'koubou.evt.task.t-1' });
    } finally {
      await nc.close();
    }
  });
});
