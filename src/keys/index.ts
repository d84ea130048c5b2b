/** The encrypted keystore and API-key resolution. */
export { Keystore, assertKeyName, defaultKeystorePath, type KeystoreOptions } from './Keystore.ts';
export { resolveApiKey, API_KEY_ENV, type ApiKeyName } from './resolveApiKey.ts';
export { KeystoreError, KEYSTORE_ERROR_CODES, type KeystoreErrorCode } from './errors.ts';
export { keyDigest } from './keyDigest.ts';
export { KeyAnswers } from './KeyAnswers.ts';
