/**
 * The keystore's on-disk format and its cryptography: AES-256-GCM under a key
 * derived from the master password with scrypt. Pure functions of bytes and
 * passwords; file handling lives in `Keystore.ts`.
 */
import { createCipheriv, createDecipheriv, randomBytes, scrypt as scryptCb } from 'node:crypto';
import { promisify } from 'node:util';
import { corrupt, decryptFailed } from './errors.ts';

const scrypt = promisify(scryptCb) as (password: string, salt: Buffer, keylen: number, options: object) => Promise<Buffer>;

export interface KdfParams {
  name: 'scrypt';
  N: number;
  r: number;
  p: number;
  /** base64, 16 random bytes chosen when the file is created. */
  salt: string;
}

/** The JSON written to disk. Binary fields are base64. */
export interface Envelope {
  v: 1;
  kdf: KdfParams;
  iv: string;
  tag: string;
  ciphertext: string;
}

/**
 * Parameters for new files: OWASP's scrypt minimum (N=2^15, r=8, p=1), about 32 MiB
 * and ~150 ms per derivation — slow for a password guesser, unnoticed by a person.
 */
export const DEFAULT_KDF = { N: 2 ** 15, r: 8, p: 1 } as const;

// Bounds for parameters read from a file. Anyone able to edit the file could
// otherwise set N=2^40 and make every later command hang or run out of memory; a
// weaker N gains them nothing (the derived key no longer decrypts) but is refused too.
const MIN_LOG_N = 15;
const MAX_LOG_N = 20;
const MAX_R = 32;
const MAX_P = 16;

/** Derives the 256-bit AES key. scrypt needs 128·N·r bytes, above Node's 32 MiB default `maxmem`. */
export function deriveKey(password: string, kdf: Omit<KdfParams, 'name'>): Promise<Buffer> {
  const { N, r, p } = kdf;
  return scrypt(password, Buffer.from(kdf.salt, 'base64'), 32, { N, r, p, maxmem: 256 * N * r + 1024 * 1024 });
}

export const newKdf = (): KdfParams => ({ name: 'scrypt', ...DEFAULT_KDF, salt: randomBytes(16).toString('base64') });

/**
 * Authenticated with the ciphertext (GCM additional data), so a change to the
 * version or KDF parameters is caught as tampering even where it would not change
 * the derived key.
 */
const header = (kdf: KdfParams): Buffer => Buffer.from(JSON.stringify({ v: 1, kdf: [kdf.name, kdf.N, kdf.r, kdf.p, kdf.salt] }));

/** Encrypts `plaintext` with a fresh 12-byte IV: GCM is broken by IV reuse under one key. */
export function seal(key: Buffer, kdf: KdfParams, plaintext: Buffer): Envelope {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(header(kdf));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return {
    v: 1,
    kdf,
    iv: iv.toString('base64'),
    tag: cipher.getAuthTag().toString('base64'),
    ciphertext: ciphertext.toString('base64'),
  };
}

/**
 * Decrypts and authenticates. Any failure — wrong key, or a changed byte anywhere
 * in the IV, tag, ciphertext or header — is `KEYSTORE_DECRYPT_FAILED`: GCM cannot
 * tell the two apart, and neither should the message.
 */
export function unseal(key: Buffer, env: Envelope, file: string): Buffer {
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(env.iv, 'base64'), { authTagLength: 16 });
    decipher.setAAD(header(env.kdf));
    decipher.setAuthTag(Buffer.from(env.tag, 'base64'));
    return Buffer.concat([decipher.update(Buffer.from(env.ciphertext, 'base64')), decipher.final()]);
  } catch {
    throw decryptFailed(file);
  }
}

const isB64 = (s: unknown, bytes?: number): s is string =>
  typeof s === 'string' && /^[A-Za-z0-9+/]*={0,2}$/.test(s) && (bytes === undefined || Buffer.from(s, 'base64').length === bytes);

const isPow2 = (n: number): boolean => Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;

/**
 * Parses and validates the file's JSON. Shape errors are `KEYSTORE_CORRUPT`; a
 * well-formed file with wrong bytes is left for {@link unseal} to reject.
 */
export function parseEnvelope(text: string, file: string): Envelope {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    // The file holds only ciphertext, but the parser's message quotes it; keep it out.
    throw corrupt(file, 'not valid JSON');
  }
  const e = raw as Partial<Envelope> | null;
  if (typeof e !== 'object' || e === null) throw corrupt(file, 'not a JSON object');
  if (e.v !== 1) throw corrupt(file, 'not format version 1');
  const k = e.kdf as Partial<KdfParams> | undefined;
  if (typeof k !== 'object' || k === null || k.name !== 'scrypt') throw corrupt(file, 'kdf is not scrypt');
  const { N, r, p } = k;
  if (typeof N !== 'number' || !isPow2(N) || N < 2 ** MIN_LOG_N || N > 2 ** MAX_LOG_N) throw corrupt(file, 'kdf.N out of range');
  if (typeof r !== 'number' || !Number.isInteger(r) || r < 8 || r > MAX_R) throw corrupt(file, 'kdf.r out of range');
  if (typeof p !== 'number' || !Number.isInteger(p) || p < 1 || p > MAX_P) throw corrupt(file, 'kdf.p out of range');
  if (!isB64(k.salt, 16)) throw corrupt(file, 'kdf.salt is not 16 base64 bytes');
  if (!isB64(e.iv, 12)) throw corrupt(file, 'iv is not 12 base64 bytes');
  if (!isB64(e.tag, 16)) throw corrupt(file, 'tag is not 16 base64 bytes');
  if (!isB64(e.ciphertext)) throw corrupt(file, 'ciphertext is not base64');
  return { v: 1, kdf: { name: 'scrypt', N, r, p, salt: k.salt }, iv: e.iv, tag: e.tag, ciphertext: e.ciphertext };
}
