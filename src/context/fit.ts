/**
 * The overflow policies that shrink a prompt's files until it fits: dropping
 * whole files, or cutting the largest ones. Each plans with per-file token counts
 * (cheap) and then checks the whole rendered prompt (exact), shrinking further
 * when the two disagree by the few tokens that joining texts can change.
 */
import { decode, encode } from 'gpt-tokenizer/encoding/o200k_base';
import type { ChatMessage } from '../llm/Provider.ts';
import { countTokens } from '../policy/index.ts';
import { escapeFileContent, fenceFile, truncationMarker } from './fence.ts';
import { countPromptTokens, renderMessages } from './messages.ts';

/** Same as `policy/tokens.ts`: text shaped like a special token is ordinary text. */
const PLAIN_TEXT = { disallowedSpecial: new Set<string>() };

/** A file ready to fence: `escaped` is its content after `escapeFileContent`. */
export interface FilePart {
  path: string;
  label: string;
  hash: string;
  escaped: string;
}

export interface FitContext {
  system: string;
  prompt: string;
  parts: readonly FilePart[];
  limit: number;
}

export interface Truncation {
  path: string;
  keptTokens: number;
  removedTokens: number;
}

export interface Fitted {
  messages: ChatMessage[];
  promptTokens: number;
  dropped: string[];
  truncated: Truncation[];
}

/** Room for a marker, its newline and a few tokens of disagreement per cut file. */
const MARKER_RESERVE_TOKENS = 16;
/** Each pass shrinks by what the last one missed; a handful always suffices in practice. */
const MAX_PASSES = 8;

/** Indices of `sizes`, largest first; ties keep their order, so results are deterministic. */
const largestFirst = (sizes: readonly number[]): number[] =>
  sizes.map((_, i) => i).sort((a, b) => sizes[b]! - sizes[a]! || a - b);

/**
 * Drops whole files, largest first, until the prompt fits; `null` if it never does
 * (the caller has checked that the task alone fits, so it always does in practice).
 */
export function dropLargestFiles(ctx: FitContext, fullTokens: number): Fitted | null {
  const blocks = ctx.parts.map((p) => fenceFile(p.label, p.escaped, p.hash));
  // +1: the blank line joining a block to the next.
  const sizes = blocks.map((b) => countTokens(b) + 1);
  const gone = new Set<number>();
  let estimate = fullTokens;
  for (const i of largestFirst(sizes)) {
    gone.add(i);
    estimate -= sizes[i]!;
    if (estimate > ctx.limit) continue;
    const keep = blocks.filter((_, j) => !gone.has(j));
    const leftOut = ctx.parts.filter((_, j) => gone.has(j));
    const messages = renderMessages(ctx.system, ctx.prompt, keep, leftOut.map((p) => p.label));
    const promptTokens = countPromptTokens(messages);
    if (promptTokens <= ctx.limit) return { messages, promptTokens, dropped: leftOut.map((p) => p.path), truncated: [] };
  }
  return null;
}

/**
 * The largest cap C with Σ min(size, C) ≤ budget: files above C are cut to C tokens,
 * smaller files stay whole. Cutting only the largest files keeps as many files
 * complete as possible, and no file loses more than it must.
 *
 * @example
 * capFor([100, 50, 10], 90); // 40: 40 + 40 + 10 = 90
 */
export function capFor(sizes: readonly number[], budget: number): number {
  const sorted = [...sizes].sort((a, b) => b - a);
  let rest = sorted.reduce((a, b) => a + b, 0);
  if (rest <= budget) return sorted[0] ?? 0;
  for (let k = 1; k <= sorted.length; k++) {
    rest -= sorted[k - 1]!;
    const cap = Math.floor((budget - rest) / k);
    if (cap >= (sorted[k] ?? 0)) return Math.max(0, cap);
  }
  return 0;
}

/**
 * Cuts the largest files from the end, each keeping its beginning and ending in a
 * visible `[… truncated N tokens …]` marker; `null` if even empty files do not fit.
 */
export function truncateLargestFiles(ctx: FitContext, fullTokens: number): Fitted | null {
  const sizes = ctx.parts.map((p) => countTokens(p.escaped));
  const total = sizes.reduce((a, b) => a + b, 0);
  let excess = fullTokens - ctx.limit;
  for (let pass = 0; pass < MAX_PASSES; pass++) {
    let cap = capFor(sizes, total - excess);
    // Reserve room for the markers of the files this cap cuts, then settle the cap again.
    const cut = sizes.filter((s) => s > cap).length;
    cap = capFor(sizes, total - excess - cut * MARKER_RESERVE_TOKENS);
    const truncated: Truncation[] = [];
    const blocks = ctx.parts.map((p, i) => {
      const size = sizes[i]!;
      if (size <= cap) return fenceFile(p.label, p.escaped, p.hash);
      truncated.push({ path: p.path, keptTokens: cap, removedTokens: size - cap });
      return fenceFile(p.label, cutTo(p.escaped, cap, size - cap), p.hash);
    });
    const messages = renderMessages(ctx.system, ctx.prompt, blocks, []);
    const promptTokens = countPromptTokens(messages);
    if (promptTokens <= ctx.limit) return { messages, promptTokens, dropped: truncated.map((t) => t.path), truncated };
    if (cap === 0) return null;
    excess += promptTokens - ctx.limit;
  }
  return null;
}

/**
 * The first `keep` tokens of `escaped`, then the marker. Escaped again because a
 * cut can end in the middle of a token; escaping is idempotent (`&lt;` has no `<`).
 */
function cutTo(escaped: string, keep: number, removed: number): string {
  const head = keep > 0 ? escapeFileContent(decode(encode(escaped, PLAIN_TEXT).slice(0, keep))) : '';
  const sep = head === '' || head.endsWith('\n') ? '' : '\n';
  return `${head}${sep}${truncationMarker(removed)}`;
}
