/**
 * The simulator's shared state, handed to each protocol's routes, and the
 * planning of one answer (how many tokens of what), which both protocols share.
 */
import type { ServerResponse } from 'node:http';
import type { FaultPlan } from './faults.ts';
import type { ResolvedSimOptions, SimFault } from './options.ts';
import type { PromptCache } from './promptCache.ts';
import type { SimRateLimiter } from './rateLimiter.ts';
import {
  answerTokenIds,
  lastUserText,
  simPromptTokens,
  simReasoningTokens,
  splitBudget,
  thinkingTokenIds,
  type SimMessage,
} from './text.ts';

/** One request as the simulator saw it, for tests to check what a client sent. */
export interface SimRequestRecord {
  protocol: 'openai' | 'ollama' | 'anthropic' | 'other';
  method: string;
  path: string;
  /** The parsed JSON body of a POST (`undefined` when absent or not JSON). */
  body?: Record<string, unknown>;
  /** Whether an `Authorization` header came, and whether it matched (never the key itself). */
  auth: 'none' | 'ok' | 'bad';
  /** Final HTTP status; `undefined` while in flight or when the connection was cut. */
  status?: number;
  /** The fault injected into this request, if any. */
  fault?: string;
}

export interface SimStats {
  /** Every HTTP request. */
  requests: number;
  /** Chat requests (`/v1/chat/completions`, `/api/chat`). */
  chatRequests: number;
  /** Chat requests being answered now. */
  inFlight: number;
  /** Chat answers delivered in full. */
  completed: number;
  /**
   * Chat requests whose connection closed before the answer ended: the client
   * aborted or timed out (or the server's `close()` cut a hung request).
   */
  clientClosed: number;
  faultsInjected: number;
  /** 429s sent by the rate limiter. */
  rateLimited: number;
  /** 401s sent. */
  unauthorized: number;
  /** Ollama 503s sent because `maxQueue` was reached. */
  busy: number;
  /** The last 200 requests, oldest first. */
  log: SimRequestRecord[];
}

export interface SimContext {
  options: ResolvedSimOptions;
  limiter: SimRateLimiter;
  cache: PromptCache;
  faults: FaultPlan;
  stats: SimStats;
  /** Ollama chat requests in flight, for `maxQueue`. */
  ollamaInFlight: number;
  /** Ollama models "loaded" by a chat, with when they unload (for `/api/ps`). */
  loaded: Map<string, number>;
}

export function emptyStats(): SimStats {
  return { requests: 0, chatRequests: 0, inFlight: 0, completed: 0, clientClosed: 0, faultsInjected: 0, rateLimited: 0, unauthorized: 0, busy: 0, log: [] };
}

/** What one simulated answer will contain. */
export interface AnswerPlan {
  promptTokens: number;
  /** Visible answer tokens, one stream event/line each. */
  visibleIds: number[];
  reasoningTokens: number;
  /** Thinking text tokens (Ollama shows its reasoning; OpenAI hides it). */
  thinkingIds: number[];
  /** The budget cut the answer short: `finish_reason: 'length'`. */
  truncated: boolean;
}

export function planAnswer(
  options: ResolvedSimOptions,
  args: { model: string; messages: SimMessage[]; effort: string | null; budget: number | undefined; showThinking: boolean },
): AnswerPlan {
  const task = lastUserText(args.messages);
  const wanted = typeof options.outputTokens === 'function' ? options.outputTokens(task) : options.outputTokens;
  const visible = Math.max(0, Math.floor(wanted));
  const split = splitBudget(simReasoningTokens(args.effort, visible), visible, args.budget);
  return {
    promptTokens: simPromptTokens(args.messages),
    visibleIds: answerTokenIds(args.model, task, split.visible),
    reasoningTokens: split.reasoning,
    thinkingIds: args.showThinking ? thinkingTokenIds(task, split.reasoning) : [],
    truncated: split.truncated,
  };
}

/**
 * Counts a chat request in the stats for as long as it runs. A request that
 * closes before `done()` (answer delivered) or `ended()` (an error answer or
 * an injected cut) was abandoned by its client.
 */
export function trackChat(ctx: SimContext, res: ServerResponse): { done(): void; ended(): void } {
  ctx.stats.chatRequests++;
  ctx.stats.inFlight++;
  let finished = false;
  res.on('close', () => {
    ctx.stats.inFlight--;
    if (!finished) ctx.stats.clientClosed++;
  });
  return {
    done() {
      if (!finished) ctx.stats.completed++;
      finished = true;
    },
    ended() {
      finished = true;
    },
  };
}

/** Reads `messages` as `{ role, content }` pairs, or `undefined` if malformed. */
export function readMessages(value: unknown): SimMessage[] | undefined {
  if (!Array.isArray(value) || value.length === 0) return undefined;
  const out: SimMessage[] = [];
  for (const m of value) {
    if (m === null || typeof m !== 'object') return undefined;
    const { role, content } = m as { role?: unknown; content?: unknown };
    if (typeof role !== 'string') return undefined;
    // OpenAI also takes content parts; keep their text.
    const text = typeof content === 'string' ? content
      : Array.isArray(content) ? content.map((p) => (p && typeof p === 'object' && typeof (p as { text?: unknown }).text === 'string' ? (p as { text: string }).text : '')).join('')
      : '';
    out.push({ role, content: text });
  }
  return out;
}

/** The fault's name for the request log. */
export function faultName(f: SimFault): string {
  if ('status' in f) return `status ${f.status}`;
  if ('malformedJson' in f) return 'malformedJson';
  if ('cutStream' in f) return 'cutStream';
  return 'hang';
}
