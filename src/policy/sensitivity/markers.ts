/**
 * Internal markers: phrases that say "this text must not leave the company". They make a
 * task `internal` (not `confidential`): no secret is exposed, but the owner asked for it
 * to stay in-house.
 *
 * The bare word "internal" is not a marker ("internal API", "internal function" are
 * everyday engineering prose). "confidential" only counts when used as a label (a
 * header, an all-caps stamp, "company confidential"), not in prose such as "encrypt
 * confidential fields" or in code (`level: 'confidential'`).
 */
import { frequency, keyCharIndex } from './keyChar.ts';
import type { PatternRule } from './patternRule.ts';

/** Internal marker category; the only category that makes a result `internal`. */
export const INTERNAL_CATEGORY = 'internal_marker';

/** Default marker phrases, matched case-insensitively on word boundaries. */
export const DEFAULT_INTERNAL_MARKERS: readonly string[] = [
  'proprietary',
  'do not distribute',
  'company only',
  'internal use only',
  'internal only',
  'not for distribution',
  'trade secret',
  'trade secrets',
  'under NDA',
  'under an NDA',
  'company confidential',
  'strictly confidential',
  'highly confidential',
  'confidential and proprietary',
];

/** Escapes a phrase for a regex and lets any run of whitespace separate its words. */
function phraseSource(phrase: string): string {
  return phrase
    .trim()
    .split(/\s+/)
    .map((word) => word.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('\\s+');
}

/** Word boundary that also works when a phrase starts or ends with punctuation. */
function bounded(phrase: string, source: string): string {
  const start = /^\w/.test(phrase.trim()) ? '\\b' : '';
  const end = /\w$/.test(phrase.trim()) ? '\\b' : '';
  return start + source + end;
}

/** After the word: a key, an assignment or an enum/argument position, i.e. code. */
const CODE_AFTER = /^\s*(?:[:=][ \t]*["'`\d{[]|[,;(=])/;
/** Before the word on its line: nothing but indentation and comment/markup punctuation. */
const LEADING = /^[\s#/*<>!\-=[(|~_]*$/;
/** After a leading label: a dash/colon, or the end of the line. */
const LABEL_AFTER = /^[ \t]*(?:[-–—:|]|\r?\n|$)/;
/** After an all-caps stamp: prose or label punctuation, not `case CONFIDENTIAL:` or `? a : b`. */
const CAPS_AFTER = /^(?:[ \t]*[-–—:|][ \t]*[A-Za-z]|[ \t]+[A-Za-z]|[ \t]*(?:\r?\n|$)|[ \t]*[)\].!*])/;
const QUALIFIED_AFTER = /^[ \t]*[-–—:|][ \t]*(?:internal|company|do\s+not|not\s+for)/i;
const MARKED_BEFORE = /(?:marked|labell?ed|classified)\s+(?:as\s+)?$/i;

/**
 * True when the "confidential" in `m` is a label: an all-caps stamp in prose, the first
 * word of its line followed by a dash/colon or nothing, "confidential - internal", or
 * "marked confidential". Rejects prose ("confidential fields") and code
 * (`CONFIDENTIAL = 'confidential'`, enum members, `case CONFIDENTIAL:`).
 */
function isConfidentialLabel(m: RegExpExecArray, text: string): boolean {
  const start = m.index;
  const end = start + m[0].length;
  const after = text.slice(end, end + 40);
  if (CODE_AFTER.test(after)) return false;
  // Bounded look-back (80 characters) keeps minified one-line files linear.
  const window = text.slice(Math.max(0, start - 80), start);
  const nl = window.lastIndexOf('\n');
  const before = nl === -1 ? window : window.slice(nl + 1);
  const leading = (nl !== -1 || start <= 80) && LEADING.test(before);
  if (m[0] === 'CONFIDENTIAL' && !/[\w.'"`$]/.test(text.charAt(start - 1)) && CAPS_AFTER.test(after)) return true;
  if (leading && LABEL_AFTER.test(after)) return true;
  return QUALIFIED_AFTER.test(after) || MARKED_BEFORE.test(before);
}

/**
 * Lookup keywords for the default phrases: each phrase contains one (case-insensitively),
 * and they were picked for rare lookup letters (see `keyChar.ts`).
 */
const DEFAULT_KEYWORDS = ['proprietary', 'distribut', 'only', 'confidential', 'trade', 'nda'];

/** The word of an extra phrase whose rarest letter is rarest: present in every match. */
function lookupWord(phrase: string): string {
  const cost = (word: string): number => {
    const ch = word.charAt(keyCharIndex(word, true));
    return frequency(ch.toLowerCase()) + frequency(ch.toUpperCase());
  };
  return phrase
    .trim()
    .split(/\s+/)
    .reduce((a, b) => (a === '' || cost(b) < cost(a) ? b : a), '');
}

/**
 * Builds the marker rules for the defaults plus `extra` phrases.
 *
 * @example
 * ```ts
 * const rules = buildMarkerRules(['project falcon']);
 * // rules match "Project  Falcon" and "INTERNAL USE ONLY", not "internal API"
 * ```
 */
export function buildMarkerRules(extra: readonly string[]): PatternRule[] {
  const phrases = [...DEFAULT_INTERNAL_MARKERS, ...extra].filter((p) => p.trim().length > 0);
  const alternatives = phrases.map((p) => bounded(p, phraseSource(p)));
  return [
    {
      name: 'internal_marker',
      category: INTERNAL_CATEGORY,
      keywords: [...new Set([...DEFAULT_KEYWORDS, ...extra.filter((p) => p.trim() !== '').map(lookupWord)])],
      ignoreCase: true,
      wordStart: true,
      pattern: new RegExp(alternatives.join('|'), 'gi'),
    },
    {
      name: 'confidential_label',
      category: INTERNAL_CATEGORY,
      keywords: ['confidential'],
      ignoreCase: true,
      wordStart: true,
      pattern: /\bconfidential\b/gi,
      accept: isConfidentialLabel,
    },
  ];
}
