/**
 * `startSimServer`: one node:http server speaking OpenAI's chat
 * completions API (under `/v1`), Ollama's native API (under `/api`) and Anthropic's
 * Messages API (`/v1/messages`, and `/v1/` requests that send `anthropic-version`), so that
 * koubou's providers can be tested over real HTTP with the real SDKs.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { emptyStats, type SimContext, type SimRequestRecord, type SimStats } from './context.ts';
import { FaultPlan } from './faults.ts';
import { sendJson } from './http.ts';
import { handleAnthropic, isAnthropicRequest } from './anthropicRoutes.ts';
import { handleOllama } from './ollamaRoutes.ts';
import { handleOpenAI } from './openaiRoutes.ts';
import { resolveSimOptions, type SimOptions } from './options.ts';
import { PromptCache } from './promptCache.ts';
import { SimRateLimiter } from './rateLimiter.ts';

const LOG_SIZE = 200;

export interface SimServer {
  /** Base URL, e.g. `http://127.0.0.1:53127`: Ollama's host; OpenAI's base URL is `${url}/v1`. */
  readonly url: string;
  readonly port: number;
  /** Live counters and the recent request log. */
  readonly stats: SimStats;
  /**
   * Changes options while running. `rateLimit` starts fresh buckets; `inject`
   * replaces the fault plan; the prompt cache is kept.
   */
  setOptions(partial: Omit<SimOptions, 'port' | 'host'>): void;
  /** Stops listening and cuts every open connection (hung requests included). */
  close(): Promise<void>;
}

/**
 * Starts the simulator.
 *
 * @example
 * const sim = await startSimServer({ apiKey: 'sk-test', rateLimit: { rpm: 10 }, tokensPerSecond: 200 });
 * const openai = new OpenAI({ apiKey: 'sk-test', baseURL: `${sim.url}/v1` });
 * const ollama = new Ollama({ host: sim.url });
 * sim.setOptions({ inject: [{ status: 500 }] }); // the next chat request fails
 * await sim.close();
 */
export async function startSimServer(options: SimOptions = {}): Promise<SimServer> {
  const resolved = resolveSimOptions(options);
  const ctx: SimContext = {
    options: resolved,
    limiter: new SimRateLimiter(resolved.rateLimit),
    cache: new PromptCache(),
    faults: new FaultPlan(options.inject),
    stats: emptyStats(),
    ollamaInFlight: 0,
    loaded: new Map(),
  };
  const sockets = new Set<Socket>();

  const server = createServer((req, res) => {
    handle(req, res, ctx).catch((e: unknown) => {
      // A bug in the simulator: answer 500 rather than leave the client hanging.
      if (!res.headersSent) sendJson(res, 500, { error: { message: `simulator error: ${(e as Error).message}`, type: 'server_error', param: null, code: null } });
      else res.destroy();
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.keepAliveTimeout = 5_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the simulator has no TCP address');
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  return {
    url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${address.port}`,
    port: address.port,
    stats: ctx.stats,
    setOptions(partial) {
      ctx.options = resolveSimOptions(partial, ctx.options);
      if ('rateLimit' in partial) ctx.limiter = new SimRateLimiter(ctx.options.rateLimit);
      if ('inject' in partial) ctx.faults.set(partial.inject);
    },
    close() {
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
    },
  };
}

async function handle(req: IncomingMessage, res: ServerResponse, ctx: SimContext): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://sim').pathname.replace(/\/+$/, '') || '/';
  const protocol = path.startsWith('/v1/') ? 'openai' : path.startsWith('/api/') ? 'ollama' : 'other';
  const record: SimRequestRecord = { protocol, method: req.method ?? 'GET', path, auth: 'none' };
  ctx.stats.requests++;
  ctx.stats.log.push(record);
  if (ctx.stats.log.length > LOG_SIZE) ctx.stats.log.shift();
  res.on('finish', () => {
    record.status = res.statusCode;
  });

  if (isAnthropicRequest(req, path)) return handleAnthropic(req, res, ctx, path, record);
  if (protocol === 'openai') return handleOpenAI(req, res, ctx, path, record);
  if (protocol === 'ollama') return handleOllama(req, res, ctx, path, record);
  // Ollama answers its root with this line; scripts probe it to see if a server is up.
  if (path === '/' && (req.method === 'GET' || req.method === 'HEAD')) {
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
    return void res.end('Ollama is running');
  }
  sendJson(res, 404, { error: `no route for ${req.method} ${path}` });
}
