/**
 * Credentials assigned in code, config and prose: `password = "hunter2"`,
 * `DB_PASSWORD=s3cr3t`, `"api_key": "…"`, `password: hunter2`, `--password hunter2`.
 *
 * A regex for "secret-like name, operator, literal" would have to be tried at every
 * identifier start (measured: 15+ ms per MB). Instead every `=` and `:` is found with
 * `indexOf` (the fastest search V8 has), the name before it is read backwards and
 * checked for a secret word, and only then is the value parsed. The parser tells a
 * literal from a reference (`process.env.X`, `getenv(…)`, `${VAR}`, a TypeScript type)
 * and from placeholders.
 */
import { shannonEntropy } from './entropy.ts';
import { isPlaceholder } from './placeholders.ts';
import { classifyName, isPasswordName, nameWords } from './secretNames.ts';
import { completeSite, flagAt, isLiteral, nameAt, readAssignedValue, type AssignmentSite, type ParsedValue } from './valueParser.ts';

/** Where an assignment was found and what it is. */
export interface AssignmentFinding {
  category: 'credential' | 'high_entropy_secret';
  rule: 'assignment' | 'high_entropy_assignment';
  /** Offset of the name. */
  offset: number;
}

/** Source extensions whose bare words are references, not literals. */
const CODE_EXTENSIONS = new Set([
  'ts', 'tsx', 'mts', 'cts', 'js', 'jsx', 'mjs', 'cjs', 'py', 'go', 'rs', 'java', 'kt', 'kts', 'scala',
  'cs', 'fs', 'rb', 'php', 'swift', 'c', 'h', 'cc', 'cpp', 'hpp', 'cxx', 'm', 'mm', 'dart', 'lua',
  'ex', 'exs', 'erl', 'clj', 'hs', 'ml', 'vue', 'svelte', 'groovy', 'pl', 'r', 'jl', 'zig', 'nim',
]);

/**
 * True when `source` is a path to program code (where `password = userPassword` is a
 * variable, not a literal). The prompt and config files (`.env`, YAML, INI) are not.
 *
 * @example
 * ```ts
 * isCodeSource('src/db.ts'); // true
 * isCodeSource('.env');      // false
 * ```
 */
export function isCodeSource(source: string): boolean {
  const base = source.slice(source.lastIndexOf('/') + 1);
  const dot = base.lastIndexOf('.');
  return dot > 0 && CODE_EXTENSIONS.has(base.slice(dot + 1).toLowerCase());
}

/** A value made of plain lowercase words (`required`, `my-client-secret`) is prose, not a key. */
const PLAIN_WORDS = /^[a-z]+(?:[_\-. ][a-z]+)*$/;
/** Charset of encoded secrets (base64, base64url, hex). Paths and URLs fall outside it. */
const TOKEN_CHARSET = /^[A-Za-z0-9+/=_-]+$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** An absolute path (`/etc/keys/app.pem`), not base64 that happens to open with `/` (`/OEq+k9…`). */
const isPath = (v: string): boolean => v.startsWith('/') && /^[\w.\-/~]+$/.test(v);

/**
 * True when a literal assigned to a `secret` name is a credential.
 *
 * @example
 * ```ts
 * isCredentialValue('password', { text: 'hunter2', quoted: true, end: 0 }); // true
 * isCredentialValue('api_key', { text: 'required', quoted: true, end: 0 });  // false
 * ```
 */
export function isCredentialValue(name: string, value: ParsedValue): boolean {
  const v = value.text;
  if (isPlaceholder(v)) return false;
  if (/\s/.test(v) && !nameWords(name).includes('passphrase')) return false; // UI text, messages
  if (isPasswordName(name)) return v.length >= 4;
  return v.length >= 8 && !PLAIN_WORDS.test(v) && !isPath(v);
}

/** True when a literal on a `secretish` name (or a `secret` one the rule above let go) is random-looking. */
function isHighEntropyValue(value: ParsedValue, threshold: number): boolean {
  const v = value.text;
  return (
    v.length >= 16 &&
    v.length <= 512 &&
    TOKEN_CHARSET.test(v) &&
    /\d/.test(v) &&
    /[A-Za-z]/.test(v) &&
    !isPath(v) &&
    !UUID.test(v) &&
    !isPlaceholder(v) &&
    shannonEntropy(v) > threshold
  );
}

/** What {@link scanAssignments} found. */
export interface AssignmentScan {
  findings: AssignmentFinding[];
  /** Every literal assigned to a secret-like name, flagged or not: name and its offset. */
  candidates: { name: string; offset: number }[];
}

/** Visits every `=` and `:` in `text`, in order, through two `indexOf` cursors. */
function forEachOperator(text: string, visit: (p: number) => void): void {
  let eq = text.indexOf('=');
  let colon = text.indexOf(':');
  while (eq !== -1 || colon !== -1) {
    if (colon === -1 || (eq !== -1 && eq < colon)) {
      visit(eq);
      eq = text.indexOf('=', eq + 1);
    } else {
      visit(colon);
      colon = text.indexOf(':', colon + 1);
    }
  }
}

/**
 * Finds credential assignments in `text`.
 *
 * @param isCode - whether `text` is program code (see {@link isCodeSource}).
 * @param entropyThreshold - bits/char above which a value on a secret-like name is flagged.
 *
 * @example
 * ```ts
 * scanAssignments('DB_PASSWORD=s3cr3t\n', false, 3.5).findings;
 * // [{ category: 'credential', rule: 'assignment', offset: 0 }]
 * ```
 */
export function scanAssignments(text: string, isCode: boolean, entropyThreshold: number): AssignmentScan {
  const findings: AssignmentFinding[] = [];
  const candidates: AssignmentScan['candidates'] = [];
  // Operators inside a value already read (`url: https://…`, `a=b=c`) belong to it.
  let consumedUntil = 0;
  const check = (at: AssignmentSite | undefined): void => {
    if (at === undefined) return;
    const name = text.slice(at.nameStart, at.identEnd);
    const kind = classifyName(name);
    if (kind === 'none') return;
    const value = readAssignedValue(text, at);
    if (value === undefined) return;
    consumedUntil = value.end;
    if (!isLiteral(text, at, value, isCode)) return;
    candidates.push({ name, offset: at.nameStart });
    if (kind === 'secret' && isCredentialValue(name, value)) {
      findings.push({ category: 'credential', rule: 'assignment', offset: at.nameStart });
    } else if (isHighEntropyValue(value, entropyThreshold)) {
      findings.push({ category: 'high_entropy_secret', rule: 'high_entropy_assignment', offset: at.nameStart });
    }
  };
  forEachOperator(text, (p) => {
    if (p < consumedUntil) return;
    const name = nameAt(text, p);
    if (name !== undefined) check(completeSite(text, name));
  });
  consumedUntil = 0;
  for (let p = text.indexOf('--'); p !== -1; p = text.indexOf('--', p + 2)) if (p >= consumedUntil) check(flagAt(text, p));
  return { findings, candidates };
}
