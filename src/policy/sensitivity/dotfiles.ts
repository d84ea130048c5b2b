/**
 * Dotfile formats that no `name = value` rule sees:
 * - `~/.pgpass` lines, `hostname:port:database:username:password` (PostgreSQL manual,
 *   "The Password File"), pasted anywhere: in the file itself, a prompt, a script;
 * - key files that hold nothing but the key: Rails' `config/master.key` and
 *   `config/credentials/*.key`, and any `*.key` file whose whole content is one
 *   random-looking token (a PEM `*.key` is the private-key rule's).
 *
 * - `.netrc` entries (`machine … login … password …`);
 * - `user:password` in base64, as Docker's `config.json` (`"auth": "…"`) and `.npmrc`
 *   (`_auth=…`) keep it: short passwords make it too short for the entropy rule.
 *
 * `.my.cnf`, `.npmrc`, `.pypirc` and `.git-credentials` need no other rule: their
 * `password=`, `_authToken=`, `_password=` lines and `https://user:token@host`
 * URLs are assignments, phrases and connection strings (assignments.ts, rules.ts), and
 * secretlint's npm rule reads `.npmrc`.
 *
 * The .pgpass scan looks at each `:` for a port field (`:5432:` or `:*:`) with character
 * reads only; a regex anchored at line starts would cost 1–2 ms per MB on its own.
 */
import type { PatternRule } from './patternRule.ts';
import { isPlaceholder } from './placeholders.ts';

/** One finding of this module: where, and what. */
export interface DotfileFinding {
  category: 'credential';
  rule: 'pgpass_line' | 'key_file';
  offset: number;
}

const PGPASS_LINE = /^([^\s:#][^\s:]{0,252}):(?:\d{1,5}|\*):([^\s:]{1,63}):([^\s:]{1,63}):(\S{1,256})$/;
/** The manual's own field names, as in `hostname:port:database:username:password`. */
const FIELD_NAMES = /^(?:host(?:name)?|database|user(?:name)?|password)$/i;

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** True when a `:` at `p` opens a port field: `:*:` or `:` 1–5 digits `:`. */
function portFieldAt(text: string, p: number): boolean {
  if (text.charCodeAt(p + 1) === 42) return text.charCodeAt(p + 2) === 58;
  let i = p + 1;
  while (i - p <= 5 && isDigit(text.charCodeAt(i))) i++;
  return i > p + 1 && text.charCodeAt(i) === 58;
}

/** Offsets of the `.pgpass` lines of `text` that hold a password. */
function pgpassLines(text: string): number[] {
  const found: number[] = [];
  for (let p = text.indexOf(':'); p !== -1; p = text.indexOf(':', p + 1)) {
    if (!portFieldAt(text, p)) continue;
    const start = text.lastIndexOf('\n', p) + 1;
    const newline = text.indexOf('\n', p);
    const end = newline === -1 ? text.length : newline;
    const line = PGPASS_LINE.exec(text.slice(start, end).replace(/\r$/, ''));
    const [, host = '', database = '', user = '', password = ''] = line ?? [];
    if (line !== null && password.length >= 4 && [host, database, user, password].filter((f) => FIELD_NAMES.test(f)).length < 2 && !isPlaceholder(password)) {
      found.push(start);
    }
    if (newline === -1) break;
    p = newline;
  }
  return found;
}

const KEY_FILE = /(?:^|\/)(?:master\.key|[^/]*\.key)$/;
const BARE_TOKEN = /^[A-Za-z0-9+/=_-]{16,512}$/;

/**
 * Findings of the dotfile formats in `text`, attached as `source`.
 *
 * @example
 * ```ts
 * scanDotfiles('db:5432:app:app:' + 'S3cret!pw', '.pgpass'); // [{ category: 'credential', rule: 'pgpass_line', offset: 0 }]
 * ```
 */
export function scanDotfiles(text: string, source: string): DotfileFinding[] {
  const findings: DotfileFinding[] = pgpassLines(text).map((offset) => ({ category: 'credential', rule: 'pgpass_line', offset }));
  if (KEY_FILE.test(source)) {
    const body = text.trim();
    if (BARE_TOKEN.test(body) && /\d/.test(body) && /[A-Za-z]/.test(body) && !isPlaceholder(body)) {
      findings.push({ category: 'credential', rule: 'key_file', offset: text.indexOf(body) });
    }
  }
  return findings;
}

/** True when `encoded` is base64 of `user:password` with a real password. */
function isBasicCredentials(encoded: string): boolean {
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 1 || !/^[\x20-\x7e]+$/.test(decoded)) return false;
  const password = decoded.slice(colon + 1);
  return password.length >= 3 && !isPlaceholder(password) && !/^\$\{?\w+\}?$/.test(password);
}

/**
 * @example
 * ```ts
 * new RuleSet(DOTFILE_RULES).run('{"auth": "' + btoa('ci:' + 'S3cret!') + '"}', report); // credential
 * ```
 */
export const DOTFILE_RULES: PatternRule[] = [
  {
    // `.netrc` (ftp(1), curl): `machine HOST login USER password PASS`, on one line or several.
    name: 'netrc_password',
    category: 'credential',
    keywords: ['machine'],
    anchored: true,
    pattern: /machine[ \t]+\S+(?:\s+(?:login|account|port)[ \t]+\S+){0,3}\s+password[ \t]+(\S+)/y,
    accept: (m) => (m[1] ?? '').length >= 3 && !isPlaceholder(m[1] ?? '') && !/^[$%{<]/.test(m[1] ?? ''),
  },
  {
    name: 'basic_auth_base64',
    category: 'credential',
    keywords: ['"auth"', '_auth'],
    pattern: /(?:"auth"\s*:\s*"|(?<![\w-])_auth\s*=\s*)([A-Za-z0-9+/]{6,}={0,2})/g,
    accept: (m) => isBasicCredentials(m[1] ?? ''),
  },
];
