/**
 * Token counting with the o200k_base encoding, the family GPT-5 and gpt-oss use
 * (gpt-oss's o200k_harmony only adds chat-format special tokens, which plain task
 * text never contains as such).
 *
 * Counting goes through gpt-tokenizer's `countTokens`, which walks the text
 * without building a token array: about 11–14 MB of source text per second
 * (~4.5M tokens/s) on one core, roughly 30% faster than `encode(text).length`
 * and without its memory spike on multi-megabyte inputs.
 */
import { createRequire } from 'node:module';
import type { TaskFile } from '../core/types.ts';

type O200k = typeof import('gpt-tokenizer/encoding/o200k_base');
let o200k: O200k | undefined;
/**
 * The encoding's tables take ~370 ms to load: loaded on the first count, not when a command
 * that never counts (status, submit) imports the policy package.
 */
const encoding = (): O200k => (o200k ??= createRequire(import.meta.url)('gpt-tokenizer/encoding/o200k_base') as O200k);

/**
 * Treat text that looks like a special token (`<|endoftext|>`, `<|im_start|>`) as
 * ordinary text. The library's default is to throw on it, but task files are
 * arbitrary user input (a tokenizer's own source, for one), and the providers
 * count such text as ordinary characters too.
 */
const PLAIN_TEXT = { disallowedSpecial: new Set<string>() };

/**
 * Tokens added per attached file besides its content and path: the opening
 * fence, the newline after the path, the closing fence and the blank line after it.
 * Measured with o200k_base on "```" + path + "\n" + content + "\n```\n\n", which
 * costs 4–5 tokens more than path and content counted apart.
 */
export const FILE_FENCE_OVERHEAD_TOKENS = 5;

/**
 * Number of o200k_base tokens in `text`.
 *
 * @example
 * countTokens('hello world'); // 2
 * countTokens('');            // 0
 */
export function countTokens(text: string): number {
  if (text.length === 0) return 0;
  if (text.length < MEMO_MIN_CHARS) return encoding().countTokens(text, PLAIN_TEXT);
  const known = memo.get(text);
  if (known !== undefined) {
    // Most recently used last: the oldest goes first.
    memo.delete(text);
    memo.set(text, known);
    return known;
  }
  const count = encoding().countTokens(text, PLAIN_TEXT);
  memo.set(text, count);
  memoChars += text.length;
  while (memo.size > MEMO_MAX_ENTRIES || memoChars > MEMO_MAX_CHARS) {
    const oldest = memo.keys().next().value!;
    memo.delete(oldest);
    memoChars -= oldest.length;
  }
  return count;
}

/**
 * Counts of long texts seen lately. One request's text is counted by several steps (its
 * difficulty, its reservation, the prompt its call sends, the guard on that call), and a coding
 * client sends the same system prompt and history with every turn: a text read again is looked
 * up (a string comparison, far cheaper than the count) instead of counted again.
 */
const memo = new Map<string, number>();
let memoChars = 0;
const MEMO_MIN_CHARS = 256;
const MEMO_MAX_ENTRIES = 2_000;
/** The texts kept as keys: at most this many characters (about 64 MB) besides what holds them anyway. */
const MEMO_MAX_CHARS = 32 * 1024 * 1024;

/**
 * Tokens a task will occupy in the prompt: the prompt itself, then each file as a
 * fenced block headed by its path (the path's own tokens plus
 * {@link FILE_FENCE_OVERHEAD_TOKENS}). An estimate within a few tokens per file of
 * what a worker actually sends; the exact framing is the worker's business.
 *
 * @example
 * countTaskTokens('Fix the typo', [{ path: 'README.md', content: '# Helo' }]);
 * // = countTokens('Fix the typo') + countTokens('README.md') + 5 + countTokens('# Helo')
 */
export function countTaskTokens(prompt: string, files: readonly TaskFile[] = []): number {
  let total = countTokens(prompt);
  for (const file of files) {
    total += countTokens(file.path) + FILE_FENCE_OVERHEAD_TOKENS + countTokens(file.content);
  }
  return total;
}
