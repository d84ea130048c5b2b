/**
 * The OpenAI side of the simulator: `POST /v1/chat/completions` (JSON or SSE)
 * and `GET /v1/models`, with OpenAI's error bodies, bearer auth, rate-limit
 * headers, prompt caching and GPT-5's parameter rules.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { faultName, planAnswer, readMessages, trackChat, type SimContext, type SimRequestRecord } from './context.ts';
import { cutConnection, pace, parseJsonObject, randomHex, readBody, sendCutJson, sendJson, wait } from './http.ts';
import { sendError, sendFault, type ErrorSpec } from './openaiErrors.ts';
import { handleResponses } from './responsesRoute.ts';
import { isReasoningModel, promptTokenIds, REASONING_FACTOR, tokenPieces } from './text.ts';
import { answeredFunctions, offeredFunctions, scriptedCall, scriptedTurn, toolOutputs } from './toolScript.ts';

/** Masks a key the way OpenAI's 401 message does: its start and last four characters. */
function maskKey(key: string): string {
  return key.length <= 8 ? '*'.repeat(key.length) : `${key.slice(0, 3)}${'*'.repeat(Math.min(20, key.length - 7))}${key.slice(-4)}`;
}

export async function handleOpenAI(req: IncomingMessage, res: ServerResponse, ctx: SimContext, path: string, record: SimRequestRecord): Promise<void> {
  const common: Record<string, string> = {
    'x-request-id': `req_${randomHex(32)}`,
    'openai-version': '2020-10-01',
    'openai-processing-ms': '1',
    ...ctx.limiter.headers(),
  };

  const key = ctx.options.apiKey;
  const auth = req.headers.authorization;
  record.auth = auth === undefined ? 'none' : key === undefined || auth === `Bearer ${key}` ? 'ok' : 'bad';
  if (key !== undefined && auth !== `Bearer ${key}`) {
    ctx.stats.unauthorized++;
    const given = auth?.replace(/^Bearer\s+/i, '') ?? '';
    return sendError(res, 401, given
      ? { message: `Incorrect API key provided: ${maskKey(given)}. You can find your API key at https://platform.openai.com/account/api-keys.`, type: 'invalid_request_error', code: 'invalid_api_key' }
      : { message: "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).", type: 'invalid_request_error', code: null },
      common);
  }

  const models = ctx.options.models.openai;
  if (req.method === 'GET' && path === '/v1/models') {
    return sendJson(res, 200, { object: 'list', data: models.map((id) => ({ id, object: 'model', created: 1_754_425_777, owned_by: 'system' })) }, common);
  }
  const one = /^\/v1\/models\/(.+)$/.exec(path);
  if (req.method === 'GET' && one) {
    const id = decodeURIComponent(one[1]!);
    if (models.includes(id)) return sendJson(res, 200, { id, object: 'model', created: 1_754_425_777, owned_by: 'system' }, common);
    return sendError(res, 404, { message: `The model \`${id}\` does not exist or you do not have access to it.`, type: 'invalid_request_error', code: 'model_not_found' }, common);
  }
  if (path === '/v1/responses' && req.method === 'POST') return handleResponses(req, res, ctx, record, common);
  if (path !== '/v1/chat/completions' || req.method !== 'POST') {
    return sendError(res, 404, { message: `Invalid URL (${req.method} ${path})`, type: 'invalid_request_error', code: null }, common);
  }
  return handleChat(req, res, ctx, record, common);
}

/** `POST /v1/chat/completions`, past auth: validation, rate limit, faults, then the answer. */
async function handleChat(req: IncomingMessage, res: ServerResponse, ctx: SimContext, record: SimRequestRecord, common: Record<string, string>): Promise<void> {
  const models = ctx.options.models.openai;
  const body = parseJsonObject(await readBody(req));
  record.body = body;
  if (!body) {
    return sendError(res, 400, { message: 'We could not parse the JSON body of your request. (HINT: This likely means you aren\'t using your HTTP library correctly.)', type: 'invalid_request_error', code: null }, common);
  }
  const invalid = validate(body, models);
  if (invalid) return sendError(res, invalid.status, invalid, common);
  const model = body.model as string;
  const messages = readMessages(body.messages)!;
  const budget = typeof body.max_completion_tokens === 'number' ? body.max_completion_tokens : typeof body.max_tokens === 'number' ? body.max_tokens : undefined;
  const effort = typeof body.reasoning_effort === 'string' ? body.reasoning_effort : isReasoningModel(model) ? 'medium' : null;
  const plan = planAnswer(ctx.options, { model, messages, effort, budget, showThinking: false });

  // OpenAI charges the TPM with the prompt plus the most the answer may take.
  const taken = ctx.limiter.take(plan.promptTokens + (budget ?? plan.visibleIds.length + plan.reasoningTokens));
  Object.assign(common, taken.headers);
  if (!taken.ok) {
    ctx.stats.rateLimited++;
    const seconds = Math.ceil(taken.retryAfterMs / 1000);
    const unit = taken.kind === 'requests' ? 'requests per min (RPM)' : 'tokens per min (TPM)';
    const message = taken.requested > taken.limit
      ? `Request too large for ${model} in organization org-sim on ${unit}: Limit ${taken.limit}, Requested ${taken.requested}. The input or output tokens must be reduced in order to run successfully.`
      : `Rate limit reached for ${model} in organization org-sim on ${unit}: Limit ${taken.limit}, Requested ${taken.requested}. Please try again in ${(taken.retryAfterMs / 1000).toFixed(3)}s. Visit https://platform.openai.com/account/rate-limits to learn more.`;
    return sendError(res, 429, {
      message, type: taken.kind, code: 'rate_limit_exceeded',
    }, { ...common, 'retry-after': String(seconds), 'retry-after-ms': String(taken.retryAfterMs) });
  }

  const tracker = trackChat(ctx, res);
  const fault = ctx.faults.next();
  if (fault) {
    ctx.stats.faultsInjected++;
    record.fault = faultName(fault);
  }
  if (fault && 'hang' in fault) return; // the server's close() or the client ends it
  if (fault && 'status' in fault) {
    tracker.ended();
    return sendFault(res, fault, common);
  }

  const cached = ctx.cache.lookupAndStore(model, promptTokenIds(messages));
  const offered = offeredFunctions(body.tools);
  const call = scriptedTurn(ctx.options.turns, offered, toolOutputs(body.messages)) ?? scriptedCall(ctx.options.toolCalls, offered, answeredFunctions(body.messages));
  const toolCall = call ? { id: `call_${randomHex(24)}`, type: 'function', function: { name: call.name, arguments: call.arguments } } : null;
  const completion = (call ? Math.max(1, Math.ceil(call.arguments.length / 4)) : plan.visibleIds.length) + plan.reasoningTokens;
  const usage = {
    prompt_tokens: plan.promptTokens,
    completion_tokens: completion,
    total_tokens: plan.promptTokens + completion,
    prompt_tokens_details: { cached_tokens: cached, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: plan.reasoningTokens, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
  };
  const pieces = call ? [] : tokenPieces(plan.visibleIds);
  const finishReason = call ? 'tool_calls' : plan.truncated ? 'length' : 'stop';
  const id = `chatcmpl-${randomHex(24)}`;
  const created = Math.floor(Date.now() / 1000);
  /** Fields in OpenAI's order: id, object, created, model, …, choices, usage. */
  const envelope = (object: string, rest: Record<string, unknown>) => ({ id, object, created, model, service_tier: 'default', system_fingerprint: null, ...rest });

  if (body.stream !== true) {
    if (!(await wait(res, ctx.options.latencyMs))) return;
    const answer = envelope('chat.completion', {
      choices: [{
        index: 0, logprobs: null, finish_reason: finishReason,
        message: { role: 'assistant', content: toolCall ? null : pieces.join(''), refusal: null, annotations: [], ...(toolCall ? { tool_calls: [toolCall] } : {}) },
      }],
      usage,
    });
    if (fault && ('malformedJson' in fault || 'cutStream' in fault)) {
      tracker.ended();
      return 'cutStream' in fault ? sendCutJson(res, answer, common) : sendRaw(res, '{"id":"chatcmpl-', common);
    }
    tracker.done();
    return sendJson(res, 200, answer, common);
  }

  const includeUsage = (body.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true;
  const event = (choices: unknown[], usageValue: unknown = null): string =>
    `data: ${JSON.stringify(envelope('chat.completion.chunk', { choices, ...(includeUsage ? { usage: usageValue } : {}) }))}\n\n`;
  const delta = (d: Record<string, unknown>, finish: string | null = null) => ({ index: 0, delta: d, logprobs: null, finish_reason: finish });

  res.writeHead(200, { ...common, 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
  res.write(event([delta({ role: 'assistant', content: '', refusal: null })]));
  // Time to first token: GPT-5 reasons here before any visible output.
  if (!(await wait(res, ctx.options.latencyMs))) return;
  const stopAt = fault && 'cutStream' in fault ? Math.min(pieces.length, fault.afterTokens ?? Math.floor(pieces.length / 2))
    : fault && 'malformedJson' in fault ? Math.floor(pieces.length / 2) : pieces.length;
  const complete = await pace(res, stopAt, ctx.options.tokensPerSecond, (from, to) => {
    res.write(pieces.slice(from, to).map((p) => event([delta({ content: p })])).join(''));
  });
  if (!complete) return;
  if (toolCall) {
    // As OpenAI streams a call: id, type and name with empty arguments, then the arguments.
    res.write(event([delta({ tool_calls: [{ index: 0, id: toolCall.id, type: 'function', function: { name: toolCall.function.name, arguments: '' } }] })]));
    res.write(event([delta({ tool_calls: [{ index: 0, function: { arguments: toolCall.function.arguments } }] })]));
  }
  if (fault && ('cutStream' in fault || 'malformedJson' in fault)) {
    tracker.ended();
    if ('cutStream' in fault) return cutConnection(res);
    // A truncated event, then a clean end: the body is complete but one event is not JSON.
    return void res.end(`data: {"id":"${id}","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"ok"\n\n`);
  }
  res.write(event([delta({}, finishReason)]));
  if (includeUsage) res.write(event([], usage));
  tracker.done();
  res.end('data: [DONE]\n\n');
}

/** GPT-5's parameter rules and the basic shape checks, as OpenAI words them. */
function validate(body: Record<string, unknown>, models: string[]): (ErrorSpec & { status: number }) | undefined {
  const bad = (message: string, param: string | null, code: string | null = null) => ({ status: 400, message, type: 'invalid_request_error', code, param });
  if (typeof body.model !== 'string') return bad('you must provide a model parameter', null);
  if (!models.includes(body.model)) {
    return { status: 404, message: `The model \`${body.model}\` does not exist or you do not have access to it.`, type: 'invalid_request_error', code: 'model_not_found' };
  }
  if (!readMessages(body.messages)) return bad("Invalid value for 'messages': expected a non-empty array of messages.", 'messages', 'invalid_value');
  const effort = body.reasoning_effort;
  if (effort !== undefined && effort !== null && !(typeof effort === 'string' && effort in REASONING_FACTOR)) {
    return bad(`Invalid value: '${String(effort)}'. Supported values are: 'minimal', 'low', 'medium', and 'high'.`, 'reasoning_effort', 'invalid_value');
  }
  if (isReasoningModel(body.model)) {
    if (body.max_tokens !== undefined) {
      return bad("Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.", 'max_tokens', 'unsupported_parameter');
    }
    for (const p of ['temperature', 'top_p'] as const) {
      if (body[p] !== undefined && body[p] !== 1) {
        return bad(`Unsupported value: '${p}' does not support ${String(body[p])} with this model. Only the default (1) value is supported.`, p, 'unsupported_value');
      }
    }
  }
  return undefined;
}

function sendRaw(res: ServerResponse, text: string, headers: Record<string, string>): void {
  res.writeHead(200, { ...headers, 'content-type': 'application/json' });
  res.end(text);
}
