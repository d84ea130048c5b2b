/**
 * koubou's own confidential regex rules. They cover what secretlint's recommended preset
 * misses (measured: OpenAI `sk-proj-` keys, bearer tokens, SSNs, card numbers) plus
 * personal data, and they stand alone when secretlint is switched off.
 *
 * Every pattern is linear: literal prefixes where possible, no nested quantifiers over
 * the same characters, and bounded repeats where a later token must be found.
 */
import { CREDENTIAL_PHRASE_RULES } from './credentialPhrases.ts';
import { acceptEmail, EMAIL_DOMAIN } from './email.ts';
import { shannonEntropy } from './entropy.ts';
import { ibanLength, isValidIban } from './iban.ts';
import { isCardNumber } from './luhn.ts';
import type { PatternRule } from './patternRule.ts';
import { isPlaceholder } from './placeholders.ts';
import { isValidSsn } from './ssn.ts';

/** A real key mixes character classes; slugs and prose (`sk-learn-…`) do not. */
const hasUpperLowerDigit = (s: string): boolean => /[A-Z]/.test(s) && /[a-z]/.test(s) && /\d/.test(s);
/** Token-like: a digit, or both cases. Rules out words like `authentication_scheme`. */
const tokenLike = (s: string): boolean => /\d/.test(s) || (/[A-Z]/.test(s) && /[a-z]/.test(s));
const notPlaceholder = (m: RegExpExecArray): boolean => !isPlaceholder(m[0]);
const KNOWN_SK_PREFIXES = /^sk-(?:proj|svcacct|admin|ant)-/;
const KNOWN_AUTH_SCHEMES = new Set(['basic', 'token', 'digest', 'apikey']);

/** An `sk-` key: see the rule's comment for known and unknown sub-prefixes. */
function isSkKey(key: string): boolean {
  if (hasUpperLowerDigit(key)) return true;
  if (KNOWN_SK_PREFIXES.test(key)) return /\d/.test(key) && key.length >= 40;
  const rest = key.replace(/^sk-(?:[a-z]{2,12}-)?/, '');
  const digits = rest.replace(/\D/g, '').length;
  return rest.length >= 32 && digits >= 4 && !/-/.test(rest) && shannonEntropy(rest) >= 3.5;
}

/**
 * Well-known provider key formats; each names the literal prefix it is looked up by.
 *
 * A key whose prefix is in no rule here (a provider not listed, a format not yet
 * announced) is still caught by its context: assigned to a secret-like name in code,
 * `.env` or YAML (assignments.ts: `FOO_API_KEY=…`, `"token": "…"`), after `Bearer` or an
 * `Authorization:` header of any scheme (TOKEN_RULES), inside a connection string, or by
 * secretlint's generic rules. Standing alone in prose with no such context, it is not.
 */
const API_KEY_RULES: PatternRule[] = [
  {
    // OpenAI (`sk-`, `sk-proj-`, `sk-svcacct-`, `sk-admin-`), Anthropic (`sk-ant-`) and any
    // other `sk-<word>-` sub-prefix. Known sub-prefix: a digit and 40+ characters suffice.
    // Unknown prefix (a sub-prefix no provider has announced yet): flagged when the rest
    // looks random (mixed case and digits, or several digits with key-like entropy), so a
    // new key kind is caught while slugs such as `sk-learn-…` stay public.
    name: 'openai_api_key',
    category: 'api_key',
    wordStart: true,
    keywords: ['sk-'],
    pattern: /(?<![\w-])sk-(?:[a-z]{2,12}-)?[A-Za-z0-9_-]{20,}/g,
    accept: (m) => isSkKey(m[0]) && !isPlaceholder(m[0]),
  },
  {
    name: 'github_token',
    category: 'api_key',
    wordStart: true,
    // ghp_/gho_/ghu_/ghs_/ghr_ today; an unknown letter after `gh` (a kind GitHub adds
    // later) is read the same way, since `gh?_` with 36+ random characters is its format.
    keywords: [...'abcdefghijklmnopqrstuvwxyz'].map((letter) => `gh${letter}_`).concat('github_pat_'),
    pattern: /\b(?:gh[a-z]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})/g,
    accept: notPlaceholder,
  },
  {
    name: 'gitlab_token',
    category: 'api_key',
    wordStart: true,
    keywords: ['glpat-'],
    pattern: /\bglpat-[A-Za-z0-9_-]{20,}/g,
    accept: notPlaceholder,
  },
  {
    name: 'slack_token',
    category: 'api_key',
    wordStart: true,
    keywords: ['xoxa-', 'xoxb-', 'xoxp-', 'xoxo-', 'xoxr-', 'xoxs-', 'xapp-'],
    pattern: /\b(?:xox[abposr]|xapp)-[A-Za-z0-9-]{10,}/g,
    accept: (m) => /\d/.test(m[0]) && !isPlaceholder(m[0]),
  },
  {
    name: 'slack_webhook',
    category: 'api_key',
    keywords: ['hooks.slack.com/'],
    ignoreCase: true,
    pattern: /hooks\.slack\.com\/services\/T[A-Za-z0-9]+\/B[A-Za-z0-9]+\/[A-Za-z0-9]+/gi,
  },
  {
    // Stripe secret/restricted keys (test-mode keys still open the account) and webhook secrets.
    name: 'stripe_key',
    category: 'api_key',
    wordStart: true,
    keywords: ['sk_live_', 'sk_test_', 'rk_live_', 'rk_test_', 'whsec_'],
    pattern: /\b(?:(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}|whsec_[A-Za-z0-9]{24,})/g,
    accept: notPlaceholder,
  },
  {
    name: 'google_api_key',
    category: 'api_key',
    wordStart: true,
    keywords: ['AIza'],
    pattern: /\bAIza[0-9A-Za-z_-]{35}/g,
    accept: notPlaceholder,
  },
  {
    // Access key ids: long-term (AKIA), temporary (ASIA) and the old A3T form. Ids of
    // users/roles/groups (AIDA, AROA, AGPA, …) identify but do not authenticate.
    // secretlint's AWS rule only scans key ids when `enableIDScanRule` is set.
    name: 'aws_access_key_id',
    category: 'api_key',
    keywords: ['AKIA', 'ASIA', 'A3T'],
    wordStart: true,
    pattern: /\b(?:AKIA|ASIA|A3T[A-Z0-9])[A-Z0-9]{16}\b/g,
    // AWS's documentation key ids all end in EXAMPLE.
    accept: (m) => !m[0].endsWith('EXAMPLE'),
  },
  {
    name: 'huggingface_token',
    category: 'api_key',
    wordStart: true,
    keywords: ['hf_'],
    pattern: /\bhf_[A-Za-z]{30,}\b/g,
    accept: notPlaceholder,
  },
  { name: 'npm_token', category: 'api_key', keywords: ['npm_'], wordStart: true, pattern: /\bnpm_[A-Za-z0-9]{36}\b/g },
  {
    name: 'sendgrid_key',
    category: 'api_key',
    keywords: ['SG.'],
    pattern: /(?<![A-Za-z])SG\.[\w-]{22}\.[\w-]{43}\b/g,
  },
  {
    name: 'shopify_token',
    category: 'api_key',
    wordStart: true,
    keywords: ['shpat_', 'shpca_', 'shppa_', 'shpss_'],
    pattern: /\bshp(?:at|ca|pa|ss)_[A-Za-z0-9]{32,64}\b/g,
  },
  { name: 'linear_key', category: 'api_key', keywords: ['lin_api_'], wordStart: true, pattern: /\blin_api_[A-Za-z0-9_]{32,128}/g },
  {
    name: 'onepassword_token',
    category: 'api_key',
    wordStart: true,
    keywords: ['ops_ey'],
    pattern: /\bops_ey[A-Za-z0-9+/=_-]{100,}/g,
  },
  {
    name: 'azure_storage_key',
    category: 'cloud_credentials',
    wordStart: true,
    keywords: ['AccountKey=', 'SharedAccessKey='],
    pattern: /\b(?:AccountKey|SharedAccessKey)=[A-Za-z0-9+/]{20,}={0,2}/g,
  },
];

const TOKEN_RULES: PatternRule[] = [
  {
    // `Bearer <token>` with ≥ 16 token characters; "bearer token" in prose is too short.
    name: 'bearer_token',
    category: 'bearer_token',
    wordStart: true,
    keywords: ['bearer'],
    ignoreCase: true,
    pattern: /\bbearer\s+([A-Za-z0-9\-._~+/]{16,}=*)/gi,
    accept: (m) => tokenLike(m[1] ?? '') && !isPlaceholder(m[1] ?? ''),
  },
  {
    // `Authorization: <scheme> <credentials>`. Known schemes (Basic, Token, Digest, ApiKey)
    // need 8 token characters; an unknown scheme (`SSWS`, `Key`, `GenieKey`, …) needs 16 and
    // a token-like value, so prose after "Authorization:" stays public. Bearer has its own rule.
    name: 'authorization_header',
    category: 'credential',
    wordStart: true,
    keywords: ['authorization'],
    ignoreCase: true,
    pattern: /\bauthorization["']?\s*[:=]\s*["']?([A-Za-z][\w-]{1,24})\s+([A-Za-z0-9\-._~+/]{8,}={0,2})/gi,
    accept: (m) => {
      const scheme = (m[1] ?? '').toLowerCase();
      const token = m[2] ?? '';
      if (scheme === 'bearer') return false;
      const known = KNOWN_AUTH_SCHEMES.has(scheme);
      return (known || token.length >= 16) && tokenLike(token) && !isPlaceholder(token);
    },
  },
  {
    name: 'jwt',
    category: 'jwt',
    wordStart: true,
    keywords: ['eyJ'],
    pattern: /\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/g,
  },
  {
    // The header alone is enough: a truncated key pasted into a prompt still leaks.
    name: 'private_key',
    category: 'private_key',
    keywords: ['-----BEGIN', 'PuTTY-User-Key-File-'],
    pattern: /-----BEGIN[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----|PuTTY-User-Key-File-\d+:/g,
  },
  {
    // `scheme://user:password@host`; the scheme is checked in `accept`.
    name: 'connection_string',
    category: 'connection_string',
    keywords: ['://'],
    pattern: /:\/\/([^\s:/@'"`<>]{0,128}):([^\s/@'"`<>]{1,256})@[A-Za-z0-9[_]/g,
    accept: (m, text) => {
      if (!/[A-Za-z0-9]/.test(text.charAt(m.index - 1))) return false;
      const password = decodeURIComponentSafe(m[2] ?? '');
      return !isPlaceholder(password) && password.length >= 3;
    },
  },
];

function decodeURIComponentSafe(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** "SSN" or "social security" shortly before a number on the same line. */
const SSN_LABEL = /\b(?:ssn|social[\s_-]*security)\b[^\n]{0,30}$/i;

/** `ssn`, `credit_card` or false for a match of the digits rule. */
function classifyDigits(m: RegExpExecArray, text: string): string | false {
  // The lookbehind, done here: not inside a longer number, word or version string.
  if (/[\w.-]/.test(text.charAt(m.index - 1))) return false;
  const s = m[0];
  const digits = s.replace(/[ -]/g, '');
  if (digits.length === 9) {
    if (!isValidSsn(digits.slice(0, 3), digits.slice(3, 5), digits.slice(5))) return false;
    if (s.charAt(3) === '-') return text.charAt(m.index + s.length) === '-' ? false : 'ssn';
    return SSN_LABEL.test(text.slice(Math.max(0, m.index - 40), m.index)) ? 'ssn' : false;
  }
  return isCardNumber(digits) ? 'credit_card' : false;
}

const PERSONAL_DATA_RULES: PatternRule[] = [
  {
    // One pass for cards and SSNs: both open with three digits, and V8 runs a pattern
    // that starts with `\d\d\d` several times faster than one behind a lookbehind.
    // Cards: 12–19 digits (luhn.ts: every network's ranges), optionally grouped by single spaces or dashes. SSNs:
    // `ddd-dd-dddd`, or `ddd dd dddd` / `ddddddddd` when labelled ("SSN: 219099999").
    name: 'credit_card',
    category: 'credit_card',
    pattern: /\d\d\d(?:\d[ -]?\d(?:[ -]?\d){7,14}|-\d\d-\d{4}|\d{6}| \d\d \d{4})(?![\w.])/g,
    accept: classifyDigits,
  },
  {
    name: 'iban',
    category: 'iban',
    pattern: /\b[A-Z]{2}\d{2}(?=[ ]?[A-Z0-9]{4})/g,
    accept: (m, text) => acceptIban(m.index, text),
  },
  { name: 'email_address', category: 'email_address', keywords: ['@'], pattern: EMAIL_DOMAIN, accept: acceptEmail },
];

/** Reads an IBAN written compact or in groups of four, to its country's length. */
function acceptIban(start: number, text: string): boolean {
  const length = ibanLength(text.slice(start, start + 2));
  if (length === undefined) return false;
  let iban = '';
  let i = start;
  while (i < text.length && iban.length < length) {
    const ch = text.charAt(i);
    if (/[A-Z0-9]/.test(ch)) iban += ch;
    else if (ch !== ' ' || text.charAt(i + 1) === ' ') break;
    i++;
  }
  // The account number must end here, not run on into more digits or letters.
  if (iban.length !== length || /[A-Za-z0-9]/.test(text.charAt(i))) return false;
  return isValidIban(iban);
}

/**
 * The rules for credentials (keys, tokens, private keys, connection strings): the lines
 * where they see a candidate are the ones secretlint gets to check.
 */
export const SECRET_RULES: ReadonlySet<PatternRule> = new Set([...API_KEY_RULES, ...TOKEN_RULES, ...CREDENTIAL_PHRASE_RULES]);

/**
 * All of koubou's built-in confidential rules.
 *
 * @example
 * ```ts
 * new RuleSet(CONFIDENTIAL_RULES).run(text, (category, name, offset) => report(category, name, offset));
 * ```
 */
export const CONFIDENTIAL_RULES: readonly PatternRule[] = [...API_KEY_RULES, ...TOKEN_RULES, ...CREDENTIAL_PHRASE_RULES, ...PERSONAL_DATA_RULES];
