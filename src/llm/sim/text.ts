/**
 * What the simulated models "say" and how their tokens are counted. Everything is
 * deterministic so that tests can predict usage figures exactly.
 */
import { decodeGenerator, encode } from 'gpt-tokenizer/encoding/o200k_base';

const PLAIN_TEXT = { disallowedSpecial: new Set<string>() };

/** ` ok`: one o200k token, repeated to pad answers to the requested length. */
const FILLER_TOKEN = encode(' ok', PLAIN_TEXT)[0]!;

/**
 * Stand-in id of the chat-format tokens around each message (`<|start|>`,
 * `<|message|>`, `<|end|>`: 3 per message, as in OpenAI's own accounting). Only
 * their count and place matter: they make the prefix cache see message bounds.
 */
const FRAME = 0;
/** The assistant turn every prompt is primed with. */
const REPLY_PRIMING_TOKENS = 3;

export interface SimMessage {
  role: string;
  content: string;
}

/**
 * The prompt as the token sequence a server would see: per message its
 * framing, role and content, then the reply priming.
 *
 * @example
 * promptTokenIds([{ role: 'user', content: 'hi' }]).length; // 3 + 1 + 1 + 3 = 8
 */
export function promptTokenIds(messages: readonly SimMessage[]): number[] {
  const ids: number[] = [];
  for (const m of messages) {
    ids.push(FRAME, ...encode(m.role, PLAIN_TEXT), FRAME, ...encode(m.content, PLAIN_TEXT), FRAME);
  }
  for (let i = 0; i < REPLY_PRIMING_TOKENS; i++) ids.push(FRAME);
  return ids;
}

/**
 * Prompt tokens the simulator reports for these messages (`prompt_tokens`,
 * `prompt_eval_count`): 3 per message + role + content, + 3.
 *
 * @example
 * simPromptTokens([{ role: 'user', content: 'hello world' }]); // 3 + 1 + 2 + 3 = 9
 */
export function simPromptTokens(messages: readonly SimMessage[]): number {
  return promptTokenIds(messages).length;
}

/** The last user message, which is what the digest echoes. */
export function lastUserText(messages: readonly SimMessage[]): string {
  for (let i = messages.length - 1; i >= 0; i--) if (messages[i]!.role === 'user') return messages[i]!.content;
  return '';
}

/**
 * A short digest of the task: its first words, so tests (and people reading a
 * simulated answer) can see what the model was asked.
 *
 * @example
 * digest('Fix the   off-by-one in\nsrc/a.ts please, it fails on empty input'); // 'Fix the off-by-one in src/a.ts please, it fails'
 */
export function digest(text: string, words = 8): string {
  const all = text.split(/\s+/).filter(Boolean);
  const head = all.slice(0, words).join(' ');
  return head.length > 80 ? `${head.slice(0, 77)}...` : head;
}

/**
 * Exactly `count` token ids of a simulated answer: the header
 * `[simulated <model>] re: "<digest>"` (cut when `count` is smaller), padded with ` ok`.
 *
 * @example
 * decode(answerTokenIds('gpt-5', 'Fix the bug in parser.ts', 20));
 * // '[simulated gpt-5] re: "Fix the bug in parser.ts" ok ok'
 */
export function answerTokenIds(model: string, task: string, count: number): number[] {
  const head = encode(`[simulated ${model}] re: "${digest(task)}"`, PLAIN_TEXT);
  if (head.length >= count) return head.slice(0, Math.max(0, count));
  return head.concat(new Array<number>(count - head.length).fill(FILLER_TOKEN));
}

/** Exactly `count` token ids of simulated reasoning (Ollama's `thinking`). */
export function thinkingTokenIds(task: string, count: number): number[] {
  const head = encode(`[simulated reasoning] ${digest(task, 4)}`, PLAIN_TEXT);
  if (head.length >= count) return head.slice(0, Math.max(0, count));
  return head.concat(new Array<number>(count - head.length).fill(FILLER_TOKEN));
}

/**
 * The text pieces of `ids`, one per token (a multi-byte character split over
 * tokens comes out whole, with the token that completes it).
 */
export function tokenPieces(ids: readonly number[]): string[] {
  return [...decodeGenerator(ids)];
}

/**
 * Reasoning tokens per visible output token, by reasoning effort. GPT-5 spends
 * more hidden tokens the higher the effort; `minimal` spends almost none.
 */
export const REASONING_FACTOR = { none: 0, minimal: 0, low: 1, medium: 2, high: 4, xhigh: 8 } as const;
export type SimEffort = keyof typeof REASONING_FACTOR;

/**
 * Reasoning tokens the simulator spends for an effort and a visible length.
 *
 * @example
 * simReasoningTokens('high', 24); // 96
 * simReasoningTokens(null, 24);   // 0
 */
export function simReasoningTokens(effort: string | null | undefined, outputTokens: number): number {
  if (!effort || !(effort in REASONING_FACTOR)) return 0;
  return REASONING_FACTOR[effort as SimEffort] * outputTokens;
}

/** Models that reason even when no effort is given (GPT-5 and o-series default to `medium`). */
export function isReasoningModel(model: string): boolean {
  return /^(gpt-5|o\d)/.test(model) && !/chat/.test(model);
}

/**
 * Splits a token budget (`max_completion_tokens`, `num_predict`) between
 * reasoning and visible output: reasoning comes first, as with the real models,
 * so a tight budget leaves little or no visible answer.
 */
export function splitBudget(
  reasoning: number,
  visible: number,
  budget: number | undefined,
): { reasoning: number; visible: number; truncated: boolean } {
  if (budget === undefined || reasoning + visible <= budget) return { reasoning, visible, truncated: false };
  const r = Math.min(reasoning, budget);
  return { reasoning: r, visible: Math.max(0, budget - r), truncated: true };
}
