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
  return encoding().countTokens(text, PLAIN_TEXT);
}

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
