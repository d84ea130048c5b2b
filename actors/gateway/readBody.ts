/**
 * Reads an HTTP request's JSON body, refusing bad input before anything reads it: a body over
 * the size limit (by its Content-Length, before reading, or as it arrives), one that takes too
 * long to arrive (a client sending a byte a second holds nothing for long), a Content-Type or
 * Content-Encoding that is not plain JSON, bytes that are not UTF-8, JSON nested deeper than any
 * API request needs (deep enough would overflow the stack of whatever walks it later), and a
 * body that is not a JSON object. Each refusal is a `RequestBodyError` with the HTTP status and a
 * stable code; a route turns it into its own API's error shape (`asOpenAIError` for OpenAI's).
 */
import { isUtf8 } from 'node:buffer';
import type { IncomingMessage } from 'node:http';
import { KoubouError } from '../../src/core/errors.ts';
import { jsonTooDeepAt, MAX_JSON_DEPTH } from '../../src/core/jsonDepth.ts';
import { HttpError } from './HttpError.ts';

export interface BodyLimits {
  /** Largest body in bytes. */
  maxBytes: number;
  /** Longest the whole body may take to arrive, from the first call. Default 30 000 ms. */
  timeoutMs?: number;
  /** Deepest nesting of arrays and objects. Default MAX_JSON_DEPTH (64). */
  maxDepth?: number;
}

/** Why a request's body was refused; `closeConnection`: the rest of the body was never read. */
export class RequestBodyError extends KoubouError {
  constructor(readonly status: number, code: string, message: string, readonly closeConnection = false) {
    super(code, message);
  }
}

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json$/i;

/**
 * @example
 * const body = await readJsonBody(req, { maxBytes: 3 * 1024 * 1024 }).catch((e) => { throw e instanceof RequestBodyError ? asOpenAIError(e) : e; });
 */
export async function readJsonBody(req: IncomingMessage, limits: BodyLimits): Promise<Record<string, unknown>> {
  checkHeaders(req, limits.maxBytes);
  const bytes = await readBytes(req, limits.maxBytes, limits.timeoutMs ?? 30_000);
  if (!isUtf8(bytes)) throw new RequestBodyError(400, 'invalid_utf8', `The request body is not valid UTF-8 (the first bad byte is at offset ${firstBadUtf8(bytes)}).`);
  const text = bytes.toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new RequestBodyError(400, 'invalid_json', `We could not parse the JSON body of your request: ${(e as Error).message}.`);
  }
  const maxDepth = limits.maxDepth ?? MAX_JSON_DEPTH;
  const deep = jsonTooDeepAt(value, maxDepth);
  if (deep !== null) throw new RequestBodyError(400, 'json_too_deep', `The JSON body is nested deeper than ${maxDepth} levels (under ${deep || 'the top level'}).`);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new RequestBodyError(400, 'invalid_json', `The request body must be a JSON object, got ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}.`);
  }
  return value as Record<string, unknown>;
}

/** The refusal in OpenAI's error shape; a connection whose body was left unread is closed after it. */
export function asOpenAIError(e: RequestBodyError): HttpError {
  return new HttpError(e.status, e.message, 'invalid_request_error', e.code, null, e.closeConnection ? { Connection: 'close' } : {});
}

function checkHeaders(req: IncomingMessage, maxBytes: number): void {
  const type = req.headers['content-type']?.split(';')[0]!.trim();
  if (type && !JSON_TYPE.test(type)) {
    throw new RequestBodyError(415, 'unsupported_media_type', `Content-Type ${JSON.stringify(type.slice(0, 100))} is not supported: send the body as application/json.`, true);
  }
  const encoding = req.headers['content-encoding']?.trim().toLowerCase();
  if (encoding && encoding !== 'identity') {
    throw new RequestBodyError(415, 'unsupported_media_type', `Content-Encoding ${JSON.stringify(encoding.slice(0, 100))} is not supported: send the body uncompressed.`, true);
  }
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > maxBytes) throw new RequestBodyError(413, 'request_too_large', `Request body over ${maxBytes} bytes (Content-Length ${declared}).`, true);
}

function readBytes(req: IncomingMessage, maxBytes: number, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (error: RequestBodyError | null) => {
      clearTimeout(timer);
      req.off('data', onData).off('end', onEnd).off('error', onError).off('aborted', onAborted);
      if (error) {
        // Stop reading: what the client still sends is dropped, and the answer closes the connection.
        req.pause();
        reject(error);
      } else resolve(Buffer.concat(chunks, size));
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) return finish(new RequestBodyError(413, 'request_too_large', `Request body over ${maxBytes} bytes.`, true));
      chunks.push(chunk);
    };
    const onEnd = () => finish(null);
    const onError = (e: Error) => finish(new RequestBodyError(400, 'request_aborted', `The request body could not be read: ${e.message}.`, true));
    const onAborted = () => finish(new RequestBodyError(400, 'request_aborted', 'The client closed the connection before the body ended.', true));
    const timer = setTimeout(() => finish(new RequestBodyError(408, 'request_timeout',
      `The request body did not arrive within ${timeoutMs / 1000} s (${size} bytes came): send it at once.`, true)), timeoutMs);
    req.on('data', onData).on('end', onEnd).on('error', onError).on('aborted', onAborted);
  });
}

/** Offset of the first byte of the first sequence that is not UTF-8 (for the message; `isUtf8` decides). */
function firstBadUtf8(b: Buffer): number {
  for (let i = 0; i < b.length;) {
    const c = b[i]!;
    const n = c < 0x80 ? 0 : c >= 0xc2 && c <= 0xdf ? 1 : (c & 0xf0) === 0xe0 ? 2 : c >= 0xf0 && c <= 0xf4 ? 3 : -1;
    if (n < 0) return i;
    for (let k = 1; k <= n; k++) if (i + k >= b.length || (b[i + k]! & 0xc0) !== 0x80) return i;
    const next = b[i + 1]!;
    // Overlong forms, UTF-16 surrogates and code points past U+10FFFF.
    if ((c === 0xe0 && next < 0xa0) || (c === 0xed && next >= 0xa0) || (c === 0xf0 && next < 0x90) || (c === 0xf4 && next >= 0x90)) return i;
    i += n + 1;
  }
  return -1;
}
