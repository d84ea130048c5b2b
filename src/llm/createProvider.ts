/**
 * Builds the provider a tier's configuration names, by its kind's entry in the registry
 * (backendKinds.ts).
 */
import type { TierConfig } from '../config/index.ts';
import { BACKEND_KINDS, type BackendOptions } from './backendKinds.ts';
import { ProviderFailure } from './errors.ts';
import type { Provider } from './Provider.ts';

export { DEFAULT_SIM_URL } from './backendKindInfo.ts';

export interface CreateProviderOptions {
  /** The kind's API key (from its variable or the keystore); only kinds with a key use it. */
  apiKey?: string;
  /**
   * For `provider: sim`: the `koubou sim` URL (default: the tier's `base_url`, else
   * DEFAULT_SIM_URL) and which face to speak. Without `protocol`, a URL ending in `/v1`
   * means OpenAI's, a model named like Ollama's (`gpt-oss:20b`) means Ollama's, and
   * anything else OpenAI's.
   */
  sim?: { url?: string; protocol?: 'openai' | 'ollama' | 'anthropic'; apiKey?: string };
  /** Idle timeout of calls, passed to the provider. */
  timeoutMs?: number;
}

/**
 * @example
 * const config = loadConfig();
 * createProvider(config.tiers.gpt5_high, { apiKey: process.env.OPENAI_API_KEY }); // OpenAIProvider
 * createProvider(config.tiers.local);                                            // OllamaProvider at base_url
 * createProvider({ ...config.tiers.local, provider: 'sim' }, { sim: { url: 'http://127.0.0.1:11435' } });
 *
 * @throws ProviderFailure `AUTH_FAILED` for a kind with a key (openai, anthropic) without one (before any call is made).
 */
export function createProvider(tier: Pick<TierConfig, 'provider' | 'model' | 'base_url'>, options: CreateProviderOptions = {}): Provider {
  const factory = BACKEND_KINDS[tier.provider];
  if (!factory) throw new ProviderFailure('BAD_REQUEST', `unknown provider ${JSON.stringify(tier.provider)}`);
  const base_url = tier.provider === 'sim' ? options.sim?.url ?? tier.base_url : tier.base_url;
  const backend: BackendOptions = {
    ...(options.apiKey ? { apiKey: options.apiKey } : {}),
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    ...(options.sim ? { sim: { ...(options.sim.protocol ? { protocol: options.sim.protocol } : {}), ...(options.sim.apiKey ? { apiKey: options.sim.apiKey } : {}) } } : {}),
  };
  return factory({ model: tier.model, base_url: base_url ?? null }, backend);
}
