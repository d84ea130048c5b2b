/**
 * The prompt a worker sends for a task: koubou's system message, the attached
 * files fenced as data, and the user's task last, sized to the tier's context
 * window. Replaces `actors/worker/buildMessages.ts`, which neither fenced against
 * every escape nor counted tokens.
 */
import type { TaskFile, TaskType } from '../core/types.ts';
import type { ChatMessage } from '../llm/Provider.ts';
import { PromptTooLargeError } from './errors.ts';
import { escapeFileContent, fenceFile, neutraliseSpecialTokens, sanitisePath, sha256 } from './fence.ts';
import { dropLargestFiles, truncateLargestFiles, type FitContext, type Truncation } from './fit.ts';
import { countPromptTokens, promptTokenBound, renderMessages, systemMessage } from './messages.ts';

/** What to do with a prompt larger than the tier allows. */
export const OVERFLOW_POLICIES = ['refuse', 'truncate_files', 'drop_files'] as const;
export type OverflowPolicy = (typeof OVERFLOW_POLICIES)[number];

/** The parts of a tier's config that size a prompt (`TierConfig` has them all). */
export interface PromptTier {
  /** The tier's name (`local`), for error messages; the model is named when absent. */
  name?: string;
  model: string;
  context_window: number;
  max_output_tokens: number;
}

export interface BuildPromptInput {
  task: { type: TaskType; prompt: string; files: readonly TaskFile[] };
  tier: PromptTier;
  /** Default `refuse`. */
  policy?: OverflowPolicy;
}

export interface BuiltPrompt {
  messages: ChatMessage[];
  /** Tokens of the whole prompt as sent: every message plus the chat-format overhead. */
  promptTokens: number;
  /** Paths (as given) of the files cut (`truncate_files`) or left out (`drop_files`) to fit. */
  dropped: string[];
  /** For `truncate_files`: how much of each cut file was kept. */
  truncated: Truncation[];
}

/**
 * Builds the chat for a task, fitting `context_window - max_output_tokens` of the tier.
 *
 * Files are fenced as `<file path="…" sha256="…">…</file>` with any file tag inside
 * them escaped, and the system message tells the model that fenced text is data.
 * When the prompt is too large, `policy` decides: `refuse` throws
 * {@link PromptTooLargeError} (`PROMPT_TOO_LARGE`), `truncate_files` cuts the largest
 * files from the end, `drop_files` leaves out whole files, largest first. If the task
 * does not fit even without files, every policy throws.
 *
 * @example
 * const { messages, promptTokens, dropped } = buildPrompt({
 *   task: { type: 'code_review', prompt: 'review this', files: [{ path: 'src/a.ts', content: 'let x = 1;\n' }] },
 *   tier: config.tiers.local,            // { model, context_window, max_output_tokens, … }
 *   policy: 'drop_files',
 * });
 * // messages: [system, user (the fenced files), user ('review this')]
 */
export function buildPrompt(input: BuildPromptInput): BuiltPrompt {
  const { task, tier, policy = 'refuse' } = input;
  const limit = tier.context_window - tier.max_output_tokens;
  const ctx: FitContext = {
    system: systemMessage(task.type),
    prompt: neutraliseSpecialTokens(task.prompt),
    parts: task.files.map((f) => ({ path: f.path, label: sanitisePath(f.path), hash: sha256(f.content), escaped: escapeFileContent(f.content) })),
    limit,
  };
  const blocks = ctx.parts.map((p) => fenceFile(p.label, p.escaped, p.hash));
  const messages = renderMessages(ctx.system, ctx.prompt, blocks, []);
  // Most prompts are far inside the window: their bytes say so, and the count waits until asked for.
  if (promptTokenBound(messages) <= limit) return fitsWhole(messages);
  const promptTokens = countPromptTokens(messages);
  if (promptTokens <= limit) return { messages, promptTokens, dropped: [], truncated: [] };

  const tooLarge = (withoutFilesTokens?: number) =>
    new PromptTooLargeError({
      promptTokens,
      limitTokens: limit,
      contextWindow: tier.context_window,
      maxOutputTokens: tier.max_output_tokens,
      tier: tier.name ? `${tier.name} (${tier.model})` : tier.model,
      withoutFilesTokens,
    });
  if (policy === 'refuse' || ctx.parts.length === 0) throw tooLarge();
  const bare = countPromptTokens(renderMessages(ctx.system, ctx.prompt, [], []));
  if (bare > limit) throw tooLarge(bare);
  const fitted = policy === 'drop_files' ? dropLargestFiles(ctx, promptTokens) : truncateLargestFiles(ctx, promptTokens);
  // Only `truncate_files` can get here: so many files that their empty fences alone overflow.
  if (!fitted) throw tooLarge();
  return fitted;
}

/** A prompt that fits as it is; its tokens are counted on first read of `promptTokens`. */
function fitsWhole(messages: ChatMessage[]): BuiltPrompt {
  let tokens: number | undefined;
  return {
    messages, dropped: [], truncated: [],
    get promptTokens() {
      return (tokens ??= countPromptTokens(messages));
    },
  };
}
