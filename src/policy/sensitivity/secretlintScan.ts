/**
 * secretlint's recommended preset, run cheaply.
 *
 * Measured on 1 MB of ordinary TypeScript: `lintSource` over the whole text runs at
 * ~45 MB/s, and even a union-of-literals prefilter regex for the preset's anchors costs
 * 8–14 ms (V8 is slow on wide alternations) — either alone blows the scanner's 50 MB/s
 * budget. Every rule in the preset anchors on a literal (`ghp_`, `xoxb-`, `sk-…T3BlbkFJ`,
 * `-----BEGIN`, `://user:pass@`, `npm_`, `SG.`, `shpat_`, `lin_api_`, `ops_ey`,
 * `aws_secret_access_key =`, `_authToken=`), and koubou's own rules look up the same
 * literals (see `rules.ts`, `assignments.ts`). So the lines where one of our rules saw a
 * candidate — accepted or not — are the prefilter: only those lines (plus the body of any
 * `-----BEGIN` block, for the multi-line private-key rule) are handed to secretlint, with
 * a line map back to the original. Text without candidates never reaches secretlint.
 * secretlint still judges every candidate independently (e.g. it flags a `ghp_` token whose
 * shape our rule doubts); a candidate that is a placeholder (`ghp_xxxx…`, placeholders.ts)
 * is not shown to it, so that the one placeholder decision is koubou's.
 *
 * Trade-offs, on purpose:
 * - the GCP rule only inspects whole `.json` service-account files; an excerpt does not
 *   parse, but such a file always holds a `-----BEGIN PRIVATE KEY-----`, which both
 *   secretlint's private-key rule and ours catch. Its `.p12` branch reads the file from
 *   disk by path, so we never pass an extension: a task names paths, it does not give us
 *   files to open.
 * - `secretlint-rule-filter-comments` is disabled: a `secretlint-disable` comment in a
 *   submitted prompt must not be able to hide a secret from the router.
 */
import { lintSource } from '@secretlint/core';
import { creator as recommendedPreset } from '@secretlint/secretlint-rule-preset-recommend';
import type { LineIndex } from './lineIndex.ts';

type LintOptions = Parameters<typeof lintSource>[0];

const PRESET_ID = '@secretlint/secretlint-rule-preset-recommend';
const CONFIG: LintOptions['options']['config'] = {
  rules: [
    {
      id: PRESET_ID,
      rule: recommendedPreset,
      rules: [{ id: '@secretlint/secretlint-rule-filter-comments', disabled: true }],
    },
  ],
};

const BEGIN = '-----BEGIN';
const END = '-----END';
/** The preset's private-key rule looks at most 10 000 characters past BEGIN. */
const MAX_BLOCK_LINES = 200;

/**
 * Names whose assigned values the preset inspects (AWS `…secret_access_key = …`, npm
 * `_authToken=…`); its other rules anchor on token prefixes that koubou's own rules share.
 */
const PRESET_NAMES = /secret_?access_?key|_authToken/i;

/**
 * True when an assignment to `name` is worth showing secretlint.
 *
 * @example
 * ```ts
 * isSecretlintName('AWS_SECRET_ACCESS_KEY'); // true
 * isSecretlintName('password');              // false (koubou's own rule decides)
 * ```
 */
export function isSecretlintName(name: string): boolean {
  return PRESET_NAMES.test(name);
}

/** secretlint rule id → koubou category. */
const CATEGORIES: Readonly<Record<string, string>> = {
  '@secretlint/secretlint-rule-aws': 'cloud_credentials',
  '@secretlint/secretlint-rule-gcp': 'cloud_credentials',
  '@secretlint/secretlint-rule-privatekey': 'private_key',
  '@secretlint/secretlint-rule-basicauth': 'connection_string',
  '@secretlint/secretlint-rule-npm': 'api_key',
  '@secretlint/secretlint-rule-slack': 'api_key',
  '@secretlint/secretlint-rule-sendgrid': 'api_key',
  '@secretlint/secretlint-rule-shopify': 'api_key',
  '@secretlint/secretlint-rule-github': 'api_key',
  '@secretlint/secretlint-rule-openai': 'api_key',
  '@secretlint/secretlint-rule-linear': 'api_key',
  '@secretlint/secretlint-rule-1password': 'api_key',
};

/**
 * koubou category for a secretlint rule id; unknown (future) rules count as `credential`
 * so that a new preset rule still makes the task confidential.
 *
 * @example
 * ```ts
 * secretlintCategory('@secretlint/secretlint-rule-aws'); // 'cloud_credentials'
 * ```
 */
export function secretlintCategory(ruleId: string): string {
  return CATEGORIES[ruleId] ?? 'credential';
}

/** One secretlint finding: the rule and the 1-based line in the original text. */
export interface SecretlintHit {
  ruleId: string;
  line: number;
}

/** Candidate lines (1-based, ascending, distinct), each private-key block carried to its END line. */
function excerptLines(text: string, lines: LineIndex, candidates: readonly number[]): number[] {
  const picked = new Set<number>();
  for (const offset of candidates) {
    let line = lines.lineAt(offset);
    if (picked.has(line)) continue;
    picked.add(line);
    let start = lines.lineStart(offset);
    let end = lines.lineEnd(offset);
    const first = text.slice(start, end);
    if (!first.includes(BEGIN) || first.includes(END)) continue;
    for (let n = 0; n < MAX_BLOCK_LINES && end < text.length; n++) {
      start = end + 1;
      end = lines.lineEnd(start);
      picked.add(++line);
      if (text.slice(start, end).includes(END)) break;
    }
  }
  return [...picked].sort((a, b) => a - b);
}

/**
 * Runs secretlint's recommended preset over the candidate lines of `text`.
 *
 * @param source - `prompt` or the file path; only its base name reaches secretlint (the
 *   npm rule looks for `package.json` / `.npmrc`).
 * @param candidates - offsets where koubou's rules saw a possible secret.
 *
 * @example
 * ```ts
 * const text = 'a\n' + 'ghp_' + 'x'.repeat(36);
 * await secretlintScan(text, 'prompt', new LineIndex(text), [2]);
 * // [{ ruleId: '@secretlint/secretlint-rule-github', line: 2 }]
 * ```
 */
export async function secretlintScan(
  text: string,
  source: string,
  lines: LineIndex,
  candidates: readonly number[],
): Promise<SecretlintHit[]> {
  if (candidates.length === 0) return [];
  // Excerpt line k (0-based) comes from original line origin[k]; a blank line separates
  // non-adjacent runs so that no pattern can join two unrelated lines.
  const excerpt: string[] = [];
  const origin: number[] = [];
  let previous = -2;
  for (const line of excerptLines(text, lines, candidates)) {
    if (line !== previous + 1 && excerpt.length > 0) {
      excerpt.push('');
      origin.push(0);
    }
    excerpt.push(lines.lineText(line));
    origin.push(line);
    previous = line;
  }
  const result = await lintSource({
    source: {
      content: excerpt.join('\n'),
      filePath: source.slice(source.lastIndexOf('/') + 1) || 'prompt',
      ext: '',
      contentType: 'text',
    },
    options: { config: CONFIG, noPhysicFilePath: true, maskSecrets: true },
  });
  return result.messages
    .map((message) => ({ ruleId: message.ruleId, line: origin[message.loc.start.line - 1] ?? 0 }))
    .filter((hit) => hit.line > 0);
}
