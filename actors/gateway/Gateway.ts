/**
 * koubou's OpenAI-compatible front door. Tools that speak the OpenAI API (the `openai` SDK,
 * Codex CLI, Aider, Continue) send `POST /v1/chat/completions` or `POST /v1/responses`; every
 * request becomes a koubou task, routed by the task machine like any other (sensitivity over
 * the whole conversation, difficulty, budget, rate limits), recorded and charged by the ledger,
 * and visible in `koubou watch` and the dashboard (once it ends, on the interactive path, where
 * it is routed and called in this process). Tools and tool calls pass through; the
 * model's output streams back as it comes; the answer has the task id, its tier and its
 * fallbacks in `x-koubou-*` headers. `koubou/<tier>` pins a tier (sensitivity and the budget
 * still overrule it).
 *
 * It is a front door of the bus (role `gateway`): it authenticates its callers by their keys and
 * sets a task's key (`clientKey`), session and parent itself (src/core/identityFields.ts): on
 * the interactive path in the tasks it routes and records, otherwise in what it submits on its
 * own door subject, sealed with the door key. Its role is trusted as a router's and a cloud
 * worker's are (it writes task records, events and usage: nats.conf); and it alone
 * reads and writes the gateways' shared session state (KV `koubou_sessions`), which the router creates.
 */
import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { KeyAnswers, keyDigest } from '../../src/keys/index.ts';
import { DEFAULT_TIERS, type Tier } from '../../src/core/types.ts';
import { answerRequest, GATEWAY_MODEL, send, type RequestContext } from './answerRequest.ts';
import { openSessionBucket, SessionStore } from '../../src/sessions/index.ts';
import { CHAT_FACE, RESPONSES_FACE } from './ApiFace.ts';
import { answerMessages, isMessagesRequest } from './messagesApi.ts';
import type { ModelNameMap } from './claudeModels.ts';
import { HttpError, httpErrorOf } from './HttpError.ts';
import { asOpenAIError, readJsonBody, RequestBodyError } from './readBody.ts';
import { TaskEventHub } from './TaskEventHub.ts';
import type { InteractivePath } from './interactive/InteractivePath.ts';

export { GATEWAY_MODEL };

/** A key koubou knows: its name (whose spend a task is). */
export interface GatewayKey {
  name: string;
}

export interface GatewayOptions {
  /** A connection as role `gateway`; not closed by `stop()`. */
  nc: NatsConnection;
  /** The key this front door seals its submissions with (`KOUBOU_DOOR_KEY`, shared with the routers). */
  doorKey: string;
  /** SHA-256 hex digests of keys accepted under the name `env` (`KOUBOU_GATEWAY_KEYS`; the keys themselves are never kept). */
  keyDigests: string[];
  /** Finds a key by its digest among those koubou keeps (`koubou keys gateway create`); null when unknown or revoked. */
  lookupKey?: (digest: string) => Promise<GatewayKey | null>;
  /** The config's tiers: `koubou/<tier>` pins one. Default gpt5_high, gpt5_medium, local. */
  tiers?: readonly Tier[];
  /** Default 8788; 0 picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Longest a request waits for its task to end. Default 600 000 ms. */
  timeoutMs?: number;
  /** Largest request body. Default 3 MiB, within the bus's 8 MB (its task carries the conversation once; it used to carry it twice, as it is and as a flattened prompt). */
  maxBodyBytes?: number;
  /** Longest a request's whole body may take to arrive (a client sending a byte a second is cut off). Default 30 000 ms. */
  bodyTimeoutMs?: number;
  log?: (line: string) => void;
  /** Claude model names (Messages API) to koubou's: see claudeModelMap. Default: none mapped. */
  claudeModels?: ModelNameMap;
  /**
   * The interactive path: requests routed in this process and, on a cloud tier whose backend is
   * here, answered by a call from here (docs/operations.md, "The interactive path"). Default: none,
   * every request is submitted to the routers.
   */
  interactive?: InteractivePath;
}


/**
 * @example
 * const gw = new Gateway({ nc: await ctx.connect('gateway'), doorKey: ctx.env.KOUBOU_DOOR_KEY!, keyDigests: [keyDigest(process.env.KOUBOU_GATEWAY_KEY!)] });
 * const { url } = await gw.start(); // http://127.0.0.1:8788 — point an OpenAI client at `${url}/v1`
 */
export class Gateway {
  private server: Server | null = null;
  private readonly digests: Buffer[];
  private readonly log: (line: string) => void;
  private sessions: SessionStore | null = null;
  private readonly events: TaskEventHub;
  private readonly js: JetStreamClient;
  private readonly tiers: readonly Tier[];
  /** Keys found by digest, for a while: a revoked key stops working within this time. */
  private readonly known = new KeyAnswers<GatewayKey>();

  constructor(private readonly options: GatewayOptions) {
    this.digests = options.keyDigests.map((d) => Buffer.from(d, 'hex'));
    this.log = options.log ?? (() => {});
    this.tiers = options.tiers ?? DEFAULT_TIERS;
    this.events = new TaskEventHub(options.nc, this.log);
    this.js = jetstream(options.nc);
  }

  async start(): Promise<{ url: string }> {
    await this.events.start();
    await this.options.interactive?.ready();
    this.sessions = new SessionStore(await openSessionBucket(this.options.nc));
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
    await this.events.stop();
    // Its budget slices go back to the ledger (a gateway killed instead leaves them to expire).
    await this.options.interactive?.stop();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0]!;
    if (isMessagesRequest(req.method, path)) {
      const door = { authorize: () => this.authorize(req), readJson: () => this.readJson(req), context: (k: string) => this.context(k), log: this.log, models: this.options.claudeModels ?? ((m: unknown) => m) };
      return answerMessages(door, req, res, path);
    }
    try {
      const key = await this.authorize(req);
      if (req.method === 'GET' && path === '/v1/models') {
        const ids = [GATEWAY_MODEL, ...this.tiers.map((t) => `${GATEWAY_MODEL}/${t}`)];
        return send(res, 200, { object: 'list', data: ids.map((id) => ({ id, object: 'model', created: 0, owned_by: 'koubou' })) });
      }
      if (req.method === 'POST' && (path === '/v1/chat/completions' || path === '/v1/responses')) {
        const body = await this.readJson(req);
        return await answerRequest(this.context(key.name), req, res, path === '/v1/responses' ? RESPONSES_FACE : CHAT_FACE, body);
      }
      throw new HttpError(404, `Invalid URL (${req.method} ${path})`, 'invalid_request_error', null);
    } catch (e) {
      // One mapping for every API the gateway speaks (the Messages API uses it too).
      const err = httpErrorOf(e);
      if (err.status >= 500) this.log(`gateway: ${err.message}`);
      if (!res.headersSent) send(res, err.status, err.body, err.headers);
      else res.end();
    }
  }

  private context(clientKey: string): RequestContext {
    return {
      nc: this.options.nc, js: this.js, events: this.events, tiers: this.tiers, sessions: this.sessions!,
      timeoutMs: this.options.timeoutMs ?? 600_000, clientKey, door: { name: 'gateway' as const, key: this.options.doorKey },
      ...(this.options.interactive ? { interactive: this.options.interactive } : {}),
    };
  }

  private async authorize(req: IncomingMessage): Promise<GatewayKey> {
    const auth = req.headers.authorization ?? '';
    // Anthropic's clients send the key as x-api-key (Claude Code's ANTHROPIC_API_KEY), or as a bearer token (ANTHROPIC_AUTH_TOKEN).
    const apiKey = req.headers['x-api-key'];
    const key = /^Bearer\s+(.+)$/i.exec(auth)?.[1]?.trim() ?? (typeof apiKey === 'string' && apiKey.trim() ? apiKey.trim() : undefined);
    if (!key) throw new HttpError(401, "You didn't provide an API key: send it as Authorization: Bearer <koubou gateway key> (or x-api-key).", 'invalid_request_error', null);
    const hex = keyDigest(key);
    const digest = Buffer.from(hex, 'hex');
    if (this.digests.some((d) => d.length === digest.length && timingSafeEqual(d, digest))) return { name: 'env' };
    const found = await this.lookup(hex);
    if (found) return found;
    throw new HttpError(401, 'Incorrect API key provided: it is not one of this gateway\'s keys.', 'invalid_request_error', 'invalid_api_key');
  }

  private async lookup(digest: string): Promise<GatewayKey | null> {
    if (!this.options.lookupKey) return null;
    const lookupKey = this.options.lookupKey;
    try {
      return await this.known.get(digest, () => lookupKey(digest));
    } catch (e) {
      throw new HttpError(503, `koubou gateway: cannot check the key now (${(e as Error).message})`, 'server_error', 'ledger_unavailable');
    }
  }

  private readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
    const limits = { maxBytes: this.options.maxBodyBytes ?? 3 * 1024 * 1024, timeoutMs: this.options.bodyTimeoutMs ?? 30_000 };
    return readJsonBody(req, limits).catch((e: unknown) => { throw e instanceof RequestBodyError ? asOpenAIError(e) : e; });
  }
}
