/**
 * Builds the provider a tier's configuration names.
 */
import type { TierConfig } from '../config/index.ts';
import { ProviderFailure } from './errors.ts';
import { LMStudioProvider } from './LMStudioProvider.ts';
import { OllamaProvider } from './OllamaProvider.ts';
import { OpenAIProvider } from './OpenAIProvider.ts';
import type { Provider } from './Provider.ts';

/** Where `koubou sim` listens unless told otherwise: next to Ollama's 11434. */
export const DEFAULT_SIM_URL = 'http://127.0.0.1:11435';

export interface CreateProviderOptions {
  /** OpenAI's key (from OPENAI_API_KEY or the keystore); only the `openai` provider uses it. */
  apiKey?: string;
  /**
   * For `provider: sim`: the `koubou sim` URL (default: the tier's `base_url`,
   * else {@link DEFAULT_SIM_URL}) and which protocol to speak. Without
   * `protocol`, a URL ending in `/v1` means OpenAI's, a model named like
   * Ollama's (`gpt-oss:20b`) means Ollama's, and anything else OpenAI's.
   */
  sim?: { url?: string; protocol?: 'openai' | 'ollama'; apiKey?: string };
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
 * @throws ProviderFailure `AUTH_FAILED` for `openai` without a key (before any call is made).
 */
export function createProvider(tier: Pick<TierConfig, 'provider' | 'model' | 'base_url'>, options: CreateProviderOptions = {}): Provider {
  const timeout = options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs };
  switch (tier.provider) {
    case 'openai': {
      if (!options.apiKey) {
        throw new ProviderFailure('AUTH_FAILED', 'no OpenAI API key: set OPENAI_API_KEY or run `koubou keys set openai`');
      }
      return new OpenAIProvider({ apiKey: options.apiKey, ...(tier.base_url ? { baseURL: tier.base_url } : {}), ...timeout });
    }
    case 'ollama':
      return new OllamaProvider({ ...(tier.base_url ? { host: tier.base_url } : {}), ...timeout });
    case 'lmstudio':
      return new LMStudioProvider({ ...(tier.base_url ? { baseURL: tier.base_url } : {}), ...timeout });
    case 'sim': {
      const url = (options.sim?.url ?? tier.base_url ?? DEFAULT_SIM_URL).replace(/\/+$/, '');
      const protocol = options.sim?.protocol ?? (/\/v1$/.test(url) ? 'openai' : tier.model.includes(':') ? 'ollama' : 'openai');
      if (protocol === 'ollama') return new OllamaProvider({ host: url.replace(/\/v1$/, ''), name: 'sim', ...timeout });
      return new OpenAIProvider({
        // A sim started with --api-key checks it; one without accepts any.
        apiKey: options.sim?.apiKey ?? 'sim',
        baseURL: /\/v1$/.test(url) ? url : `${url}/v1`,
        name: 'sim',
        ...timeout,
      });
    }
    default: {
      const never: never = tier.provider;
      throw new ProviderFailure('BAD_REQUEST', `unknown provider ${JSON.stringify(never)}`);
    }
  }
}
