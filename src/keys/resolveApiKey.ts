/**
 * Where a provider's API key comes from: the environment first (CI, containers,
 * one-off overrides), then the encrypted keystore. Nothing here logs or prints.
 */
import { BACKEND_KINDS_INFO, type BackendKindInfo } from '../llm/backendKindInfo.ts';
import { Keystore } from './Keystore.ts';

/** Backend kinds that take an API key (their name in the keystore), and the environment variable that overrides the keystore: from the registry of backend kinds. */
export const API_KEY_ENV = Object.fromEntries(
  Object.values(BACKEND_KINDS_INFO).flatMap((k: BackendKindInfo) => (k.apiKey ? [[k.apiKey.name, k.apiKey.env]] : [])),
) as Record<ApiKeyName, string>;
/** `openai`, `anthropic`. */
export type ApiKeyName = NonNullable<(typeof BACKEND_KINDS_INFO)[keyof typeof BACKEND_KINDS_INFO]['apiKey']>['name'];

/**
 * The API key for `name`, or `null` when none is configured.
 *
 * Order: the kind's variable (`OPENAI_API_KEY`, `KOUBOU_ANTHROPIC_API_KEY`; non-empty) from `env`; else the keystore
 * (`$KOUBOU_KEYSTORE` or `~/.config/koubou/keys.enc`) when the file exists and
 * `KOUBOU_MASTER_PASSWORD` is set; else `null`. A keystore that exists but cannot be
 * opened (wrong password, tampered, loose permissions) throws its `KeystoreError`
 * rather than returning `null`: "no key" would send the user looking in the wrong place.
 * Each keystore read derives the key with scrypt (~150 ms): resolve once at start-up.
 *
 * @example
 * const key = await resolveApiKey('openai', process.env);
 * if (key === null) throw new InputError('no OpenAI key: set OPENAI_API_KEY or run `koubou keys set openai`');
 */
export async function resolveApiKey(
  name: ApiKeyName,
  env: NodeJS.ProcessEnv = process.env,
  options: { keystoreFile?: string } = {},
): Promise<string | null> {
  const fromEnv = env[API_KEY_ENV[name]];
  if (fromEnv) return fromEnv;
  const store = new Keystore({ env, file: options.keystoreFile });
  if (!env.KOUBOU_MASTER_PASSWORD || !store.exists()) return null;
  return store.get(name);
}
