/** Prompts built from tasks: fenced files, token budgets, overflow policies. */
export {
  buildPrompt,
  OVERFLOW_POLICIES,
  type BuildPromptInput,
  type BuiltPrompt,
  type OverflowPolicy,
  type PromptTier,
} from './buildPrompt.ts';
export { PromptTooLargeError, type PromptTooLargeDetails } from './errors.ts';
export { promptInjectionSuspected } from './injection.ts';
export { escapeFileContent, fenceFile, neutraliseSpecialTokens, sanitisePath } from './fence.ts';
export { countPromptTokens, FILES_ARE_DATA, PER_MESSAGE_OVERHEAD_TOKENS, promptTokenBound, REPLY_PRIMING_TOKENS } from './messages.ts';
export type { Truncation } from './fit.ts';
export { promptFor, sentPromptTokens, type PromptSource, type TaskPrompt } from './promptFor.ts';
