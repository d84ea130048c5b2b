/**
 * The Ollama side of the simulator: `POST /api/chat` (NDJSON stream by
 * default, or one JSON object with `stream: false`), `GET /api/tags`,
 * `/api/version` and `/api/ps`, with Ollama's `{"error": "..."}` bodies, its
 * 404 for models not pulled and its 503 when the queue is full.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { faultName, planAnswer, readMessages, trackChat, type SimContext, type SimRequestRecord } from './context.ts';
import { cutConnection, pace, parseJsonObject, readBody, sendCutJson, sendJson, wait } from './http.ts';
import { tokenPieces } from './text.ts';
import { answeredFunctions, offeredFunctions, scriptedCall, scriptedTurn, toolOutputs } from './toolScript.ts';

/** Ollama's own words when `OLLAMA_MAX_QUEUE` is exceeded. */
export const OLLAMA_BUSY_MESSAGE = 'server busy, please try again.  maximum pending requests exceeded';
const KEEP_ALIVE_MS = 5 * 60_000;

/** `gpt-oss` means `gpt-oss:latest`, as in Ollama. */
const fullName = (name: string): string => (name.includes(':') ? name : `${name}:latest`);

const sendError = (res: ServerResponse, status: number, error: string): void => sendJson(res, status, { error });

function modelEntry(name: string, expiresAt?: number): Record<string, unknown> {
  const oss = name.startsWith('gpt-oss');
  return {
    name, model: name, modified_at: '2025-08-05T17:00:00.000000000Z', size: oss ? 13_780_173_839 : 4_000_000_000,
    digest: `${Buffer.from(name).toString('hex').padEnd(64, '0').slice(0, 64)}`,
    details: { parent_model: '', format: 'gguf', family: oss ? 'gptoss' : 'llama', families: [oss ? 'gptoss' : 'llama'], parameter_size: oss ? '20.9B' : '8.0B', quantization_level: oss ? 'MXFP4' : 'Q4_K_M' },
    ...(expiresAt === undefined ? {} : { expires_at: new Date(expiresAt).toISOString(), size_vram: oss ? 13_780_173_839 : 4_000_000_000 }),
  };
}

export async function handleOllama(req: IncomingMessage, res: ServerResponse, ctx: SimContext, path: string, record: SimRequestRecord): Promise<void> {
  const models = ctx.options.models.ollama;
  if (req.method === 'GET' && path === '/api/version') return sendJson(res, 200, { version: ctx.options.ollamaVersion });
  if (req.method === 'GET' && path === '/api/tags') return sendJson(res, 200, { models: models.map((m) => modelEntry(fullName(m))) });
  if (req.method === 'GET' && path === '/api/ps') {
    const now = Date.now();
    const running = [...ctx.loaded].filter(([, until]) => until > now).map(([m, until]) => modelEntry(m, until));
    return sendJson(res, 200, { models: running });
  }
  if (req.method !== 'POST' || path !== '/api/chat') return sendError(res, 404, '404 page not found');

  const body = parseJsonObject(await readBody(req));
  record.body = body;
  if (!body) return sendError(res, 400, 'invalid character in request body');
  if (typeof body.model !== 'string' || body.model === '') return sendError(res, 400, 'model is required');
  const model = body.model;
  if (!models.some((m) => fullName(m) === fullName(model))) return sendError(res, 404, `model "${model}" not found, try pulling it first`);
  const messages = readMessages(body.messages);
  if (!messages) return sendError(res, 400, 'messages are required');
  if (ctx.ollamaInFlight >= ctx.options.maxQueue) {
    ctx.stats.busy++;
    return sendError(res, 503, OLLAMA_BUSY_MESSAGE);
  }
  ctx.ollamaInFlight++;
  res.on('close', () => ctx.ollamaInFlight--);
  const tracker = trackChat(ctx, res);
  const started = process.hrtime.bigint();

  const fault = ctx.faults.next();
  if (fault) {
    ctx.stats.faultsInjected++;
    record.fault = faultName(fault);
  }
  if (fault && 'hang' in fault) return;
  if (fault && 'status' in fault) {
    tracker.ended();
    return sendError(res, fault.status, fault.message ?? (fault.status === 503 ? OLLAMA_BUSY_MESSAGE : 'llama runner process has terminated: exit status 2'));
  }

  const options = (body.options ?? {}) as { num_predict?: unknown };
  const budget = typeof options.num_predict === 'number' && options.num_predict >= 0 ? options.num_predict : undefined;
  // gpt-oss always reasons (medium unless told); other models only when `think` asks.
  const think = body.think;
  const effort = think === false ? null
    : typeof think === 'string' ? think
    : think === true || model.startsWith('gpt-oss') ? 'medium' : null;
  const plan = planAnswer(ctx.options, { model, messages, effort, budget, showThinking: true });
  ctx.loaded.set(fullName(model), Date.now() + KEEP_ALIVE_MS);

  const offered = offeredFunctions(body.tools);
  const call = scriptedTurn(ctx.options.turns, offered, toolOutputs(body.messages)) ?? scriptedCall(ctx.options.toolCalls, offered, answeredFunctions(body.messages));
  // Ollama gives a call whole, its arguments as an object.
  const toolCalls = call ? [{ function: { name: call.name, arguments: JSON.parse(call.arguments) as unknown } }] : null;
  const thinking = tokenPieces(plan.thinkingIds);
  const content = call ? [] : tokenPieces(plan.visibleIds);
  const createdAt = (): string => new Date().toISOString();
  const final = (): Record<string, unknown> => {
    const total = Number(process.hrtime.bigint() - started);
    return {
      done: true, done_reason: plan.truncated ? 'length' : 'stop',
      total_duration: total, load_duration: Math.floor(total / 10), prompt_eval_count: plan.promptTokens,
      prompt_eval_duration: Math.floor(total / 5), eval_count: (call ? Math.max(1, Math.ceil(call.arguments.length / 4)) : plan.visibleIds.length) + plan.reasoningTokens, eval_duration: Math.floor((total * 7) / 10),
    };
  };

  // Ollama sends nothing, headers included, until the first token is ready.
  if (!(await wait(res, ctx.options.latencyMs))) return;
  if (body.stream === false) {
    const message = { role: 'assistant', content: content.join(''), ...(thinking.length ? { thinking: thinking.join('') } : {}), ...(toolCalls ? { tool_calls: toolCalls } : {}) };
    const answer = { model, created_at: createdAt(), message, ...final() };
    if (fault && ('malformedJson' in fault || 'cutStream' in fault)) {
      tracker.ended();
      if ('cutStream' in fault) return sendCutJson(res, answer);
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
      return void res.end('{"model":"');
    }
    tracker.done();
    return sendJson(res, 200, answer);
  }

  res.writeHead(200, { 'content-type': 'application/x-ndjson' });
  const lines = [
    ...thinking.map((t) => ({ role: 'assistant', content: '', thinking: t })),
    ...content.map((c) => ({ role: 'assistant', content: c })),
    ...(toolCalls ? [{ role: 'assistant', content: '', tool_calls: toolCalls }] : []),
  ];
  const stopAt = fault && 'cutStream' in fault ? Math.min(lines.length, fault.afterTokens ?? Math.floor(lines.length / 2))
    : fault && 'malformedJson' in fault ? Math.floor(lines.length / 2) : lines.length;
  const complete = await pace(res, stopAt, ctx.options.tokensPerSecond, (from, to) => {
    res.write(lines.slice(from, to).map((message) => `${JSON.stringify({ model, created_at: createdAt(), message, done: false })}\n`).join(''));
  });
  if (!complete) return;
  if (fault && ('cutStream' in fault || 'malformedJson' in fault)) {
    tracker.ended();
    if ('cutStream' in fault) return cutConnection(res);
    // A broken line, then a clean end without the `done` line.
    return void res.end(`{"model":"${model}","created_at":\n`);
  }
  tracker.done();
  res.end(`${JSON.stringify({ model, created_at: createdAt(), message: { role: 'assistant', content: '' }, ...final() })}\n`);
}
