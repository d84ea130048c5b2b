/**
 * Errors of the keystore. Every message is written here, from fixed text plus the
 * file path or key *name*: never from the key, the password or a decrypted byte,
 * so an error can be logged or printed as it is.
 */
import { InputError } from '../core/errors.ts';

/** Stable codes; callers branch on these, never on message text. */
export const KEYSTORE_ERROR_CODES = [
  'MASTER_PASSWORD_MISSING',
  'KEYSTORE_DECRYPT_FAILED',
  'KEYSTORE_CORRUPT',
  'KEYSTORE_PERMISSIONS',
  'KEY_NAME_INVALID',
  'KEY_VALUE_INVALID',
  'KEY_NOT_FOUND',
] as const;
export type KeystoreErrorCode = (typeof KEYSTORE_ERROR_CODES)[number];

/**
 * A keystore problem the user must fix (password, file, name): an {@link InputError},
 * so never retried.
 *
 * @example
 * try { await store.get('openai') } catch (e) {
 *   if (e instanceof KeystoreError && e.code === 'KEYSTORE_DECRYPT_FAILED') askForPasswordAgain();
 * }
 */
export class KeystoreError extends InputError {
  declare readonly code: KeystoreErrorCode;
  /**
   * @param cause only ever a non-secret error (a file-system error, say): a decryption
   * or plaintext-parsing error may quote what it failed on, so those are never attached.
   */
  constructor(code: KeystoreErrorCode, message: string, cause?: unknown) {
    super(message, { code, cause });
  }
}

export const masterPasswordMissing = (): KeystoreError =>
  new KeystoreError(
    'MASTER_PASSWORD_MISSING',
    'KOUBOU_MASTER_PASSWORD is not set: the keystore is encrypted with it. ' +
      'Set it for this shell without leaving it in your history, e.g. `read -rs KOUBOU_MASTER_PASSWORD && export KOUBOU_MASTER_PASSWORD`',
  );

export const decryptFailed = (file: string): KeystoreError =>
  new KeystoreError(
    'KEYSTORE_DECRYPT_FAILED',
    `cannot decrypt ${file}: wrong KOUBOU_MASTER_PASSWORD, or the keystore file was modified`,
  );

export const corrupt = (file: string, why: string, cause?: unknown): KeystoreError =>
  new KeystoreError('KEYSTORE_CORRUPT', `the keystore ${file} is corrupt (${why}); restore it or delete it and set the keys again`, cause);

export const loosePermissions = (file: string, mode: number): KeystoreError =>
  new KeystoreError(
    'KEYSTORE_PERMISSIONS',
    `refusing to use ${file}: its mode is ${(mode & 0o777).toString(8).padStart(3, '0')}, readable or writable by others; ` +
      `run \`chmod 600 ${file}\``,
  );
