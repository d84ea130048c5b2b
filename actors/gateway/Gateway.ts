/**
 * koubou's OpenAI-compatible front door. Tools that speak the OpenAI API (the `openai` SDK,
 * Aider, Continue, Codex CLI) send `POST /v1/chat/completions` or `POST /v1/responses`; every
 * request becomes a koubou task, routed by the task machine like any other (sensitivity over
 * the whole conversation, difficulty, budget, rate limits), recorded and charged by the ledger,
 * and visible in `koubou watch` and the dashboard. The answer goes back in the API's own shape,
 * with the task id, its tier and its fallbacks in `x-koubou-*` headers.
 *
 * It is a client of the bus like the CLI (role `submitter`). Not yet here: streaming token by
 * token (a streamed request gets its answer as events once the task ends), tool calls passed
 * through to the model, tiers pinned by model name, and keys kept by koubou.
 */
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { encode, followTask, MSG_ID, SUBJECTS, type TaskEventMessage } from '../../src/bus/index.ts';
import { InputError } from '../../src/core/errors.ts';
import {
  chatChunks, chatCompletion, chatTurns, conversationPrompt, responsesEvents, responsesResponse, responsesTurns,
  type Answer, type ConversationTurn,
} from '../../src/llm/openaiCompat/index.ts';

/** The one model name the gateway serves: koubou itself, routing each request. */
export const GATEWAY_MODEL = 'koubou';

export interface GatewayOptions {
  /** A connection as role `submitter`; not closed by `stop()`. */
  nc: NatsConnection;
  /** SHA-256 hex digests of the accepted bearer keys (the keys themselves are never kept). */
  keyDigests: string[];
  /** Default 8788; 0 picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Longest a request waits for its task to end. Default 600 000 ms. */
  timeoutMs?: number;
  /** Largest request body. Default 8 MiB (the bus's message limit). */
  maxBodyBytes?: number;
  log?: (line: string) => void;
}

/** SHA-256 hex of a key, as `keyDigests` holds it. */
export const keyDigest = (key: string): string => createHash('sha256').update(key).digest('hex');

class HttpError extends Error {
  constructor(readonly status: number, message: string, readonly type: string, readonly code: string | null, readonly param: string | null = null) {
    super(message);
  }
}

/**
 * @example
 * const gw = new Gateway({ nc: await ctx.connect('submitter'), keyDigests: [keyDigest(process.env.KOUBOU_GATEWAY_KEY!)] });
 * const { url } = await gw.start(); // http://127.0.0.1:8788 — point an OpenAI client at `${url}/v1`
 */
export class Gateway {
  private server: Server | null = null;
  private readonly digests: Buffer[];
  private readonly log: (line: string) => void;

  constructor(private readonly options: GatewayOptions) {
    this.digests = options.keyDigests.map((d) => Buffer.from(d, 'hex'));
    this.log = options.log ?? (() => {});
  }

  async start(): Promise<{ url: string }> {
    const server = createServer((req, res) => void this.handle(req, res));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port ?? 8788, this.options.host ?? '127.0.0.1', () => resolve());
    });
    const { address, port } = server.address() as AddressInfo;
    return { url: `http://${address}:${port}` };
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      this.authorize(req);
      const path = (req.url ?? '/').split('?')[0];
      if (req.method === 'GET' && path === '/v1/models') {
        return send(res, 200, { object: 'list', data: [{ id: GATEWAY_MODEL, object: 'model', created: 0, owned_by: 'koubou' }] });
      }
      if (req.method === 'POST' && (path === '/v1/chat/completions' || path === '/v1/responses')) {
        const body = await this.readJson(req);
        return await this.answer(req, res, path === '/v1/responses' ? 'responses' : 'chat', body);
      }
      throw new HttpError(404, `Invalid URL (${req.method} ${path})`, 'invalid_request_error', null);
    } catch (e) {
      const err = e instanceof HttpError ? e
        : e instanceof InputError ? new HttpError(400, e.message, 'invalid_request_error', e.code)
          : new HttpError(500, `koubou gateway: ${(e as Error).message}`, 'server_error', null);
      if (err.status >= 500) this.log(`gateway: ${err.message}`);
      const headers = (err as HttpError & { headers?: Record<string, string> }).headers ?? {};
      if (!res.headersSent) send(res, err.status, { error: { message: err.message, type: err.type, param: err.param, code: err.code } }, headers);
      else res.end();
    }
  }

  private authorize(req: IncomingMessage): void {
    const auth = req.headers.authorization ?? '';
    const key = /^Bearer\s+(.+)$/i.exec(auth)?.[1]?.trim();
    if (!key) throw new HttpError(401, "You didn't provide an API key: send it as Authorization: Bearer <koubou gateway key>.", 'invalid_request_error', null);
    const digest = Buffer.from(keyDigest(key), 'hex');
    if (!this.digests.some((d) => d.length === digest.length && timingSafeEqual(d, digest))) {
      throw new HttpError(401, 'Incorrect API key provided: it is not one of this gateway\'s keys.', 'invalid_request_error', 'invalid_api_key');
    }
  }

  private async readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
    const limit = this.options.maxBodyBytes ?? 8 * 1024 * 1024;
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > limit) throw new HttpError(413, `Request body over ${limit} bytes.`, 'invalid_request_error', 'request_too_large');
      chunks.push(chunk as Buffer);
    }
    let value: unknown;
    try {
      value = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      throw new HttpError(400, 'We could not parse the JSON body of your request.', 'invalid_request_error', null);
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new HttpError(400, 'The request body must be a JSON object.', 'invalid_request_error', null);
    return value as Record<string, unknown>;
  }

  /** One request, one task: submit it, follow it to its end, answer in the API's shape. */
  private async answer(req: IncomingMessage, res: ServerResponse, api: 'chat' | 'responses', body: Record<string, unknown>): Promise<void> {
    if (body.model !== GATEWAY_MODEL) {
      throw new HttpError(404, `The model \`${String(body.model)}\` does not exist: this gateway serves \`${GATEWAY_MODEL}\`, which koubou routes.`, 'invalid_request_error', 'model_not_found', 'model');
    }
    const turns: ConversationTurn[] = api === 'chat' ? chatTurns(body.messages) : responsesTurns(body.instructions, body.input);
    const taskId = `gw-${randomUUID()}`;
    const js = jetstream(this.options.nc);
    await js.publish(SUBJECTS.submit, encode({ taskId, type: 'general', priority: 5, prompt: conversationPrompt(turns), files: [] }), { msgID: MSG_ID.submission(taskId) });

    // A client that goes away before the answer cancels its task: nobody would read it.
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), this.options.timeoutMs ?? 600_000);
    const gone = () => {
      if (res.writableEnded) return;
      abort.abort();
      js.publish(SUBJECTS.cancel(taskId), encode({ kind: 'cancel', taskId, reason: 'the API client went away', at: new Date().toISOString() })).catch(() => {});
    };
    res.once('close', gone);
    const fallbacks: string[] = [];
    let final: TaskEventMessage | null;
    try {
      final = await followTask(this.options.nc, taskId, {
        deliver: 'all', signal: abort.signal,
        onEvent: (e) => { if (e.fallback) fallbacks.push(`${e.fallback.from}>${e.fallback.to}`); },
      });
    } finally {
      clearTimeout(timer);
    }
    if (!final) throw new HttpError(504, `task ${taskId} did not end within ${(this.options.timeoutMs ?? 600_000) / 1000} s`, 'server_error', 'timeout');
    const headers = { 'x-koubou-task-id': taskId, 'x-koubou-tier': final.tier ?? '', 'x-koubou-fallbacks': fallbacks.join(',') };
    if (final.status !== 'completed' || !final.result) {
      const why = final.error ? `${final.error.code}: ${final.error.message}` : final.reason;
      throw Object.assign(new HttpError(502, `task ${taskId} ${final.status}: ${why}`, 'server_error', final.error?.code ?? final.status), { headers });
    }
    const usage = final.result.usage ?? { promptTokens: 0, cachedPromptTokens: 0, completionTokens: 0, reasoningTokens: 0 };
    const a: Answer = { id: taskId.replace(/-/g, ''), model: GATEWAY_MODEL, text: final.result.text, usage, createdAt: Math.floor(Date.now() / 1000) };
    if (body.stream === true) {
      res.writeHead(200, { ...headers, 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
      const includeUsage = (body.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true;
      for (const e of api === 'chat' ? chatChunks(a, includeUsage) : responsesEvents(a)) res.write(e);
      res.end();
      return;
    }
    send(res, 200, api === 'chat' ? chatCompletion(a) : responsesResponse(a), headers);
  }
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
