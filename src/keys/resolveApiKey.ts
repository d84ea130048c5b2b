/**
 * Where a provider's API key comes from: the environment first (CI, containers,
 * one-off overrides), then the encrypted keystore. Nothing here logs or prints.
 */
import { Keystore } from './Keystore.ts';

/** Providers that take an API key, and the environment variable that overrides the keystore. */
export const API_KEY_ENV = { openai: 'OPENAI_API_KEY' } as const;
export type ApiKeyName = keyof typeof API_KEY_ENV;

/**
 * The API key for `name`, or `null` when none is configured.
 *
 * Order: `OPENAI_API_KEY` (non-empty) from `env`; else the keystore
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
