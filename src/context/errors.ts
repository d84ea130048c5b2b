/** The error of a prompt that does not fit its tier's context window. */
import { InputError } from '../core/errors.ts';

const n = (x: number): string => x.toLocaleString('en-US');

export interface PromptTooLargeDetails {
  /** Tokens of the prompt that did not fit (after the overflow policy, if any, did what it could). */
  promptTokens: number;
  /** `context_window - max_output_tokens` of the tier. */
  limitTokens: number;
  contextWindow: number;
  maxOutputTokens: number;
  /** The tier's name when known, else its model. */
  tier: string;
  /** Set when files were already cut or dropped and the rest (system message + task) is still too large. */
  withoutFilesTokens?: number;
}

/**
 * The prompt does not fit `context_window - max_output_tokens` of the tier: code
 * `PROMPT_TOO_LARGE`. Retrying cannot help; fewer or smaller files, or a tier
 * with a larger window, can.
 *
 * @example
 * try { buildPrompt({ task, tier }) } catch (e) {
 *   if (e instanceof PromptTooLargeError) log.warn(e.code, e.details.promptTokens, e.details.limitTokens);
 * }
 */
export class PromptTooLargeError extends InputError {
  constructor(readonly details: PromptTooLargeDetails) {
    const d = details;
    const why =
      d.withoutFilesTokens === undefined
        ? 'attach fewer or smaller files, or use a tier with a larger context window'
        : `even with every attached file left out the task needs ${n(d.withoutFilesTokens)} tokens: ` +
          'shorten the task, or use a tier with a larger context window';
    super(
      `the prompt has ${n(d.promptTokens)} tokens but tier ${d.tier} fits ${n(d.limitTokens)} ` +
        `(context window ${n(d.contextWindow)} − ${n(d.maxOutputTokens)} reserved for output): ${why}`,
      { code: 'PROMPT_TOO_LARGE' },
    );
  }
}
