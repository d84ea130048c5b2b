/**
 * What koubou knows of each backend kind (a tier's `provider:`) besides how to build it: its
 * API key in the keystore and environment, where it is by default, the `koubou worker` flag
 * that points a tier at a server of its kind, and which face of `koubou sim` speaks its
 * protocol. Data only, so that the config schema and the keystore read it without loading any
 * SDK; the factories are in backendKinds.ts, keyed by the same names (the type checker keeps
 * the two in step).
 *
 * A new OpenAI-compatible kind: an entry here, a factory in backendKinds.ts (an OpenAIProvider
 * with its name and hints, or a subclass in a file of its own like LMStudioProvider.ts), and a
 * subject in test/llm.providers.test.ts.
 */

/** Where `koubou sim` listens unless told otherwise: next to Ollama's 11434. */
export const DEFAULT_SIM_URL = 'http://127.0.0.1:11435';

/** The protocols `koubou sim` speaks. */
export type SimFace = 'openai' | 'ollama' | 'anthropic';

export interface BackendKindInfo {
  /** How messages name it. */
  label: string;
  /** Its API key: its name in the keystore (`koubou keys set NAME`) and the variable that overrides the keystore. Servers on the LAN take none. */
  apiKey: { name: string; env: string } | null;
  /** Where its calls go when the tier names no base_url; null: the provider's own default. */
  defaultUrl: string | null;
  /**
   * The `koubou worker` flag that points a tier at a server of this kind: `switch` makes any
   * tier this kind at the URL (`--ollama URL`); `baseUrl` moves a tier of this kind (`--openai-base-url URL`).
   */
  flag: { name: string; mode: 'switch' | 'baseUrl'; appendV1?: boolean } | null;
  /** The face of `koubou sim` that speaks its protocol: `--sim URL` on a tier of this kind talks to it. Null for `sim` itself (it infers). */
  simFace: SimFace | null;
}

export const BACKEND_KINDS_INFO = {
  openai: {
    label: 'OpenAI', apiKey: { name: 'openai', env: 'OPENAI_API_KEY' }, defaultUrl: 'https://api.openai.com/v1',
    flag: { name: '--openai-base-url', mode: 'baseUrl' }, simFace: 'openai',
  },
  // Not ANTHROPIC_API_KEY: people who point Claude Code at koubou put a koubou key there.
  anthropic: {
    label: 'Anthropic', apiKey: { name: 'anthropic', env: 'KOUBOU_ANTHROPIC_API_KEY' }, defaultUrl: 'https://api.anthropic.com',
    flag: null, simFace: 'anthropic',
  },
  ollama: { label: 'Ollama', apiKey: null, defaultUrl: null, flag: { name: '--ollama', mode: 'switch' }, simFace: 'ollama' },
  lmstudio: { label: 'LM Studio', apiKey: null, defaultUrl: null, flag: { name: '--lmstudio', mode: 'switch', appendV1: true }, simFace: 'openai' },
  sim: { label: 'koubou sim', apiKey: null, defaultUrl: DEFAULT_SIM_URL, flag: { name: '--sim', mode: 'switch' }, simFace: null },
} as const satisfies Record<string, BackendKindInfo>;

export type BackendKindName = keyof typeof BACKEND_KINDS_INFO;

/** Every kind's name, for the config schema. */
export const BACKEND_KIND_NAMES = Object.keys(BACKEND_KINDS_INFO) as [BackendKindName, ...BackendKindName[]];

/** @example backendKindInfo('openai').apiKey?.env; // 'OPENAI_API_KEY' */
export const backendKindInfo = (name: BackendKindName): BackendKindInfo => BACKEND_KINDS_INFO[name];
