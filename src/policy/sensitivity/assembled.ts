/**
 * Provider keys assembled in code from parts, so that no single literal holds the key:
 * `"sk-" + "proj-" + "…"`, `("AK" "IA" "…")`, `'sk_' . 'live_' . '…'`,
 * `["xo" + "xb", …].join("-")`, `"".join([…])`, and parts kept in variables a few lines
 * apart (`prefix = "sk_live_"` … `api_key = prefix + body`, `` `${head}${tail}` ``).
 *
 * The rule wakes on a string literal that opens with the first two characters of a known
 * provider prefix (`"gh`, `'sk`, `"AK`, …; a template literal's parts must be variables
 * assigned on an earlier line), evaluates the string expressions of that line
 * and the next few (concatenation, adjacent literals, joins, template parts, variables
 * assigned a string there), and runs the provider key rules (providerKeys.ts) on every
 * string so assembled from two or more parts. A part it cannot evaluate (a call such as
 * `gen(36)`, a variable from elsewhere) ends the string there, so test code that builds
 * keys at run time stays clean.
 */
import type { PatternRule, ScanMemo } from './patternRule.ts';
import { API_KEY_RULES } from './providerKeys.ts';
import { RuleSet } from './ruleSet.ts';

const PROVIDER_KEYS = new RuleSet(API_KEY_RULES);

/**
 * Provider prefixes (providerKeys.ts). The most used ones are looked up by their first two
 * characters after a quote (`"gh` of `"gh" + "p_"`), the rest only when a literal opens
 * with the whole prefix: every keyword costs a little on every text (ruleSet.ts).
 */
const SPLIT_PREFIXES = ['sk-', 'sk_', 'rk_', 'ghp_', 'github_pat_', 'glpat-', 'xox', 'AIza', 'AKIA', 'ASIA', 'SG.'];
const WHOLE_PREFIXES = ['xapp-', 'hf_', 'npm_', 'shpat_', 'lin_api_', 'whsec_', 'pypi-', 'dop_v1_', 'PMAK-', 'pul-', 'rubygems_', 'ops_ey'];
const PREFIXES = [...SPLIT_PREFIXES, ...WHOLE_PREFIXES];
const KEYWORDS = [
  // `'AS` is left out: its lookup letter would be `S`, common in code (ruleSet.ts); `"AS` stays.
  ...new Set(SPLIT_PREFIXES.map((p) => p.slice(0, 2)).flatMap((f) => [`"${f}`, `'${f}`])),
  ...WHOLE_PREFIXES.map((p) => `"${p}`),
].filter((k) => k !== "'AS");

/** Lines after the keyword's line that may still use its parts. */
const LINES_AFTER = 8;

const TOKEN = /(["'`])((?:\\.|(?!\1)[^\\\n]){0,256})\1|([A-Za-z_$][\w$]*)|(\.\.?|\+)|([ \t()]+)|([^])/g;
const ASSIGNMENT = /^\s*(?:(?:const|let|var|final|val|String|auto|my)\s+)?\$?([A-Za-z_][\w]*)\s*(?::=|=(?![=>]))\s*(.*)$/;
const JS_JOIN = /\[([^\]\n]{0,512})\]\s*\.join\(\s*(["'`])((?:(?!\2).){0,8})\2\s*\)/g;
const PY_JOIN = /(["'])((?:(?!\1).){0,8})\1\s*\.join\(\s*[[(]([^\])\n]{0,512})[\])]\s*\)/g;
/** Longest line evaluated: bounds the work on a minified file. */
const MAX_LINE = 2048;

type Vars = Map<string, string>;

/** The strings an expression evaluates to, each with how many parts made it. */
function evaluate(expr: string, vars: Vars): { text: string; parts: number }[] {
  const out: { text: string; parts: number }[] = [];
  let text = '';
  let parts = 0;
  const flush = (): void => {
    if (parts > 0) out.push({ text, parts });
    text = '';
    parts = 0;
  };
  const append = (value: string | undefined): void => {
    if (value === undefined) flush();
    else {
      text += value;
      parts++;
    }
  };
  TOKEN.lastIndex = 0;
  for (let m = TOKEN.exec(expr); m !== null; m = TOKEN.exec(expr)) {
    const [, quote, body, ident, , blank] = m;
    if (body !== undefined) {
      if (quote !== '`') append(body);
      else {
        // Template parts: `${name}` is a variable, the rest literal text.
        for (const piece of body.split(/(\$\{\s*[A-Za-z_$][\w$]*\s*\})/)) {
          if (piece !== '') append(piece.startsWith('${') ? vars.get(piece.slice(2, -1).trim()) : piece);
        }
      }
    } else if (ident !== undefined) {
      // String prefixes (Python b'', r'', f''; C# @"" is punctuation) are not variables.
      if (/^[bBrRuUfF]{1,2}$/.test(ident) && /["']/.test(expr.charAt(TOKEN.lastIndex))) continue;
      append(vars.get(ident));
    } else if (m[4] === undefined && blank === undefined) flush();
  }
  flush();
  return out.filter((s) => s.text.length > 0);
}

/** `expr` with its join calls replaced by the string literal they make, and whether it had any. */
function inlineJoins(expr: string, vars: Vars): { expr: string; joined: boolean } {
  if (!expr.includes('.join(')) return { expr, joined: false };
  let joinedAny = false;
  const joined = (items: string, separator: string): string => {
    joinedAny = true;
    return JSON.stringify(items.split(',').map((item) => evaluate(item, vars).map((s) => s.text).join('')).join(separator));
  };
  const out = expr
    .replace(JS_JOIN, (_, items: string, _q: string, separator: string) => joined(items, separator))
    .replace(PY_JOIN, (_, _q: string, separator: string, items: string) => joined(items, separator));
  return { expr: out, joined: joinedAny };
}

/** True when a string assembled from parts in the lines from `start` is a provider key. */
function assemblesKey(text: string, start: number): boolean {
  const vars: Vars = new Map();
  const region = text.slice(start, start + (LINES_AFTER + 1) * MAX_LINE);
  const lines = region.split('\n', LINES_AFTER + 1).map((line) => line.slice(0, MAX_LINE));
  for (const line of lines) {
    const { expr, joined } = inlineJoins(line, vars);
    const assignment = ASSIGNMENT.exec(expr);
    const strings = evaluate(assignment?.[2] ?? expr.slice(expr.search(/[=(]/) + 1), vars);
    if (assignment?.[1] !== undefined) {
      if (strings.length === 1) vars.set(assignment[1], (strings[0] as { text: string }).text);
      else vars.delete(assignment[1]);
    }
    for (const s of strings) {
      if ((s.parts < 2 && !joined) || s.text.length < 16) continue;
      let found = false;
      PROVIDER_KEYS.run(s.text, () => (found = true));
      if (found) return true;
    }
  }
  return false;
}

/** True when a literal's `content` is a provider prefix's start, or starts with a whole prefix. */
function opensAPrefix(content: string): boolean {
  return PREFIXES.some((p) => p.startsWith(content) || content.startsWith(p));
}

/** The scan memo's key for the stretch of text evaluated last in this scan. */
const EVALUATED = Symbol('assembled_key evaluated');

/**
 * Accepts a prefix literal when its line assembles a key. The stretch evaluated last is
 * kept in the scan's memo, so that the prefix literals of one line (or of one stretch of a
 * minified line) cost one evaluation.
 */
function acceptLiteral(m: RegExpExecArray, text: string, memo: ScanMemo): boolean {
  if (!opensAPrefix(m[2] ?? '')) return false;
  const evaluated = memo.get(EVALUATED) as { from: number; to: number } | undefined;
  if (evaluated !== undefined && m.index >= evaluated.from && m.index < evaluated.to) return false;
  // The line's start, looked for no further back than half a clipped line (a minified line is long).
  const back = Math.max(0, m.index - MAX_LINE / 2);
  const lineStart = back + text.slice(back, m.index).lastIndexOf('\n') + 1;
  memo.set(EVALUATED, { from: m.index, to: lineStart + MAX_LINE });
  return assemblesKey(text, lineStart);
}

/**
 * @example
 * ```ts
 * new RuleSet(ASSEMBLED_KEY_RULES).run('key = "sk_" + "live_" + "' + 'a1B2'.repeat(6) + '"', report); // api_key
 * ```
 */
export const ASSEMBLED_KEY_RULES: PatternRule[] = [
  {
    name: 'assembled_key',
    category: 'api_key',
    keywords: KEYWORDS,
    // Anchored at the quote of a short literal that may open a key (`"gh"`, `'sk_'`, `"AK"`).
    anchored: true,
    pattern: /(["'`])([A-Za-z0-9_.-]{2,12})\1/y,
    accept: acceptLiteral,
  },
];
