/**
 * koubou's own confidential regex rules. They cover what secretlint's recommended preset
 * misses (measured: OpenAI `sk-proj-` keys, bearer tokens, SSNs, card numbers) plus
 * personal data, and they stand alone when secretlint is switched off.
 *
 * Every pattern is linear: literal prefixes where possible, no nested quantifiers over
 * the same characters, and bounded repeats where a later token must be found.
 */
import { ASSEMBLED_KEY_RULES } from './assembled.ts';
import { COMMAND_LINE_RULES } from './commandLines.ts';
import { CONTACT_RULES } from './contactDetails.ts';
import { CREDENTIAL_PHRASE_RULES } from './credentialPhrases.ts';
import { CREDENTIAL_WORD_RULES } from './credentialWords.ts';
import { DOTFILE_RULES } from './dotfiles.ts';
import { acceptEmail, EMAIL_DOMAIN } from './email.ts';
import { ibanLength, isValidIban } from './iban.ts';
import { isCardNumber } from './luhn.ts';
import type { PatternRule } from './patternRule.ts';
import { API_KEY_RULES } from './providerKeys.ts';
import { isPlaceholder } from './placeholders.ts';
import { NATIONAL_ID_RULES } from './nationalIds.ts';
import { SDK_ARGUMENT_RULES } from './sdkArguments.ts';
import { isValidSsn } from './ssn.ts';

/** Token-like: a digit, or both cases. Rules out words like `authentication_scheme`. */
const tokenLike = (s: string): boolean => /\d/.test(s) || (/[A-Z]/.test(s) && /[a-z]/.test(s));
const KNOWN_AUTH_SCHEMES = new Set(['basic', 'token', 'digest', 'apikey']);

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

/** "マイナンバー" or "個人番号" shortly before twelve digits on the same line. */
const MY_NUMBER_LABEL = /(?:マイナンバー|個人番号|my ?number)[^\n]{0,30}$/i;

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
  // Twelve digits labelled as a My Number are the My Number rule's to judge (nationalIds.ts).
  if (digits.length === 12 && MY_NUMBER_LABEL.test(text.slice(Math.max(0, m.index - 40), m.index))) return false;
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
export const SECRET_RULES: ReadonlySet<PatternRule> = new Set([
  ...API_KEY_RULES,
  ...TOKEN_RULES,
  ...CREDENTIAL_PHRASE_RULES,
  ...CREDENTIAL_WORD_RULES,
  ...COMMAND_LINE_RULES,
  ...DOTFILE_RULES,
]);

/**
 * All of koubou's built-in confidential rules.
 *
 * @example
 * ```ts
 * new RuleSet(CONFIDENTIAL_RULES).run(text, (category, name, offset) => report(category, name, offset));
 * ```
 */
export const CONFIDENTIAL_RULES: readonly PatternRule[] = [
  ...SECRET_RULES,
  ...ASSEMBLED_KEY_RULES,
  ...SDK_ARGUMENT_RULES,
  ...PERSONAL_DATA_RULES,
  ...NATIONAL_ID_RULES,
  ...CONTACT_RULES,
];
