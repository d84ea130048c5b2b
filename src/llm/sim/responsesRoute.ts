/**
 * `POST /v1/responses` on the simulator's OpenAI face: OpenAI's Responses API, JSON or SSE,
 * with the whole event sequence a client builds its output from (response.created …
 * output_item.added … output_text.delta … output_item.done … response.completed with usage),
 * input items (messages, `function_call`, `function_call_output`), function tools, and
 * scripted tool calls (`toolCalls`): what OpenAI's Codex CLI and the `openai` SDK speak.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { planAnswer, trackChat, type SimContext, type SimRequestRecord } from './context.ts';
import { pace, parseJsonObject, randomHex, readBody, sendJson, wait } from './http.ts';
import { sendError, sendFault } from './openaiErrors.ts';
import { isReasoningModel, promptTokenIds, REASONING_FACTOR, tokenPieces, type SimMessage } from './text.ts';
import { scriptedCall, scriptedTurn } from './toolScript.ts';

type Item = Record<string, unknown> & { type?: string };

/** The request's `input` as items; a plain string is one user message. */
function inputItems(input: unknown): Item[] | undefined {
  if (typeof input === 'string') return input.length > 0 ? [{ type: 'message', role: 'user', content: input }] : undefined;
  if (!Array.isArray(input) || input.length === 0) return undefined;
  return input.every((i) => i !== null && typeof i === 'object') ? (input as Item[]) : undefined;
}

const textOf = (content: unknown): string => (typeof content === 'string' ? content
  : Array.isArray(content) ? content.map((p) => (p && typeof (p as { text?: unknown }).text === 'string' ? (p as { text: string }).text : '')).join('') : '');

/** The conversation as chat messages, for the answer plan and the prompt cache. */
function toMessages(instructions: unknown, items: Item[]): SimMessage[] {
  const messages: SimMessage[] = typeof instructions === 'string' ? [{ role: 'system', content: instructions }] : [];
  for (const item of items) {
    const type = item.type ?? 'message';
    if (type === 'message') messages.push({ role: String(item.role ?? 'user'), content: textOf(item.content) });
    else if (type === 'function_call') messages.push({ role: 'assistant', content: `${String(item.name)}(${String(item.arguments ?? '')})` });
    else if (type === 'function_call_output') messages.push({ role: 'user', content: textOf(item.output) });
  }
  return messages;
}

/** Functions a Responses conversation has called and given back the output of. */
function answeredCalls(items: Item[]): string[] {
  const outputs = new Set(items.filter((i) => i.type === 'function_call_output').map((i) => i.call_id));
  return items.filter((i) => i.type === 'function_call' && outputs.has(i.call_id)).map((i) => (i.namespace ? `${String(i.namespace)}__${String(i.name)}` : String(i.name)));
}

/**
 * The functions a request offers, by name; a namespace tool's functions (Codex offers an MCP
 * server's tools as the namespace `mcp__SERVER`) as `NAMESPACE__FUNCTION`, the name a script uses.
 */
function offeredNames(tools: unknown): string[] {
  if (!Array.isArray(tools)) return [];
  return tools.flatMap((t) => {
    const tool = t as { type?: unknown; name?: unknown; tools?: unknown };
    if (tool.type === 'namespace' && typeof tool.name === 'string' && Array.isArray(tool.tools)) {
      return tool.tools.map((f) => (f as { name?: unknown }).name).filter((n): n is string => typeof n === 'string').map((n) => `${String(tool.name)}__${n}`);
    }
    return typeof tool.name === 'string' ? [tool.name] : [];
  });
}

/** A scripted call's name and, for a function of a namespace the request offers, that namespace. */
function callName(name: string, tools: unknown): { name: string; namespace?: string } {
  const ns = Array.isArray(tools) ? tools.find((t) => (t as { type?: unknown }).type === 'namespace' && name.startsWith(`${String((t as { name?: unknown }).name)}__`)) as { name: string } | undefined : undefined;
  return ns ? { namespace: ns.name, name: name.slice(ns.name.length + 2) } : { name };
}

export async function handleResponses(req: IncomingMessage, res: ServerResponse, ctx: SimContext, record: SimRequestRecord, common: Record<string, string>): Promise<void> {
  const body = parseJsonObject(await readBody(req));
  record.body = body;
  const bad = (message: string, param: string | null, code: string | null = null) =>
    sendError(res, 400, { message, type: 'invalid_request_error', code, param }, common);
  if (!body) return bad('We could not parse the JSON body of your request.', null);
  if (typeof body.model !== 'string') return bad("Missing required parameter: 'model'.", 'model', 'missing_required_parameter');
  const model = body.model;
  if (!ctx.options.models.openai.includes(model)) {
    return sendError(res, 404, { message: `The model \`${model}\` does not exist or you do not have access to it.`, type: 'invalid_request_error', code: 'model_not_found' }, common);
  }
  const items = inputItems(body.input);
  if (!items) return bad("Invalid value for 'input': expected a string or a non-empty array of input items.", 'input', 'invalid_value');
  const requested = (body.reasoning as { effort?: unknown } | undefined)?.effort;
  if (requested !== undefined && requested !== null && !(typeof requested === 'string' && requested in REASONING_FACTOR)) {
    return bad(`Invalid value: '${String(requested)}'. Supported values are: 'minimal', 'low', 'medium', and 'high'.`, 'reasoning.effort', 'invalid_value');
  }
  const effort = typeof requested === 'string' ? requested : isReasoningModel(model) ? 'medium' : null;
  const budget = typeof body.max_output_tokens === 'number' ? body.max_output_tokens : undefined;
  const messages = toMessages(body.instructions, items);
  const plan = planAnswer(ctx.options, { model, messages, effort, budget, showThinking: false });

  const taken = ctx.limiter.take(plan.promptTokens + (budget ?? plan.visibleIds.length + plan.reasoningTokens));
  Object.assign(common, taken.headers);
  if (!taken.ok) {
    ctx.stats.rateLimited++;
    const unit = taken.kind === 'requests' ? 'requests per min (RPM)' : 'tokens per min (TPM)';
    return sendError(res, 429, {
      message: `Rate limit reached for ${model} in organization org-sim on ${unit}: Limit ${taken.limit}, Requested ${taken.requested}. Please try again in ${(taken.retryAfterMs / 1000).toFixed(3)}s.`,
      type: taken.kind, code: 'rate_limit_exceeded',
    }, { ...common, 'retry-after': String(Math.ceil(taken.retryAfterMs / 1000)), 'retry-after-ms': String(taken.retryAfterMs) });
  }
  const tracker = trackChat(ctx, res);
  const fault = ctx.faults.next();
  if (fault && 'hang' in fault) return;
  if (fault && 'status' in fault) {
    ctx.stats.faultsInjected++;
    tracker.ended();
    return sendFault(res, fault, common);
  }

  const offered = offeredNames(body.tools);
  const outputs = items.filter((i) => i.type === 'function_call_output').length;
  const call = scriptedTurn(ctx.options.turns, offered, outputs) ?? scriptedCall(ctx.options.toolCalls, offered, answeredCalls(items));
  const pieces = call ? [] : tokenPieces(plan.visibleIds);
  const outputTokens = (call ? Math.max(1, Math.ceil(call.arguments.length / 4)) : plan.visibleIds.length) + plan.reasoningTokens;
  const usage = {
    input_tokens: plan.promptTokens,
    input_tokens_details: { cached_tokens: ctx.cache.lookupAndStore(model, promptTokenIds(messages)) },
    output_tokens: outputTokens,
    output_tokens_details: { reasoning_tokens: plan.reasoningTokens },
    total_tokens: plan.promptTokens + outputTokens,
  };
  const reasoningItem = plan.reasoningTokens > 0 ? { id: `rs_${randomHex(32)}`, type: 'reasoning', summary: [] } : null;
  const answer = call
    ? { id: `fc_${randomHex(32)}`, type: 'function_call', status: 'completed', arguments: call.arguments, call_id: `call_${randomHex(24)}`, ...callName(call.name, body.tools) }
    : { id: `msg_${randomHex(32)}`, type: 'message', status: 'completed', role: 'assistant', content: [{ type: 'output_text', annotations: [], logprobs: [], text: pieces.join('') }] };
  const output = [...(reasoningItem ? [reasoningItem] : []), answer];
  const response = (status: string, out: unknown[], u: unknown) => ({
    id: `resp_${randomHex(40)}`.slice(0, 45), object: 'response', created_at: Math.floor(Date.now() / 1000), status,
    background: false, error: null, incomplete_details: null, instructions: body.instructions ?? null,
    max_output_tokens: budget ?? null, model, output: out, parallel_tool_calls: true, previous_response_id: null,
    reasoning: { effort, summary: null }, store: body.store ?? true, temperature: 1, text: { format: { type: 'text' } },
    tool_choice: body.tool_choice ?? 'auto', tools: body.tools ?? [], top_p: 1, truncation: 'disabled', usage: u, user: null, metadata: {},
  });

  if (body.stream !== true) {
    if (!(await wait(res, ctx.options.latencyMs))) return;
    tracker.done();
    return sendJson(res, 200, response('completed', output, usage), common);
  }

  let sequence = 0;
  const base = response('in_progress', [], null);
  const send = (type: string, fields: Record<string, unknown>) =>
    res.write(`event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: sequence++, ...fields })}\n\n`);
  res.writeHead(200, { ...common, 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
  send('response.created', { response: base });
  send('response.in_progress', { response: base });
  if (!(await wait(res, ctx.options.latencyMs))) return;
  let index = 0;
  if (reasoningItem) {
    send('response.output_item.added', { output_index: index, item: reasoningItem });
    send('response.output_item.done', { output_index: index, item: reasoningItem });
    index++;
  }
  if (call) {
    const a = answer as { id: string; arguments: string };
    send('response.output_item.added', { output_index: index, item: { ...answer, status: 'in_progress', arguments: '' } });
    send('response.function_call_arguments.delta', { item_id: a.id, output_index: index, delta: a.arguments });
    send('response.function_call_arguments.done', { item_id: a.id, output_index: index, arguments: a.arguments });
    send('response.output_item.done', { output_index: index, item: answer });
  } else {
    const m = answer as { id: string };
    const part = { type: 'output_text', annotations: [], logprobs: [], text: '' };
    send('response.output_item.added', { output_index: index, item: { ...answer, status: 'in_progress', content: [] } });
    send('response.content_part.added', { item_id: m.id, output_index: index, content_index: 0, part });
    const complete = await pace(res, pieces.length, ctx.options.tokensPerSecond, (from, to) => {
      for (const delta of pieces.slice(from, to)) send('response.output_text.delta', { item_id: m.id, output_index: index, content_index: 0, delta, logprobs: [] });
    });
    if (!complete) return;
    const text = pieces.join('');
    send('response.output_text.done', { item_id: m.id, output_index: index, content_index: 0, text, logprobs: [] });
    send('response.content_part.done', { item_id: m.id, output_index: index, content_index: 0, part: { ...part, text } });
    send('response.output_item.done', { output_index: index, item: answer });
  }
  tracker.done();
  send('response.completed', { response: { ...base, status: 'completed', output, usage } });
  res.end();
}
