/**
 * Named API keys in one encrypted file, so that they need not sit in a shell
 * profile or `.env` in plain text. Keys never leave this class except as the
 * return value of {@link Keystore.get}: not in errors, not in logs.
 */
import { existsSync } from 'node:fs';
import { mkdir, open as openFile, rename, unlink, type FileHandle } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { deriveKey, newKdf, parseEnvelope, seal, unseal, type KdfParams } from './envelope.ts';
import { corrupt, KeystoreError, loosePermissions, masterPasswordMissing } from './errors.ts';

export interface KeystoreOptions {
  /** The keystore file. Default: `$KOUBOU_KEYSTORE`, else `~/.config/koubou/keys.enc`. */
  file?: string;
  /** Where `KOUBOU_KEYSTORE` and `KOUBOU_MASTER_PASSWORD` are read. Default: `process.env`. */
  env?: NodeJS.ProcessEnv;
}

/**
 * The keystore file koubou uses when no option names one.
 *
 * @example
 * defaultKeystorePath({ KOUBOU_KEYSTORE: '/tmp/k.enc' }); // '/tmp/k.enc'
 * defaultKeystorePath({});                              // '/home/me/.config/koubou/keys.enc'
 */
export function defaultKeystorePath(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.KOUBOU_KEYSTORE || join(homedir(), '.config', 'koubou', 'keys.enc'));
}

/**
 * Short, lowercase names. The 32-character cap is deliberate: someone who pastes the
 * key where the name goes (`koubou keys set sk-proj-…`) gets a refusal instead of a
 * key stored, and listed, under its own value. Messages never echo a rejected name.
 */
const NAME = /^[a-z0-9][a-z0-9._-]{0,31}$/;

/** Decrypted contents. A null-prototype record, so no name can reach `Object.prototype`. */
type Keys = Record<string, string>;

/**
 * An AES-256-GCM encrypted file of named API keys, unlocked by `KOUBOU_MASTER_PASSWORD`.
 *
 * @example
 * const store = new Keystore();              // ~/.config/koubou/keys.enc
 * await store.set('openai', 'sk-…');
 * await store.get('openai');                 // 'sk-…'
 * await store.list();                        // ['openai']
 * await store.delete('openai');              // true
 */
export class Keystore {
  readonly file: string;
  readonly #env: NodeJS.ProcessEnv;
  /** The derived key of the last file read or written: scrypt is deliberately slow (~150 ms). */
  #cache: { password: string; kdf: KdfParams; key: Buffer } | undefined;

  constructor(options: KeystoreOptions = {}) {
    this.#env = options.env ?? process.env;
    this.file = options.file ? resolve(options.file) : defaultKeystorePath(this.#env);
  }

  /** Whether the keystore file exists (no password needed). */
  exists(): boolean {
    return existsSync(this.file);
  }

  /**
   * Stores (or replaces) a key. Creates the file, mode 600, and its directory, mode 700.
   *
   * @throws KeystoreError `KEY_NAME_INVALID`, `KEY_VALUE_INVALID`, `MASTER_PASSWORD_MISSING`, and any error of {@link get}.
   */
  async set(name: string, value: string): Promise<void> {
    assertKeyName(name);
    if (value.length === 0) throw new KeystoreError('KEY_VALUE_INVALID', `the key for "${name}" is empty`);
    // A line break or control character is a copy-paste accident, never part of an API key.
    if (/[\p{Cc}\p{Zl}\p{Zp}]/u.test(value)) {
      throw new KeystoreError('KEY_VALUE_INVALID', `the key for "${name}" contains a line break or control character`);
    }
    const current = await this.#read();
    const keys = current?.keys ?? (Object.create(null) as Keys);
    keys[name] = value;
    await this.#write(current?.kdf ?? newKdf(), keys);
  }

  /**
   * The key stored under `name`, or `null` when there is none (or no file).
   *
   * @throws KeystoreError `MASTER_PASSWORD_MISSING`, `KEYSTORE_DECRYPT_FAILED`, `KEYSTORE_CORRUPT`, `KEYSTORE_PERMISSIONS`.
   */
  async get(name: string): Promise<string | null> {
    assertKeyName(name);
    const current = await this.#read();
    return current?.keys[name] ?? null;
  }

  /** Names of the stored keys, sorted; never their values. Names are encrypted too, so an existing file needs the password. */
  async list(): Promise<string[]> {
    const current = await this.#read();
    return current ? Object.keys(current.keys).sort() : [];
  }

  /** Removes a key; `false` if there was none. The file (and its salt) stays, even when empty. */
  async delete(name: string): Promise<boolean> {
    assertKeyName(name);
    const current = await this.#read();
    if (!current || !Object.hasOwn(current.keys, name)) return false;
    delete current.keys[name];
    await this.#write(current.kdf, current.keys);
    return true;
  }

  /**
   * Throws what {@link set} would for the password or the file, without changing
   * anything: lets a command fail before the user types a key, not after.
   */
  async check(): Promise<void> {
    this.#password();
    await this.#read();
  }

  #password(): string {
    const password = this.#env.KOUBOU_MASTER_PASSWORD;
    if (!password) throw masterPasswordMissing();
    return password;
  }

  async #key(kdf: KdfParams): Promise<Buffer> {
    const password = this.#password();
    const c = this.#cache;
    if (c && c.password === password && c.kdf.salt === kdf.salt && c.kdf.N === kdf.N && c.kdf.r === kdf.r && c.kdf.p === kdf.p) {
      return c.key;
    }
    const key = await deriveKey(password, kdf);
    this.#cache = { password, kdf, key };
    return key;
  }

  /** Reads and decrypts the file; `null` when it does not exist. */
  async #read(): Promise<{ kdf: KdfParams; keys: Keys } | null> {
    let fh: FileHandle;
    try {
      fh = await openFile(this.file, 'r');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
    let text: string;
    try {
      // Checked on the open handle, not the path, so the file cannot be swapped in between.
      const st = await fh.stat();
      if (!st.isFile()) throw corrupt(this.file, 'not a regular file');
      if (process.platform !== 'win32' && (st.mode & 0o077) !== 0) throw loosePermissions(this.file, st.mode);
      text = await fh.readFile('utf8');
    } finally {
      await fh.close();
    }
    const envelope = parseEnvelope(text, this.file);
    const plaintext = unseal(await this.#key(envelope.kdf), envelope, this.file);
    return { kdf: envelope.kdf, keys: parseKeys(plaintext, this.file) };
  }

  /** Encrypts with a fresh IV and replaces the file atomically: a crash leaves the old file or the new one. */
  async #write(kdf: KdfParams, keys: Keys): Promise<void> {
    const key = await this.#key(kdf);
    const json = `${JSON.stringify(seal(key, kdf, Buffer.from(JSON.stringify({ keys }), 'utf8')))}\n`;
    const dir = dirname(this.file);
    // Only directories created here get 700; a directory the user chose is theirs to set.
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const tmp = join(dir, `.${basename(this.file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
    // 'wx' fails rather than follow a planted symlink; mode 600 from creation, never briefly wider.
    const fh = await openFile(tmp, 'wx', 0o600);
    try {
      try {
        await fh.writeFile(json, 'utf8');
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, this.file);
    } catch (e) {
      await unlink(tmp).catch(() => undefined);
      throw e;
    }
    await syncDir(dir);
  }
}

/**
 * Throws `KEY_NAME_INVALID` unless `name` is a valid key name. Lets a command check
 * the name before asking for the key.
 *
 * @example
 * assertKeyName('openai'); // ok
 * assertKeyName('OpenAI'); // throws KeystoreError KEY_NAME_INVALID
 */
export function assertKeyName(name: string): void {
  if (!NAME.test(name)) {
    throw new KeystoreError(
      'KEY_NAME_INVALID',
      'a key name is 1–32 characters: lowercase letters, digits, ".", "_" or "-", starting with a letter or digit (e.g. openai)',
    );
  }
}

/** The decrypted JSON. Its parse errors would quote key material, so none is passed on. */
function parseKeys(plaintext: Buffer, file: string): Keys {
  let parsed: unknown;
  try {
    parsed = JSON.parse(plaintext.toString('utf8'));
  } catch {
    throw corrupt(file, 'decrypted contents are not valid JSON');
  }
  const raw = (parsed as { keys?: unknown } | null)?.keys;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw corrupt(file, 'decrypted contents have no keys object');
  const keys = Object.create(null) as Keys;
  for (const [name, value] of Object.entries(raw)) {
    if (typeof value !== 'string') throw corrupt(file, 'a stored key is not a string');
    keys[name] = value;
  }
  return keys;
}

/** Makes the rename durable. Not every platform can open a directory; there it is skipped. */
async function syncDir(dir: string): Promise<void> {
  try {
    const d = await openFile(dir, 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  } catch {
    // Durability of the rename only; the data itself was already synced.
  }
}
