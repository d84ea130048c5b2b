/**
 * Which LLM backend a worker calls: the tier's configuration, overridden by
 * the command line (`--ollama URL`, `--lmstudio URL`, `--openai-base-url URL`,
 * `--sim URL`, `--sim-latency MS`, `--model NAME`), turned into a Provider, and
 * checked before the worker takes any work.
 */
import { isCloudTier, tierOf, type KoubouConfig, type TierConfig } from '../../src/config/index.ts';
import { InputError } from '../../src/core/errors.ts';
import type { Tier } from '../../src/core/types.ts';
import { resolveApiKey } from '../../src/keys/index.ts';
import { BACKEND_KINDS_INFO, type BackendKindName } from '../../src/llm/backendKindInfo.ts';
import { createProvider } from '../../src/llm/createProvider.ts';
import { InProcessSimProvider } from '../../src/llm/InProcessSimProvider.ts';
import type { Provider } from '../../src/llm/Provider.ts';

/** Command-line overrides of a tier's backend. At most one of the URL flags and `simLatencyMs`. */
export interface BackendFlags {
  /** An Ollama host: provider `ollama` at this URL (a LAN GPU box, say). */
  ollama?: string;
  /** An LM Studio server: provider `lmstudio` at this URL (`…/v1`). */
  lmstudio?: string;
  /** An OpenAI-compatible gateway for the `openai` provider. */
  openaiBaseUrl?: string;
  /** A `koubou sim` server: OpenAI's protocol for the GPT-5 tiers, Ollama's for `local`. */
  sim?: string;
  /** The in-process simulator with this latency (tests, benchmarks): no HTTP at all. */
  simLatencyMs?: number;
  /** Another model name than the tier's (LM Studio names gpt-oss `openai/gpt-oss-20b`). */
  model?: string;
  /** Give a call up after this long without data (default: the provider's, minutes). */
  timeoutMs?: number;
}

/** A worker's backend, ready to use. */
export interface WorkerBackend {
  provider: Provider;
  /** The config with this tier's entry as overridden: the worker reads model and limits from it. */
  config: KoubouConfig;
  tierConfig: TierConfig;
  /** What the heartbeat says the worker calls, e.g. `http://gpu-box:11434`. */
  endpoint: string;
  /** `remote` when the backend is on another host than this one (a LAN Ollama). */
  location: 'local' | 'remote';
  /** One line for logs and `koubou up`: provider, model, where, and whether it is simulated. */
  description: string;
}

/** Each URL flag, and the backend kind whose flag (in the registry) it is. */
const FLAG_KINDS = { ollama: 'ollama', lmstudio: 'lmstudio', openaiBaseUrl: 'openai', sim: 'sim' } as const satisfies Record<string, BackendKindName>;
const URL_FLAGS = Object.keys(FLAG_KINDS) as (keyof typeof FLAG_KINDS)[];
const flagOf = (f: keyof typeof FLAG_KINDS) => BACKEND_KINDS_INFO[FLAG_KINDS[f]].flag;
const FLAG_NAMES = { ...Object.fromEntries(URL_FLAGS.map((f) => [f, flagOf(f).name])), simLatencyMs: '--sim-latency' } as Record<(typeof URL_FLAGS)[number] | 'simLatencyMs', string>;

/**
 * The tier's backend with the flags applied. An `openai` tier needs a key from
 * OPENAI_API_KEY or the keystore; without one this throws an InputError naming
 * both (and never printing any key).
 *
 * @example
 * const backend = await resolveBackend(config, 'local', { ollama: 'http://gpu-box:11434' });
 * backend.location; // 'remote'
 * await checkBackend(backend); // throws naming `ollama pull gpt-oss:20b` if the host lacks the model
 *
 * @throws InputError for conflicting flags, a bad URL, or a missing OpenAI key.
 */
export async function resolveBackend(
  config: KoubouConfig, tier: Tier, flags: BackendFlags = {}, env: NodeJS.ProcessEnv = process.env,
): Promise<WorkerBackend> {
  const given = [...URL_FLAGS, 'simLatencyMs' as const].filter((f) => flags[f] !== undefined);
  if (given.length > 1) throw new InputError(`${given.map((f) => FLAG_NAMES[f]).join(' and ')} cannot be combined: pick one backend`);
  for (const f of URL_FLAGS) if (flags[f] !== undefined) checkUrl(FLAG_NAMES[f], flags[f]);
  const configured = tierOf(config, tier).provider;
  const tierConfig: TierConfig = { ...tierOf(config, tier), ...(flags.model ? { model: flags.model } : {}) };
  for (const f of URL_FLAGS) {
    const url = flags[f];
    if (url === undefined) continue;
    const kind = FLAG_KINDS[f];
    const flag = flagOf(f);
    if (flag.mode === 'baseUrl') {
      if (configured !== kind) throw new InputError(`${flag.name} is for a tier whose provider is ${kind}; ${tier} uses ${configured}`);
      tierConfig.base_url = url;
    } else {
      // LM Studio serves OpenAI's API under /v1; people often paste the bare host.
      Object.assign(tierConfig, { provider: kind, base_url: 'appendV1' in flag && flag.appendV1 ? withV1(url) : url });
    }
  }
  const withTier: KoubouConfig = { ...config, tiers: { ...config.tiers, [tier]: tierConfig } };
  const named = `${tier} (${tierConfig.model})`;

  if (flags.simLatencyMs !== undefined) {
    return {
      provider: new InProcessSimProvider({ latencyMs: flags.simLatencyMs }), config: withTier, tierConfig,
      endpoint: 'sim://in-process', location: 'local', description: `${named}: simulated in-process (answers are not real)`,
    };
  }
  let apiKey: string | undefined;
  const kind = BACKEND_KINDS_INFO[tierConfig.provider];
  if (kind.apiKey) {
    apiKey = (await resolveApiKey(kind.apiKey.name, env)) ?? undefined;
    if (!apiKey) {
      throw new InputError(
        `tier ${tier} uses ${kind.label} but no API key is configured: set ${kind.apiKey.env}, ` +
          `or store it encrypted with \`koubou keys set ${kind.apiKey.name}\` (and set KOUBOU_MASTER_PASSWORD)`,
      );
    }
  }
  // --sim on a tier talks to the sim's face for the tier's own kind (Messages for anthropic, Ollama's for ollama…).
  const simFace = flags.sim ? BACKEND_KINDS_INFO[configured].simFace : null;
  const provider = createProvider(tierConfig, {
    ...(apiKey ? { apiKey } : {}), ...(flags.timeoutMs ? { timeoutMs: flags.timeoutMs } : {}), ...(simFace ? { sim: { protocol: simFace } } : {}),
  });
  const endpoint = tierConfig.base_url ?? (tierConfig.provider === 'sim' ? provider.name : kind.defaultUrl ?? provider.name);
  const simulated = tierConfig.provider === 'sim' ? ', simulated (koubou sim)' : '';
  return {
    provider, config: withTier, tierConfig, endpoint,
    // A cloud API is nobody's LAN host: only a local model server can be "remote".
    location: !isCloudTier(config, tier) && tierConfig.base_url && !isLoopback(tierConfig.base_url) ? 'remote' : 'local',
    description: `${named}: ${tierConfig.provider} at ${endpoint}${simulated}`,
  };
}

/**
 * Asks the backend whether it answers and has the tier's model, when the
 * provider can tell. A worker that cannot do its tier's work must not take any:
 * each task would fail (or fall back) only after its retries.
 *
 * @example
 * await checkBackend(backend).catch((e) => { console.error(e.message); process.exit(2); });
 *
 * @throws InputError with the provider's own message (for Ollama, the `ollama pull` to run).
 */
export async function checkBackend(backend: WorkerBackend): Promise<void> {
  if (!backend.provider.health) return;
  try {
    await backend.provider.health(backend.tierConfig.model);
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    throw new InputError(`backend not ready for ${backend.description}: ${(e as Error).message}`, {
      cause: e, ...(typeof code === 'string' ? { code } : {}),
    });
  }
}

/** How `koubou up` starts a tier's worker: extra `koubou worker` arguments, and a line saying why. */
export interface UpBackendPlan {
  args: string[];
  note: string;
  /** The worker runs the in-process simulator (and so does the gateway's own call on the tier). */
  simulated: boolean;
}

/**
 * Decides, before `koubou up` starts a tier's worker, whether its configured
 * backend can be used. Until one is set up (an OpenAI key; an Ollama or LM
 * Studio server that answers), the worker runs the in-process simulator, and
 * the note says so and how to set up the real one. A server that answers but
 * lacks the model is not simulated away: the worker then refuses to start
 * with the `ollama pull` to run, which is what the user needs to see.
 *
 * @example
 * await planUpBackend(config, 'gpt5_high', {});
 * // { args: ['--sim-latency', '0'], note: 'simulated in-process: no OpenAI API key (set OPENAI_API_KEY or run `koubou keys set openai`)', simulated: true }
 */
export async function planUpBackend(config: KoubouConfig, tier: Tier, env: NodeJS.ProcessEnv): Promise<UpBackendPlan> {
  const t = tierOf(config, tier);
  const simulated = (why: string): UpBackendPlan => ({ args: ['--sim-latency', '0'], note: `simulated in-process: ${why}`, simulated: true });
  const kind = BACKEND_KINDS_INFO[t.provider];
  if (kind.apiKey) {
    if (await resolveApiKey(kind.apiKey.name, env)) return { args: [], note: `${kind.label} ${t.model} at ${t.base_url ?? kind.defaultUrl}`, simulated: false };
    return simulated(`no ${kind.label} API key (set ${kind.apiKey.env} or run \`koubou keys set ${kind.apiKey.name}\`)`);
  }
  const provider = createProvider(t, { timeoutMs: 3000 });
  const where = `${t.provider} ${t.model} at ${t.base_url ?? provider.name}${t.provider === 'sim' ? ' (koubou sim: simulated answers)' : ''}`;
  try {
    await provider.health?.(t.model);
    return { args: [], note: where, simulated: false };
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (code === 'UNREACHABLE' || code === 'TIMEOUT') {
      const env = t.provider === 'ollama' && tier === 'local' ? ' or OLLAMA_HOST' : '';
      return simulated(`nothing answers at ${t.base_url ?? 'its default URL'} (start ${t.provider} there, or set tiers.${tier}.base_url${env})`);
    }
    return { args: [], note: `${where}: ${(e as Error).message}`, simulated: false };
  }
}

/**
 * True for localhost, 127.x.x.x and ::1.
 *
 * @example
 * isLoopback('http://127.0.0.1:11434'); // true
 * isLoopback('http://192.168.1.20:11434'); // false
 */
export function isLoopback(url: string): boolean {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function withV1(url: string): string {
  const u = new URL(url);
  return u.pathname === '/' ? `${u.origin}/v1` : url;
}

function checkUrl(flag: string, value: string): void {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InputError(`${flag} needs a URL such as http://host:11434, got ${JSON.stringify(value)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InputError(`${flag} needs an http(s) URL, got ${JSON.stringify(value)}`);
}
