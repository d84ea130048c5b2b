/**
 * Small node:http helpers shared by the OpenAI and Ollama routes: bodies,
 * JSON answers, waits that end when the client goes away, and output pacing.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Reads the request body as text (chat requests are small; 32 MB is plenty). */
export async function readBody(req: IncomingMessage, limit = 32 * 1024 * 1024): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > limit) throw new Error(`request body over ${limit} bytes`);
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Parses JSON, or returns `undefined` for a body that is not a JSON object. */
export function parseJsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** True while the client still listens (it has not aborted or been cut off). */
export function isOpen(res: ServerResponse): boolean {
  return !res.destroyed && !res.writableEnded && !(res.socket?.destroyed ?? true);
}

/**
 * Waits `ms`, or less if the client goes away first.
 * @returns whether the client is still there.
 */
export function wait(res: ServerResponse, ms: number): Promise<boolean> {
  if (!isOpen(res)) return Promise.resolve(false);
  if (ms <= 0) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      res.off('close', done);
      resolve(isOpen(res));
    };
    const timer = setTimeout(done, ms);
    res.on('close', done);
  });
}

/**
 * Emits `count` tokens at `tokensPerSecond` (0 = at once) by calling
 * `emit(from, to)` for each batch that has come due, ticking at most every
 * 10 ms so that fast rates do not cost one timer per token.
 *
 * @returns whether all were emitted (false: the client went away).
 */
export async function pace(
  res: ServerResponse,
  count: number,
  tokensPerSecond: number,
  emit: (from: number, to: number) => void,
): Promise<boolean> {
  const start = Date.now();
  let sent = 0;
  while (sent < count) {
    if (!isOpen(res)) return false;
    const due = tokensPerSecond > 0 ? Math.min(count, Math.floor(((Date.now() - start) * tokensPerSecond) / 1000) + 1) : count;
    if (due > sent) {
      emit(sent, due);
      sent = due;
    }
    if (sent < count && !(await wait(res, Math.max(10, 1000 / tokensPerSecond)))) return false;
  }
  return isOpen(res);
}

/**
 * Ends the connection mid-body, as a crashed upstream or a dropped proxy
 * would: what was written still reaches the client (so the cut comes after
 * the headers), then the socket closes without the body's proper end.
 */
export function cutConnection(res: ServerResponse): void {
  res.socket?.end();
}

/**
 * Sends the headers and half of a JSON body, then cuts the connection: a
 * non-streamed answer lost on the way.
 */
export function sendCutJson(res: ServerResponse, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(200, { ...headers, 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.write(text.slice(0, Math.floor(text.length / 2)));
  cutConnection(res);
}

/** Random lowercase hex, for ids (`chatcmpl-…`, `req_…`). */
export function randomHex(length: number): string {
  let out = '';
  while (out.length < length) out += Math.floor(Math.random() * 0x1_0000_0000).toString(16).padStart(8, '0');
  return out.slice(0, length);
}
