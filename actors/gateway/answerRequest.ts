/**
 * One API request, one task: read the conversation, route it in this process (the interactive
 * path) or submit it to the routers (pinned to a tier if the model names one, kept local if its
 * session has been confidential), pass the model's output on as it streams, and answer in the
 * API's shape once the task ends.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  encode, isParentToken, SAFE_TOKEN, SUBJECTS, type FrontDoor, type StreamDelta, type Submission, type TaskEventMessage, publishSubmission,
} from '../../src/bus/index.ts';
import type { Tier } from '../../src/core/types.ts';
import { askOf, askType } from '../../src/policy/index.ts';
import { conversationStart, type Answer, type StreamWriter } from '../../src/llm/openaiCompat/index.ts';
import { askDigest, publicSessionId, sessionTierChange, sessionTierOf, type SessionStore } from '../../src/sessions/index.ts';
import type { ApiFace } from './ApiFace.ts';
import type { TaskEventHub } from './TaskEventHub.ts';
import { HttpError } from './HttpError.ts';
import { TaskWatch } from './TaskWatch.ts';
import type { InteractivePath } from './interactive/InteractivePath.ts';

/** The model name the gateway routes; `koubou/<tier>` pins a tier. */
export const GATEWAY_MODEL = 'koubou';

export interface RequestContext {
  nc: NatsConnection;
  js: JetStreamClient;
  events: TaskEventHub;
  tiers: readonly Tier[];
  /** Sessions' confidential marks, and the tokens each parent task's requests have used (for `x-koubou-token-limit`), shared by every gateway. */
  sessions: SessionStore;
  timeoutMs: number;
  /** The key's name: whose spend the task is, and the namespace of its sessions. */
  clientKey: string;
  /** The front door this gateway submits through, and the key it seals with: only a door may set clientKey and the other identity fields. */
  door: { name: FrontDoor; key: string };
  /** Routes requests in this process and makes their cloud calls (the interactive path); absent: every request is submitted to the routers. */
  interactive?: InteractivePath;
}

/** The tier a model name pins, null for `koubou`; a 404 in OpenAI's words for anything else. */
export function pinnedTierOf(model: unknown, tiers: readonly Tier[]): Tier | null {
  if (model === GATEWAY_MODEL) return null;
  const tier = typeof model === 'string' && model.startsWith(`${GATEWAY_MODEL}/`) ? model.slice(GATEWAY_MODEL.length + 1) : null;
  if (tier !== null && tiers.includes(tier)) return tier;
  const names = [GATEWAY_MODEL, ...tiers.map((t) => `${GATEWAY_MODEL}/${t}`)].join(', ');
  // As JSON, not String(): an object from the body may carry a `toString` that is no function.
  const named = typeof model === 'string' ? model : JSON.stringify(model) ?? 'undefined';
  throw new HttpError(404, `The model \`${named.slice(0, 200)}\` does not exist: this gateway serves ${names}.`, 'invalid_request_error', 'model_not_found', 'model');
}

export async function answerRequest(ctx: RequestContext, req: IncomingMessage, res: ServerResponse, api: ApiFace, body: Record<string, unknown>): Promise<void> {
  const pinned = pinnedTierOf(api.model(body), ctx.tiers);
  const conversation = api.conversation(body);
  // A session: the client's header (koubou's, Claude Code's on any API), the one the API names (Codex's prompt_cache_key), or the conversation's first message.
  const named = header(req, 'x-koubou-session') ?? header(req, 'x-claude-code-session-id') ?? api.session(req, body);
  const session = `${ctx.clientKey}:${named ?? `start-${createHash('sha256').update(conversationStart(conversation)).digest('hex').slice(0, 32)}`}`;
  const record = await ctx.sessions.get(session);
  const since = record?.confidentialSince;
  // A session is routed once: a later turn that asks the same is held to the session's tier.
  const ask = askOf({ prompt: '', conversation });
  const turn = { digest: askDigest(ask), pinned: pinned !== null, side: ask.side !== null };
  const sessionTier = sessionTierOf(record, turn.digest, ask.side);
  const taskId = `gw-${randomUUID()}`;
  // An agent's requests name the agent task they serve: the ledger keeps them as its children.
  const parent = header(req, 'x-koubou-parent-task');
  // Only the agent the router handed the task to holds its parent token: a caller who merely knows
  // a task id cannot spend that task's caps or fill its agent's token count.
  if (parent !== null && !isParentToken(ctx.door.key, parent, header(req, 'x-koubou-parent-token'))) {
    throw new HttpError(403, `x-koubou-parent-task: ${parent.slice(0, 64)} is not a task this caller was handed (an agent sends the x-koubou-parent-token its work item carries)`, 'invalid_request_error', 'parent_not_allowed', null);
  }
  // An agent's token limit: its requests so far, added up here, must stay under it.
  const tokenLimit = Number(header(req, 'x-koubou-token-limit') ?? NaN);
  const used = parent && Number.isFinite(tokenLimit) ? await ctx.sessions.tokens(parent) : 0;
  if (parent && Number.isFinite(tokenLimit) && used >= tokenLimit) {
    throw new HttpError(400, `token limit reached: task ${parent}'s model requests used ${used} tokens of its limit of ${tokenLimit}`, 'invalid_request_error', 'token_limit_reached');
  }
  // The conversation alone carries the task (its text as one prompt is derived where needed: taskPrompt);
  // its output is streamed on the bus only when the client asked for a stream.
  const streamed = body.stream === true;
  const submission: Submission = {
    taskId, type: askType(ask.text), priority: 5, files: [], conversation, clientKey: ctx.clientKey,
    session: publicSessionId(ctx.door.key, session),
    ...(streamed ? { stream: true } : {}),
    ...(pinned ? { pinnedTier: pinned } : {}),
    ...(parent && SAFE_TOKEN.test(parent) ? { parentTaskId: parent } : {}),
    ...(since ? { confidentialSession: { session: named ?? 'this conversation', since } } : {}),
    ...(sessionTier ? { sessionTier } : {}),
  };

  const head = { id: taskId.replace(/-/g, ''), model: String(body.model), createdAt: Math.floor(Date.now() / 1000) };
  const stream = streamed ? new LiveStream(res, api.writer(head, body)) : null;
  const fallbacks: string[] = [];
  let tier: string | null = null;
  // The tier routing chose where it picks by difficulty (before any rate-limit fallback), and why.
  let routed: { tier: string; reason: string } | null = null;
  let byDifficulty: string | null = null;
  const headers = () => ({ 'x-koubou-task-id': taskId, 'x-koubou-tier': tier ?? '', 'x-koubou-fallbacks': fallbacks.join(',') });
  // Each event once: a task handed to the routers has its earlier events told here already.
  let seen = 0;
  const onEvent = (e: TaskEventMessage) => {
    if (e.seq <= seen) return;
    seen = e.seq;
    if (e.fallback) fallbacks.push(`${e.fallback.from}>${e.fallback.to}`);
    if (e.tier) tier = e.tier;
    if (e.state === 'RouteByDifficulty') byDifficulty = e.reason;
    if (byDifficulty !== null && routed === null && e.tier) routed = { tier: e.tier, reason: byDifficulty };
    if (stream && e.tier && (e.status === 'assigned' || e.status === 'in_progress')) stream.open(headers());
  };
  const onDelta = stream ? (d: StreamDelta) => stream.delta(d) : undefined;
  let watch: TaskWatch | null = null;
  const follow = async () => {
    watch = new TaskWatch(ctx.nc, ctx.events, taskId, { onEvent, ...(onDelta ? { onDelta } : {}) });
    await watch.ready();
  };
  const cancel = (reason: string) => {
    // Where the task runs: here (the interactive path), or with the routers.
    if (!watch && ctx.interactive?.cancel(taskId, reason)) return;
    ctx.js.publish(SUBJECTS.cancel(taskId), encode({ kind: 'cancel', taskId, reason, at: new Date().toISOString() })).catch(() => {});
  };
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    if (watch) watch.close();
    else cancel(`no answer within the gateway's ${ctx.timeoutMs / 1000} s`);
  }, ctx.timeoutMs);
  // A client that goes away before the answer cancels its task: nobody would read it.
  const gone = () => {
    if (res.writableEnded) return;
    cancel('the API client went away');
    watch?.close();
  };
  let final: TaskEventMessage | null;
  try {
    res.once('close', gone);
    // An agent's request (it names its parent) is reserved against its parent's cap, one request
    // at a time by the ledger: the routers take it. Any other is routed in this process and, on a
    // cloud tier, answered from here (else handed to the routers and followed).
    if (ctx.interactive && !submission.parentTaskId) {
      final = await ctx.interactive.run(submission, { onEvent, ...(onDelta ? { onDelta } : {}), beforeHandover: follow });
      final ??= await (watch as TaskWatch | null)!.final;
    } else {
      await follow();
      await publishSubmission(ctx.js, submission, { door: ctx.door });
      final = await watch!.final;
    }
  } finally {
    clearTimeout(timer);
    (watch as TaskWatch | null)?.close();
  }
  if (timedOut && final?.status === 'cancelled') final = null;
  if (!final) {
    if (res.destroyed) return;
    // Nobody will receive its answer now.
    if (watch) cancel(`no answer within the gateway's ${ctx.timeoutMs / 1000} s`);
    throw new HttpError(504, `task ${taskId} did not end within ${ctx.timeoutMs / 1000} s`, 'server_error', 'timeout', null, headers());
  }
  // Before the answer goes out: a mark that cannot be written fails the request (the client
  // retries with the secret still in its history) rather than be forgotten. A marked session's
  // turns keep its record fresh (the store writes it again once a day).
  if (final.sensitivity?.level === 'confidential') await ctx.sessions.markConfidential(session, taskId);
  if (sessionTierChange(record, routed, turn)) await ctx.sessions.update(session, (current) => sessionTierChange(current, routed, turn));
  if (final.status !== 'completed' || !final.result) {
    const why = final.error ? `${final.error.code}: ${final.error.message}` : final.reason;
    const error = new HttpError(502, `task ${taskId} ${final.status}: ${why}`, 'server_error', final.error?.code ?? final.status, null, headers());
    if (stream?.started) return stream.fail(error);
    throw error;
  }
  const r = final.result;
  if (parent && r.usage) await ctx.sessions.addTokens(parent, r.usage.promptTokens + r.usage.completionTokens);
  const answer: Answer = {
    ...head, text: r.text, toolCalls: r.toolCalls ?? [],
    usage: r.usage ?? { promptTokens: 0, cachedPromptTokens: 0, completionTokens: 0, reasoningTokens: 0 },
  };
  if (stream) return stream.finish(answer, final.attempt, headers());
  send(res, 200, api.answer(answer), headers());
}

/**
 * A streamed answer on its way: opened when the task is on a tier, fed the deltas of the
 * first attempt that streams, finished from the outcome. If that attempt failed after
 * streaming and another finished the task, what was sent cannot be taken back: the stream
 * ends with an error instead of mixing two answers.
 */
class LiveStream {
  started = false;
  private attempt: number | null = null;
  private nextSeq = 0;
  private broken = false;
  private readonly early: StreamDelta[] = [];

  constructor(private readonly res: ServerResponse, private readonly writer: StreamWriter) {}

  open(headers: Record<string, string>): void {
    if (this.started || this.res.destroyed) return;
    this.started = true;
    this.res.writeHead(200, { ...headers, 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
    this.res.write(this.writer.start());
    for (const d of this.early.splice(0)) this.delta(d);
  }

  delta(d: StreamDelta): void {
    if (!this.started) {
      this.early.push(d);
      return;
    }
    this.attempt ??= d.attempt;
    if (d.attempt !== this.attempt || this.broken) return;
    // A lost delta: the rest comes from the outcome.
    if (d.seq !== this.nextSeq) {
      this.broken = true;
      return;
    }
    this.nextSeq++;
    if (d.text) this.res.write(this.writer.text(d.text));
    if (d.toolCall) this.res.write(this.writer.toolCall(d.toolCall));
  }

  finish(answer: Answer, attempt: number, headers: Record<string, string>): void {
    this.open(headers);
    if (this.attempt !== null && this.attempt !== attempt) {
      return this.fail(new HttpError(502, `attempt ${this.attempt} failed after it had streamed part of its answer; attempt ${attempt} finished the task (see its task id)`, 'server_error', 'attempt_failed_mid_stream'));
    }
    this.res.end(this.writer.finish(answer));
  }

  fail(error: HttpError): void {
    this.open(error.headers);
    this.res.end(this.writer.fail(error.message, error.code ?? 'server_error'));
  }
}

export function header(req: IncomingMessage, name: string): string | null {
  const v = req.headers[name];
  const s = Array.isArray(v) ? v[0] : v;
  return s && s.trim() ? s.trim().slice(0, 256) : null;
}

export function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
