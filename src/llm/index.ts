/**
 * koubou's LLM backends. Workers depend on {@link Provider} only; this is where
 * the implementations come from.
 *
 * @example
 * import { createProvider } from '../llm/index.ts';
 * const provider = createProvider(config.tiers.gpt5_medium, { apiKey });
 * const { text, usage, rateLimitHeaders } = await provider.generate({
 *   model: 'gpt-5', reasoningEffort: 'medium', maxOutputTokens: 64_000,
 *   messages: [{ role: 'user', content: 'Refactor …' }], signal,
 * });
 */
export type { ChatMessage, GenerateRequest, GenerateResult, Provider, ProviderError } from './Provider.ts';
export { InProcessSimProvider, type InProcessSimOptions } from './InProcessSimProvider.ts';
export { OpenAIProvider, type OpenAIProviderOptions } from './OpenAIProvider.ts';
export { OllamaProvider, type OllamaProviderOptions } from './OllamaProvider.ts';
export { AnthropicProvider, type AnthropicProviderOptions } from './AnthropicProvider.ts';
export { LMStudioProvider, type LMStudioProviderOptions } from './LMStudioProvider.ts';
export { createProvider, DEFAULT_SIM_URL, type CreateProviderOptions } from './createProvider.ts';
export {
  ProviderFailure,
  PROVIDER_ERROR_RETRYABLE,
  type ProviderErrorCode,
  type ProviderFailureDetails,
} from './errors.ts';
