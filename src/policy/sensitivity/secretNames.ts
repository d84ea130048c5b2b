/**
 * Classifies variable/key names by how likely their value is a secret. Works on the
 * identifier's words (camelCase, snake_case, kebab-case and dotted paths all split) and
 * looks at the LAST word, because that is what the name denotes: `passwordHash`,
 * `tokenCount` and `secretName` hold a hash, a count and a name, not a secret.
 */

/** How much a name says about its value. */
export type NameKind = 'secret' | 'secretish' | 'none';

/** Last words (also matched as the end of one fused word, e.g. `dbpassword`). */
const SECRET_SUFFIXES = [
  'password', 'passwd', 'passphrase', 'secret', 'apikey', 'secretkey', 'accesskey', 'privatekey',
  'authkey', 'authtoken', 'accesstoken', 'refreshtoken', 'apitoken', 'credential', 'credentials',
];
const SECRET_WORDS = new Set(['pwd', 'token', 'pat', 'psk', ...SECRET_SUFFIXES]);

/** `<qualifier> key` names that denote a secret key rather than a map key or a DB key. */
const KEY_QUALIFIERS = new Set([
  'api', 'secret', 'access', 'private', 'auth', 'signing', 'sign', 'encryption', 'encrypt',
  'decryption', 'master', 'client', 'app', 'application', 'license', 'licence', 'session', 'service',
  'account', 'shared', 'hmac', 'consumer', 'subscription', 'storage', 'webhook', 'admin', 'sas',
  'server', 'jwt', 'crypto', 'cipher', 'aes', 'rsa', 'ssh', 'gpg', 'pgp', 'deploy', 'developer',
  'dev', 'live', 'prod', 'production', 'write', 'read', 'root', 'cookie', 'csrf',
]);

/** `<qualifier> token` names that are cursors, parser tokens or cancellation handles. */
const TOKEN_NON_SECRET = new Set([
  'next', 'page', 'continuation', 'cancel', 'cancellation', 'sync', 'start', 'end', 'current',
  'prev', 'previous', 'last', 'first', 'eof', 'lexer', 'parser', 'syntax', 'max', 'min', 'num',
  'count', 'total', 'design', 'color', 'css', 'theme', 'word', 'string', 'stop', 'special', 'bos',
  'eos', 'pad', 'unk', 'sep', 'mask', 'cls', 'injection', 'di', 'provider',
]);

/** As the last word of a name, these make a high-entropy value on it suspect (`cacheKey`, `sessionSalt`). */
const SECRETISH_WORDS = new Set([
  'key', 'keys', 'secret', 'secrets', 'token', 'tokens', 'password', 'pass', 'pwd', 'auth', 'salt',
  'signature', 'credential', 'credentials', 'hmac', 'apikey', 'passphrase',
]);

/**
 * Framework settings whose last word is not the secret's: Rails' and Phoenix's
 * `secret_key_base` (`SECRET_KEY_BASE`, `secretKeyBase`). Matched on the joined words.
 */
const FRAMEWORK_SECRET_NAMES = ['secret_key_base'];

/**
 * Every secret or secretish name ends (ignoring case and trailing digits/separators)
 * in one of these three letters, so the assignment scanner can drop most names after
 * reading three characters, without slicing or lowercasing them.
 */
const SUFFIX_CODES = new Set(
  [...SECRET_WORDS, ...SECRET_SUFFIXES, ...SECRETISH_WORDS, ...FRAMEWORK_SECRET_NAMES].map((w) => {
    const end = w.slice(-3);
    return (end.charCodeAt(0) << 16) | (end.charCodeAt(1) << 8) | end.charCodeAt(2);
  }),
);

function lowerCode(c: number): number {
  return c >= 65 && c <= 90 ? c + 32 : c;
}

/**
 * Quick test on the name ending at `end` in `text`: false means {@link classifyName}
 * would certainly say `none`.
 *
 * @example
 * ```ts
 * mayBeSecretName('DB_PASSWORD_2', 13); // true
 * mayBeSecretName('userName', 8);       // false
 * ```
 */
export function mayBeSecretName(text: string, end: number): boolean {
  let i = end;
  // Trailing digits and separators do not count: `API_KEY_2`.
  for (let c = text.charCodeAt(i - 1); (c >= 48 && c <= 57) || c === 95 || c === 45; c = text.charCodeAt(i - 1)) i--;
  if (i < 3) return false;
  const code = (lowerCode(text.charCodeAt(i - 3)) << 16) | (lowerCode(text.charCodeAt(i - 2)) << 8) | lowerCode(text.charCodeAt(i - 1));
  return SUFFIX_CODES.has(code);
}

/**
 * Splits an identifier into lowercase words.
 *
 * @example
 * ```ts
 * nameWords('DB_PASSWORD');  // ['db', 'password']
 * nameWords('x-api-key');    // ['x', 'api', 'key']
 * nameWords('clientSecret'); // ['client', 'secret']
 * ```
 */
export function nameWords(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w.length > 0 && !/^\d+$/.test(w)); // `API_KEY_2` is still an API key
}

/**
 * `secret` when the name denotes a credential (`password`, `DB_PASSWORD`, `api_key`,
 * `client_secret`, `authToken`), `secretish` when it ends in a word that often holds
 * random material (`cacheKey`, `signingSalt`), else `none` (`passwordHash`, `tokenCount`).
 *
 * @example
 * ```ts
 * classifyName('DB_PASSWORD');    // 'secret'
 * classifyName('nextPageToken');  // 'none' (a pagination cursor)
 * classifyName('sessionSalt');    // 'secretish'
 * ```
 */
export function classifyName(name: string): NameKind {
  let kind = cache.get(name);
  if (kind === undefined) {
    // Names repeat a lot in code; a bounded cache keeps the regex work off the hot path.
    if (cache.size >= CACHE_LIMIT) cache.clear();
    kind = classifyUncached(name);
    cache.set(name, kind);
  }
  return kind;
}

const CACHE_LIMIT = 4096;
const cache = new Map<string, NameKind>();

function classifyUncached(name: string): NameKind {
  const words = nameWords(name);
  const last = words[words.length - 1];
  if (last === undefined) return 'none';
  const prev = words[words.length - 2];
  const joined = words.join('_');
  if (FRAMEWORK_SECRET_NAMES.some((n) => joined.endsWith(n))) return 'secret';
  if (last === 'token' || last.endsWith('token')) {
    const qualifier = last === 'token' ? prev : last.slice(0, -'token'.length);
    if (qualifier !== undefined && TOKEN_NON_SECRET.has(qualifier)) return 'none';
  }
  if (SECRET_WORDS.has(last)) return 'secret';
  if (SECRET_SUFFIXES.some((s) => last.endsWith(s))) return 'secret';
  if (last === 'key' && prev !== undefined && KEY_QUALIFIERS.has(prev)) return 'secret';
  // `DB_PASS`, `pass: "…"`. (Python's no-op `pass` is never followed by `=` or `:`.)
  if (last === 'pass') return 'secret';
  return SECRETISH_WORDS.has(last) ? 'secretish' : 'none';
}

/** True for words that name a password (values may be short and plain). */
export function isPasswordName(name: string): boolean {
  const words = nameWords(name);
  const last = words[words.length - 1] ?? '';
  return /(?:password|passwd|passphrase|pwd|pass)$/.test(last);
}
