import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError } from '../src/core/errors.ts';
import { Keystore, KeystoreError, resolveApiKey } from '../src/keys/index.ts';

const root = mkdtempSync(join(tmpdir(), 'koubou-keys-'));
let n = 0;
afterAll(() => rmSync(root, { recursive: true, force: true }));
const fresh = () => join(root, `case-${++n}`, 'keys.enc');
// Built at run time so that no key-shaped literal sits in the repository.
const KEY = ['sk', 'proj', 'T3stK3y', 'x'.repeat(20)].join('-');
const PASSWORD = 'correct horse battery staple';
const env = (extra: Record<string, string> = {}) => ({ KOUBOU_MASTER_PASSWORD: PASSWORD, ...extra });

async function caught(p: Promise<unknown>): Promise<KeystoreError> {
  const e = await p.then(() => undefined, (err: unknown) => err);
  expect(e).toBeInstanceOf(KeystoreError);
  const err = e as KeystoreError;
  // No error ever carries the key or the password, in its message or its cause.
  expect(err.message).not.toContain(KEY);
  expect(err.message).not.toContain(PASSWORD);
  expect(String(err.cause ?? '')).not.toContain(KEY);
  return err;
}

async function storeWithKey(): Promise<{ file: string; store: Keystore }> {
  const file = fresh();
  const store = new Keystore({ file, env: env() });
  await store.set('openai', KEY);
  return { file, store };
}

/** Rewrites one field of the file's JSON, as someone with write access to it could. */
function tamper(file: string, change: (json: Record<string, any>) => void): void {
  const json = JSON.parse(readFileSync(file, 'utf8'));
  change(json);
  writeFileSync(file, JSON.stringify(json), { mode: 0o600 });
}
const flipFirstByte = (b64: string): string => {
  const b = Buffer.from(b64, 'base64');
  b[0] = b[0]! ^ 0x01;
  return b.toString('base64');
};

describe('Keystore', () => {
  it('round-trips keys: set, get, list (names only, sorted), delete', async () => {
    const { file } = await storeWithKey();
    const store = new Keystore({ file, env: env() }); // a new instance: nothing cached
    await store.set('anthropic', 'other-value');
    expect(await store.get('openai')).toBe(KEY);
    expect(await store.list()).toEqual(['anthropic', 'openai']);
    expect(await store.delete('anthropic')).toBe(true);
    expect(await store.delete('anthropic')).toBe(false);
    expect(await new Keystore({ file, env: env() }).list()).toEqual(['openai']);
    expect(await store.get('missing')).toBeNull();
  });

  it('answers "nothing" for a file that does not exist yet', async () => {
    const store = new Keystore({ file: fresh(), env: env() });
    expect(store.exists()).toBe(false);
    expect(await store.get('openai')).toBeNull();
    expect(await store.list()).toEqual([]);
  });

  it('writes the file with mode 600 in a new directory with mode 700, leaving no temp files', async () => {
    const { file, store } = await storeWithKey();
    await store.set('openai', `${KEY}2`);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(file, '..')).mode & 0o777).toBe(0o700);
    expect(readdirSync(join(file, '..'))).toEqual(['keys.enc']);
  });

  it('stores the documented format, never the key in plain text, with a fresh IV per write and one salt per file', async () => {
    const { file, store } = await storeWithKey();
    const first = readFileSync(file, 'utf8');
    expect(first).not.toContain(KEY);
    expect(first).not.toContain(Buffer.from(KEY).toString('base64'));
    const a = JSON.parse(first);
    expect(a).toMatchObject({ v: 1, kdf: { name: 'scrypt', N: 2 ** 15, r: 8, p: 1 } });
    expect(Buffer.from(a.kdf.salt, 'base64')).toHaveLength(16);
    expect(Buffer.from(a.iv, 'base64')).toHaveLength(12);
    expect(Buffer.from(a.tag, 'base64')).toHaveLength(16);
    await store.set('openai', KEY); // same contents again
    const b = JSON.parse(readFileSync(file, 'utf8'));
    expect(b.kdf.salt).toBe(a.kdf.salt);
    expect(b.iv).not.toBe(a.iv);
    expect(b.ciphertext).not.toBe(a.ciphertext);
  });

  it('refuses a wrong password with KEYSTORE_DECRYPT_FAILED', async () => {
    const { file } = await storeWithKey();
    const err = await caught(new Keystore({ file, env: { KOUBOU_MASTER_PASSWORD: 'wrong' } }).get('openai'));
    expect(err.code).toBe('KEYSTORE_DECRYPT_FAILED');
    expect(err.message).toMatch(/wrong KOUBOU_MASTER_PASSWORD, or the keystore file was modified/);
    expect(err).toBeInstanceOf(InputError);
  });

  it.each([
    ['ciphertext', (j: Record<string, any>) => { j.ciphertext = flipFirstByte(j.ciphertext); }],
    ['tag', (j: Record<string, any>) => { j.tag = flipFirstByte(j.tag); }],
    ['salt', (j: Record<string, any>) => { j.kdf.salt = flipFirstByte(j.kdf.salt); }],
    ['iv', (j: Record<string, any>) => { j.iv = flipFirstByte(j.iv); }],
    ['kdf parameters', (j: Record<string, any>) => { j.kdf.N = 2 ** 16; }],
  ])('detects a tampered %s as KEYSTORE_DECRYPT_FAILED', async (_what, change) => {
    const { file } = await storeWithKey();
    tamper(file, change);
    expect((await caught(new Keystore({ file, env: env() }).get('openai'))).code).toBe('KEYSTORE_DECRYPT_FAILED');
  });

  it('calls a file that is not the format KEYSTORE_CORRUPT, naming the file', async () => {
    const file = fresh();
    await new Keystore({ file, env: env() }).set('openai', KEY);
    writeFileSync(file, '{"v":1, "kdf": ', { mode: 0o600 });
    const err = await caught(new Keystore({ file, env: env() }).list());
    expect(err.code).toBe('KEYSTORE_CORRUPT');
    expect(err.message).toContain(file);
  });

  it('refuses KDF parameters that would hang or exhaust memory', async () => {
    const { file } = await storeWithKey();
    tamper(file, (j) => { j.kdf.N = 2 ** 30; });
    expect((await caught(new Keystore({ file, env: env() }).list())).code).toBe('KEYSTORE_CORRUPT');
  });

  it('refuses a file readable by others with KEYSTORE_PERMISSIONS, naming the file and chmod 600', async () => {
    const { file } = await storeWithKey();
    chmodSync(file, 0o644);
    const err = await caught(new Keystore({ file, env: env() }).get('openai'));
    expect(err.code).toBe('KEYSTORE_PERMISSIONS');
    expect(err.message).toContain(file);
    expect(err.message).toContain(`chmod 600 ${file}`);
  });

  it('needs KOUBOU_MASTER_PASSWORD and says how to set it', async () => {
    const err = await caught(new Keystore({ file: fresh(), env: {} }).set('openai', KEY));
    expect(err.code).toBe('MASTER_PASSWORD_MISSING');
    expect(err.message).toMatch(/KOUBOU_MASTER_PASSWORD is not set.*export KOUBOU_MASTER_PASSWORD/);
  });

  it('rejects bad names and values without echoing them', async () => {
    const store = new Keystore({ file: fresh(), env: env() });
    const asName = await caught(store.set(KEY, 'x')); // the key pasted where the name goes
    expect(asName.code).toBe('KEY_NAME_INVALID');
    expect((await caught(store.set('openai', `${KEY}\nsecond line`))).code).toBe('KEY_VALUE_INVALID');
    expect((await caught(store.set('openai', ''))).code).toBe('KEY_VALUE_INVALID');
    expect(store.exists()).toBe(false);
  });

  it('takes its file from KOUBOU_KEYSTORE when no option names one', async () => {
    const file = fresh();
    await new Keystore({ env: env({ KOUBOU_KEYSTORE: file }) }).set('openai', KEY);
    expect(new Keystore({ env: env({ KOUBOU_KEYSTORE: file }) }).file).toBe(file);
    expect(await new Keystore({ file, env: env() }).get('openai')).toBe(KEY);
  });
});

describe('resolveApiKey', () => {
  it('prefers OPENAI_API_KEY from the environment over the keystore', async () => {
    const { file } = await storeWithKey();
    expect(await resolveApiKey('openai', env({ KOUBOU_KEYSTORE: file, OPENAI_API_KEY: 'from-env' }))).toBe('from-env');
  });

  it('reads the keystore when the file exists and the password is set', async () => {
    const { file } = await storeWithKey();
    expect(await resolveApiKey('openai', env({ KOUBOU_KEYSTORE: file, OPENAI_API_KEY: '' }))).toBe(KEY);
    expect(await resolveApiKey('openai', env(), { keystoreFile: file })).toBe(KEY);
  });

  it('is null without a key in the environment and without a usable keystore', async () => {
    const { file } = await storeWithKey();
    expect(await resolveApiKey('openai', { KOUBOU_KEYSTORE: file })).toBeNull(); // no password
    expect(await resolveApiKey('openai', env({ KOUBOU_KEYSTORE: fresh() }))).toBeNull(); // no file
    const other = new Keystore({ file: fresh(), env: env() });
    await other.set('anthropic', 'x');
    expect(await resolveApiKey('openai', env({ KOUBOU_KEYSTORE: other.file }))).toBeNull(); // no such key
  });

  it('throws instead of returning null when the keystore exists but will not open', async () => {
    const { file } = await storeWithKey();
    const err = await caught(resolveApiKey('openai', { KOUBOU_KEYSTORE: file, KOUBOU_MASTER_PASSWORD: 'wrong' }));
    expect(err.code).toBe('KEYSTORE_DECRYPT_FAILED');
  });
});
