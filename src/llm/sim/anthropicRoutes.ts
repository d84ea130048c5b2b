/**
 * The Messages face of the simulator (Anthropic's API): `POST /v1/messages` (JSON or SSE with
 * Anthropic's events), `GET /v1/models` for clients sending `anthropic-version`, with `x-api-key`
 * (or bearer) auth, `anthropic-ratelimit-*` headers, 429 `rate_limit_error` and 529 `overloaded_error`,
 * prompt caching as `cache_read_input_tokens`, thinking tokens by `output_config.effort`, and
 * the scripted tool calls as `tool_use` blocks.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { faultName, planAnswer, trackChat, type SimContext, type SimRequestRecord } from './context.ts';
import { cutConnection, pace, parseJsonObject, randomHex, readBody, sendCutJson, sendJson, wait } from './http.ts';
import { promptTokenIds, tokenPieces, type SimMessage } from './text.ts';
import { scriptedCall, scriptedTurn } from './toolScript.ts';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Anthropic's error type for a status. */
const TYPES: Record<number, string> = {
  400: 'invalid_request_error', 401: 'authentication_error', 403: 'permission_error', 404: 'not_found_error',
  413: 'request_too_large', 429: 'rate_limit_error', 500: 'api_error', 529: 'overloaded_error',
};
const sendError = (res: ServerResponse, status: number, message: string, headers: Record<string, string>) =>
  sendJson(res, status, { type: 'error', error: { type: TYPES[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error'), message } }, headers);

/** The requests this face answers: its own path, and any `/v1/` request of a client that says it speaks Anthropic's API. */
export const isAnthropicRequest = (req: IncomingMessage, path: string): boolean =>
  path === '/v1/messages' || (path.startsWith('/v1/') && req.headers['anthropic-version'] !== undefined);

/** The limiter's buckets in Anthropic's headers: what is left, and when (RFC 3339) it is full again. */
function rateLimitHeaders(ctx: SimContext, now = Date.now()): Record<string, string> {
  const out: Record<string, string> = {};
  for (const b of ctx.limiter.levels(now)) {
    out[`anthropic-ratelimit-${b.kind}-limit`] = String(b.limit);
    out[`anthropic-ratelimit-${b.kind}-remaining`] = String(b.remaining);
    out[`anthropic-ratelimit-${b.kind}-reset`] = new Date(now + b.fullInMs).toISOString();
  }
  return out;
}

/** Text of a string or of text blocks (tool results' content too). */
const textOf = (content: unknown): string => (typeof content === 'string' ? content
  : Array.isArray(content) ? content.map((b) => (isObj(b) ? (typeof b.text === 'string' ? b.text : b.type === 'tool_result' ? textOf(b.content) : '') : '')).join('') : '');

export async function handleAnthropic(req: IncomingMessage, res: ServerResponse, ctx: SimContext, path: string, record: SimRequestRecord): Promise<void> {
  record.protocol = 'anthropic';
  const common: Record<string, string> = { 'request-id': `req_${randomHex(24)}`, ...rateLimitHeaders(ctx) };
  const key = ctx.options.apiKey;
  // The key as x-api-key, or as a bearer token (what the SDK sends since 1.x).
  const bearer = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1];
  const header = req.headers['x-api-key'];
  const given = typeof header === 'string' ? header : bearer;
  record.auth = given === undefined ? 'none' : key === undefined || given === key ? 'ok' : 'bad';
  if (key !== undefined && given !== key) {
    ctx.stats.unauthorized++;
    return sendError(res, 401, 'invalid x-api-key', common);
  }
  const models = ctx.options.models.anthropic;
  if (req.method === 'GET' && path === '/v1/models') {
    const data = models.map((id) => ({ type: 'model', id, display_name: id, created_at: '2025-09-29T00:00:00Z' }));
    return sendJson(res, 200, { data, has_more: false, first_id: models[0] ?? null, last_id: models.at(-1) ?? null }, common);
  }
  if (req.method !== 'POST' || path !== '/v1/messages') return sendError(res, 404, `Not found: ${req.method} ${path}`, common);

  const body = parseJsonObject(await readBody(req));
  record.body = body;
  if (!body) return sendError(res, 400, 'There was an issue with the request body: it is not valid JSON.', common);
  if (typeof body.model !== 'string' || !models.includes(body.model)) return sendError(res, 404, `model: ${String(body.model)}`, common);
  if (typeof body.max_tokens !== 'number') return sendError(res, 400, 'max_tokens: Field required', common);
  if (!Array.isArray(body.messages) || body.messages.length === 0) return sendError(res, 400, 'messages: at least one message is required', common);
  const model = body.model;
  const turns = body.messages.filter(isObj);
  const messages: SimMessage[] = [
    ...(body.system ? [{ role: 'system', content: textOf(body.system) }] : []),
    ...turns.map((m) => ({ role: String(m.role), content: textOf(m.content) })),
  ];
  const output = isObj(body.output_config) ? body.output_config.effort : undefined;
  const effort = output === 'xhigh' || output === 'max' ? 'high' : typeof output === 'string' ? output : null;
  const plan = planAnswer(ctx.options, { model, messages, effort, budget: body.max_tokens, showThinking: false });

  const taken = ctx.limiter.take(plan.promptTokens + body.max_tokens);
  Object.assign(common, rateLimitHeaders(ctx));
  if (!taken.ok) {
    ctx.stats.rateLimited++;
    return sendError(res, 429, `This request would exceed the rate limit for your organization of ${taken.limit} ${taken.kind === 'requests' ? 'requests' : 'tokens'} per minute (simulated).`,
      { ...common, 'retry-after': String(Math.ceil(taken.retryAfterMs / 1000)) });
  }

  const tracker = trackChat(ctx, res);
  const fault = ctx.faults.next();
  if (fault) {
    ctx.stats.faultsInjected++;
    record.fault = faultName(fault);
  }
  if (fault && 'hang' in fault) return;
  if (fault && 'status' in fault) {
    tracker.ended();
    const extra: Record<string, string> = fault.status === 429 ? { 'retry-after': String(Math.ceil((fault.retryAfterMs ?? 1000) / 1000)) } : {};
    return sendError(res, fault.status, fault.message ?? (fault.status === 529 ? 'Overloaded' : `Simulated error ${fault.status}.`), { ...common, ...extra });
  }

  const cached = ctx.cache.lookupAndStore(model, promptTokenIds(messages));
  const offered = Array.isArray(body.tools) ? body.tools.filter(isObj).map((t) => String(t.name)) : [];
  const blocks = turns.flatMap((m) => (Array.isArray(m.content) ? m.content.filter(isObj) : []));
  const results = blocks.filter((b) => b.type === 'tool_result').map((b) => b.tool_use_id);
  const answered = blocks.filter((b) => b.type === 'tool_use' && results.includes(b.id)).map((b) => String(b.name));
  const call = scriptedTurn(ctx.options.turns, offered, results.length) ?? scriptedCall(ctx.options.toolCalls, offered, answered);
  const toolUse = call ? { type: 'tool_use', id: `toolu_${randomHex(24)}`, name: call.name, input: JSON.parse(call.arguments) as unknown } : null;
  const outputTokens = (call ? Math.max(1, Math.ceil(call.arguments.length / 4)) : plan.visibleIds.length) + plan.reasoningTokens;
  const usage = {
    input_tokens: plan.promptTokens - cached, cache_creation_input_tokens: 0, cache_read_input_tokens: cached,
    output_tokens: outputTokens, output_tokens_details: { thinking_tokens: plan.reasoningTokens }, service_tier: 'standard',
  };
  const pieces = call ? [] : tokenPieces(plan.visibleIds);
  const stopReason = call ? 'tool_use' : plan.truncated ? 'max_tokens' : 'end_turn';
  const head = { id: `msg_${randomHex(24)}`, type: 'message', role: 'assistant', model };

  if (body.stream !== true) {
    if (!(await wait(res, ctx.options.latencyMs))) return;
    const answer = { ...head, content: toolUse ? [toolUse] : [{ type: 'text', text: pieces.join('') }], stop_reason: stopReason, stop_sequence: null, usage };
    if (fault && ('malformedJson' in fault || 'cutStream' in fault)) {
      tracker.ended();
      if ('cutStream' in fault) return sendCutJson(res, answer, common);
      res.writeHead(200, { ...common, 'content-type': 'application/json' });
      return void res.end('{"id":"msg_');
    }
    tracker.done();
    return sendJson(res, 200, answer, common);
  }

  const event = (type: string, data: Obj) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
  res.writeHead(200, { ...common, 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
  res.write(event('message_start', { message: { ...head, content: [], stop_reason: null, stop_sequence: null, usage: { ...usage, output_tokens: 1 } } }));
  if (!(await wait(res, ctx.options.latencyMs))) return;
  const stopAt = fault && 'cutStream' in fault ? Math.min(pieces.length, fault.afterTokens ?? Math.floor(pieces.length / 2))
    : fault && 'malformedJson' in fault ? Math.floor(pieces.length / 2) : pieces.length;
  if (!toolUse) res.write(event('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }));
  const complete = await pace(res, stopAt, ctx.options.tokensPerSecond, (from, to) => {
    res.write(pieces.slice(from, to).map((text) => event('content_block_delta', { index: 0, delta: { type: 'text_delta', text } })).join(''));
  });
  if (!complete) return;
  if (fault && ('cutStream' in fault || 'malformedJson' in fault)) {
    tracker.ended();
    if ('cutStream' in fault) return cutConnection(res);
    return void res.end('event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta"\n\n');
  }
  if (toolUse) {
    // As Anthropic streams a call: the block with an empty input, then the input as JSON pieces.
    res.write(event('content_block_start', { index: 0, content_block: { ...toolUse, input: {} } }));
    res.write(event('content_block_delta', { index: 0, delta: { type: 'input_json_delta', partial_json: call!.arguments } }));
  }
  res.write(event('content_block_stop', { index: 0 }));
  res.write(event('message_delta', { delta: { stop_reason: stopReason, stop_sequence: null }, usage }));
  tracker.done();
  res.end(event('message_stop', {}));
}
