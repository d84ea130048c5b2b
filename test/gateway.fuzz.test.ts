/**
 * Bad input at the gateway's door, fuzzed with fast-check over real HTTP, in front of the whole
 * system (real nats-server, SQLite ledger, router, workers): random bytes, random JSON (with the
 * API's own field names and JavaScript's special ones as keys), JSON nested past the limit,
 * invalid UTF-8, content types that are not JSON, bodies over the size limit (declared and
 * chunked), and a client that sends its body a byte a second. Each gets a 4xx in OpenAI's error
 * shape naming what was wrong, never a 5xx; a good chat completion sent alongside each batch still
 * gets its answer; the gateway still serves afterwards.
 *
 * Limits are set low here so that each case stays small and quick: the body limit is 64 KiB (the
 * default is 3 MiB) and the body timeout 1.5 s (default 30 s); the code paths are the defaults' own.
 */
import { connect, type Socket } from 'node:net';
import { isUtf8 } from 'node:buffer';
import { request } from 'node:http';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Gateway, keyDigest } from '../actors/gateway/index.ts';
import { startSystem, type TestSystem } from './support/system.ts';

const KEY = `kb-fuzz-${process.pid}`;
const MAX_BYTES = 64 * 1024;
const BODY_TIMEOUT_MS = 1500;
const ROUTES = ['/v1/chat/completions', '/v1/responses'] as const;
let sys: TestSystem;
let gateway: Gateway;
let base: string;
const logs: string[] = [];

beforeAll(async () => {
  sys = await startSystem();
  gateway = new Gateway({
    ...await sys.nats.gatewayBus(), keyDigests: [keyDigest(KEY)], port: 0,
    maxBodyBytes: MAX_BYTES, bodyTimeoutMs: BODY_TIMEOUT_MS, log: (l) => logs.push(l),
  });
  base = (await gateway.start()).url;
});
afterAll(async () => {
  await gateway?.stop();
  await sys?.stop();
});

interface Answer { status: number; body: any }

/** A POST with exactly these bytes and headers. */
async function post(path: string, body: Uint8Array | string, headers: Record<string, string> = { 'content-type': 'application/json' }): Promise<Answer> {
  const r = await fetch(`${base}${path}`, { method: 'POST', body: body as BodyInit, headers: { authorization: `Bearer ${KEY}`, ...headers } });
  const text = await r.text();
  let parsed: unknown = text;
  try { parsed = JSON.parse(text); } catch { /* kept as text: the shape check below fails on it */ }
  return { status: r.status, body: parsed };
}

/** A refusal in OpenAI's shape: 4xx, `{ error: { message, type, param, code } }`. */
function expectOpenAIRefusal(a: Answer, status?: number, code?: string | null): void {
  if (status !== undefined) expect(a.status).toBe(status);
  expect(a.status).toBeGreaterThanOrEqual(400);
  expect(a.status).toBeLessThan(500);
  expect(a.body).toMatchObject({ error: { message: expect.any(String), type: 'invalid_request_error' } });
  expect(Object.keys(a.body.error).sort()).toEqual(['code', 'message', 'param', 'type']);
  if (code !== undefined) expect(a.body.error.code).toBe(code);
}

/** A good request, sent while bad ones are in flight: it must still be answered. */
async function goodChat(): Promise<void> {
  const r = await post('/v1/chat/completions', JSON.stringify({ model: 'koubou', messages: [{ role: 'user', content: 'fix a typo in the README' }] }));
  expect(r.status).toBe(200);
  expect(r.body.choices[0].message.content.length).toBeGreaterThan(0);
}

/** Runs a property while a good request goes through alongside. */
async function alongside(property: () => Promise<void>): Promise<void> {
  await Promise.all([property(), goodChat()]);
}

const route = fc.constantFrom(...ROUTES);
/** Keys an attacker would try: the API's own fields and the ones JavaScript treats specially. */
const key = fc.oneof(
  fc.constantFrom('model', 'messages', 'input', 'instructions', 'stream', 'stream_options', 'tools', 'tool_choice', 'role', 'content',
    'type', 'text', 'name', 'arguments', 'prompt_cache_key', 'include_usage', 'function', 'parameters', 'call_id', 'output',
    '__proto__', 'constructor', 'toString', 'valueOf', 'toJSON', 'length', 'then'),
  fc.string({ maxLength: 8 }),
);
/** Keys JavaScript treats specially: an object with them breaks code that stringifies or spreads it carelessly. */
const special = fc.constantFrom('__proto__', 'constructor', 'toString', 'valueOf', 'toJSON', 'length', 'then');
const value = fc.letrec((tie) => ({
  any: fc.oneof({ depthSize: 'small', withCrossShrink: true },
    fc.constantFrom('koubou', 'koubou/local', 'koubou/nope', 'user', 'assistant', 'system', 'tool', 'developer', 'function', 'input_text', 'message', ''),
    fc.string({ maxLength: 20 }), fc.integer(), fc.double(), fc.boolean(), fc.constant(null),
    fc.array(tie('any'), { maxLength: 4 }), fc.dictionary(key, tie('any'), { maxKeys: 5 }),
    { arbitrary: fc.dictionary(special, tie('any'), { minKeys: 1, maxKeys: 2 }), weight: 3 }),
})).any;
/** A request-like object: the API's fields, each present or not, with any value, plus random others. */
const body = fc.tuple(
  fc.record({ model: fc.oneof(fc.constantFrom('koubou', 'koubou/local'), value), messages: value, input: value, stream: value, stream_options: value, tools: value, instructions: value }, { requiredKeys: [] }),
  fc.dictionary(key, value, { maxKeys: 3 }),
).map(([fields, others]) => ({ ...others, ...fields }));

describe('the gateway\'s request reader, fuzzed', () => {
  it('answers random bytes with a 4xx in OpenAI\'s shape', async () => {
    await alongside(() => fc.assert(fc.asyncProperty(route, fc.uint8Array({ maxLength: 2048 }), async (path, bytes) => {
      expectOpenAIRefusal(await post(path, bytes));
    }), { numRuns: 80 }));
  });

  it('answers random JSON objects with a 4xx in OpenAI\'s shape, never a 5xx', async () => {
    await alongside(() => fc.assert(fc.asyncProperty(route, body, async (path, json) => {
      // The odd random object may be a valid request: then it is answered like one.
      const a = await post(path, JSON.stringify(json));
      if (a.status !== 200) expectOpenAIRefusal(a);
    }), { numRuns: 150 }));
    expect(logs.filter((l) => /gateway:/.test(l))).toEqual([]);
  });

  it('refuses JSON nested past 64 levels, wherever the nesting is, naming where', async () => {
    const nested = fc.tuple(fc.integer({ min: 65, max: 5_000 }), fc.constantFrom('[', '{"a":'), fc.boolean());
    await alongside(() => fc.assert(fc.asyncProperty(route, nested, async (path, [depth, open, inField]) => {
      const close = open === '[' ? ']' : '}';
      const deep = `${open.repeat(depth)}1${close.repeat(depth)}`;
      const text = inField ? `{"model":"koubou","messages":${deep}}` : deep;
      const a = await post(path, text);
      expectOpenAIRefusal(a, 400, 'json_too_deep');
      expect(a.body.error.message).toMatch(inField ? /nested deeper than 64 levels \(under messages\.(a|0)\./ : /nested deeper than 64 levels \(under (a|0)\./);
    }), { numRuns: 30 }));
  });

  it('refuses bytes that are not UTF-8, naming the offset of the first bad one', async () => {
    const bad = fc.tuple(fc.string({ maxLength: 200 }), fc.constantFrom([0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0xf5, 0x80, 0x80, 0x80], [0x80]), fc.string({ maxLength: 50 }));
    await alongside(() => fc.assert(fc.asyncProperty(route, bad, async (path, [before, invalid, after]) => {
      const bytes = Buffer.concat([Buffer.from(`{"model":"koubou","input":"${before.replace(/["\\]/g, '')}`), Buffer.from(invalid), Buffer.from(`${after.replace(/["\\]/g, '')}"}`)]);
      expect(isUtf8(bytes)).toBe(false);
      const a = await post(path, bytes);
      expectOpenAIRefusal(a, 400, 'invalid_utf8');
      expect(a.body.error.message).toMatch(/not valid UTF-8 \(the first bad byte is at offset \d+\)/);
    }), { numRuns: 40 }));
  });

  it('refuses a Content-Type that is not JSON, and a compressed body, with 415', async () => {
    const types = fc.oneof(
      fc.constantFrom('text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml', 'application/jsonx', 'text/json', 'application/octet-stream'),
      fc.stringMatching(/^[a-z]{1,10}\/[a-z0-9.+-]{1,20}$/).filter((t) => !/^application\/([\w.+-]+\+)?json$/.test(t)),
    );
    await alongside(() => fc.assert(fc.asyncProperty(route, types, async (path, type) => {
      const a = await post(path, '{"model":"koubou","input":"hello"}', { 'content-type': type });
      expectOpenAIRefusal(a, 415, 'unsupported_media_type');
      expect(a.body.error.message).toContain('application/json');
    }), { numRuns: 40 }));
    expectOpenAIRefusal(await post('/v1/responses', '{}', { 'content-type': 'application/json', 'content-encoding': 'gzip' }), 415, 'unsupported_media_type');
  });

  it('refuses a body over the limit, declared or chunked, without reading the rest', async () => {
    await alongside(() => fc.assert(fc.asyncProperty(route, fc.integer({ min: MAX_BYTES + 1, max: 4 * MAX_BYTES }), fc.boolean(), async (path, size, chunked) => {
      const a = chunked ? await postChunked(path, size) : await post(path, Buffer.alloc(size, 0x20));
      expectOpenAIRefusal(a, 413, 'request_too_large');
    }), { numRuns: 20 }));
  });

  it('cuts off a client that sends its body a byte a second, with a 408 in OpenAI\'s shape, while others are served', async () => {
    const slow = trickle('/v1/chat/completions', '{"model":"koubou","messages":[]}', 1000);
    await goodChat();
    const a = await slow;
    expectOpenAIRefusal(a, 408, 'request_timeout');
    expect(a.body.error.message).toMatch(/did not arrive within 1\.5 s/);
  });

  it('still answers a good request after all of it', async () => {
    await goodChat();
    expect(logs.filter((l) => /gateway:/.test(l))).toEqual([]);
  });
});

/** A chunked POST (no Content-Length) of `size` bytes, written in 16 KiB pieces. */
function postChunked(path: string, size: number): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d) => { text += d; }).on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) }));
    });
    // The gateway may close the connection before all is written: that is the point.
    req.on('error', reject);
    let left = size;
    const piece = Buffer.alloc(16 * 1024, 0x20);
    const write = () => {
      while (left > 0) {
        const n = Math.min(left, piece.length);
        left -= n;
        if (!req.write(piece.subarray(0, n))) return void req.once('drain', write);
      }
      req.end();
    };
    write();
  });
}

/** Sends the headers at once, then the body one byte every `everyMs`; resolves with the answer. */
function trickle(path: string, text: string, everyMs: number): Promise<Answer> {
  const { port } = new URL(base);
  return new Promise((resolve, reject) => {
    const socket: Socket = connect(Number(port), '127.0.0.1');
    let raw = '';
    let i = 0;
    const timer = setInterval(() => { if (i < text.length) socket.write(text[i++]!); }, everyMs);
    socket.on('connect', () => socket.write(`POST ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${KEY}\r\nContent-Type: application/json\r\nContent-Length: ${text.length}\r\n\r\n`));
    socket.setEncoding('utf8').on('data', (d) => { raw += d; });
    socket.on('error', reject);
    socket.on('close', () => {
      clearInterval(timer);
      const [head, payload] = raw.split('\r\n\r\n');
      resolve({ status: Number(/^HTTP\/1\.1 (\d+)/.exec(head ?? '')?.[1]), body: JSON.parse(payload ?? 'null') });
    });
  });
}
