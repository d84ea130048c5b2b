/**
 * The registry of backend kinds: for each tier `provider:` koubou knows, how its Provider is
 * built. The rest of what koubou knows of a kind (key, flag, simulator face, default URL) is in
 * backendKindInfo.ts. Each provider hands its rate-limit headers over as koubou's signal (the
 * `x-ratelimit-*` set the shared limiter reads; AnthropicProvider converts Anthropic's).
 */
import { ProviderFailure } from './errors.ts';
import { AnthropicProvider } from './AnthropicProvider.ts';
import { backendKindInfo, DEFAULT_SIM_URL, type BackendKindName, type SimFace } from './backendKindInfo.ts';
import { LMStudioProvider } from './LMStudioProvider.ts';
import { OllamaProvider } from './OllamaProvider.ts';
import { OpenAIProvider } from './OpenAIProvider.ts';
import type { Provider } from './Provider.ts';

/** What a factory gets: the tier's model and URL, and what the caller resolved. */
export interface BackendTarget {
  model: string;
  base_url: string | null;
}
export interface BackendOptions {
  /** The kind's API key (kinds with one in backendKindInfo). */
  apiKey?: string;
  timeoutMs?: number;
  /** For `sim`: which face to speak (default: inferred from the URL and model) and its key. */
  sim?: { protocol?: SimFace; apiKey?: string };
}

type Factory = (tier: BackendTarget, options: BackendOptions) => Provider;

const timeout = (o: BackendOptions) => (o.timeoutMs === undefined ? {} : { timeoutMs: o.timeoutMs });
const needKey = (name: BackendKindName, o: BackendOptions): string => {
  const key = backendKindInfo(name).apiKey!;
  if (o.apiKey) return o.apiKey;
  throw new ProviderFailure('AUTH_FAILED', `no ${backendKindInfo(name).label} API key: set ${key.env} or run \`koubou keys set ${key.name}\``);
};
const withV1 = (url: string) => (/\/v1$/.test(url) ? url : `${url}/v1`);

/** A sim face's provider at `url`: the sim checks a key only when started with --api-key. */
function simProvider(face: SimFace, url: string, o: BackendOptions): Provider {
  const apiKey = o.sim?.apiKey ?? 'sim';
  if (face === 'ollama') return new OllamaProvider({ host: url.replace(/\/v1$/, ''), name: 'sim', ...timeout(o) });
  if (face === 'anthropic') return new AnthropicProvider({ apiKey, baseURL: url.replace(/\/v1$/, ''), name: 'sim', ...timeout(o) });
  return new OpenAIProvider({ apiKey, baseURL: withV1(url), name: 'sim', ...timeout(o) });
}

export const BACKEND_KINDS: Record<BackendKindName, Factory> = {
  openai: (t, o) => new OpenAIProvider({ apiKey: needKey('openai', o), ...(t.base_url ? { baseURL: t.base_url } : {}), ...timeout(o) }),
  anthropic: (t, o) => new AnthropicProvider({ apiKey: needKey('anthropic', o), ...(t.base_url ? { baseURL: t.base_url } : {}), ...timeout(o) }),
  ollama: (t, o) => new OllamaProvider({ ...(t.base_url ? { host: t.base_url } : {}), ...timeout(o) }),
  lmstudio: (t, o) => new LMStudioProvider({ ...(t.base_url ? { baseURL: t.base_url } : {}), ...timeout(o) }),
  sim: (t, o) => {
    const url = (t.base_url ?? DEFAULT_SIM_URL).replace(/\/+$/, '');
    // Without a face named: a URL ending in /v1 is OpenAI's, a model named like Ollama's (gpt-oss:20b) Ollama's, else OpenAI's.
    const face = o.sim?.protocol ?? (/\/v1$/.test(url) ? 'openai' : t.model.includes(':') ? 'ollama' : 'openai');
    return simProvider(face, url, o);
  },
};
