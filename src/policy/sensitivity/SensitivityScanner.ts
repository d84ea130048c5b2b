/**
 * The sensitivity scanner: decides whether a task may leave the machine.
 *
 * Three sources of findings, all reduced to (category, source, line, rule) and never to
 * the matched text:
 * - secretlint's recommended preset (`secretlint:<ruleId>`), on prefiltered lines;
 * - koubou's regex rules and the assignment parser (`koubou:<name>`);
 * - internal markers, which alone make a task `internal`.
 */
import type { SensitivityFinding, SensitivityLevel, SensitivityResult, TaskFile } from '../../core/types.ts';
import { isCodeSource, scanAssignments } from './assignments.ts';
import { scanDotfiles } from './dotfiles.ts';
import { FindingCollector } from './findingCollector.ts';
import { buildMarkerRules, INTERNAL_CATEGORY } from './markers.ts';
import { resolveSensitivityOptions, type ResolvedSensitivityOptions, type SensitivityOptions } from './options.ts';
import { LineIndex } from './lineIndex.ts';
import { normalizeForScan } from './normalize.ts';
import type { PatternRule } from './patternRule.ts';
import { isPlaceholder } from './placeholders.ts';
import { RuleSet } from './ruleSet.ts';
import { CONFIDENTIAL_RULES, SECRET_RULES } from './rules.ts';
import { isSecretlintName, secretlintCategory, secretlintScan } from './secretlintScan.ts';

/** Compiles configured extra rules once; a bad pattern fails construction, not a scan. */
function compileExtraRules(extra: ResolvedSensitivityOptions['extraRules']): PatternRule[] {
  return extra.map(({ name, pattern, category }) => {
    try {
      return { name, category, pattern: new RegExp(pattern, 'gm') };
    } catch (error) {
      throw new Error(`sensitivity extra rule "${name}": invalid pattern: ${(error as Error).message}`);
    }
  });
}

/** Level from findings: any non-marker finding is confidential. */
function levelOf(findings: readonly SensitivityFinding[]): SensitivityLevel {
  if (findings.some((f) => f.category !== INTERNAL_CATEGORY)) return 'confidential';
  return findings.length > 0 ? 'internal' : 'public';
}

/**
 * Scans prompts and attached files for secrets, personal data and internal markers.
 *
 * @example
 * ```ts
 * const scanner = new SensitivityScanner({ internalMarkers: ['project falcon'] });
 * const result = await scanner.scan({
 *   prompt: 'Fix the login bug',
 *   files: [{ path: '.env', content: 'DB_PASSWORD=s3cr3t\n' }],
 * });
 * result.level;       // 'confidential'
 * result.categories;  // ['credential']
 * result.findings[0]; // { category: 'credential', source: '.env', line: 1, rule: 'koubou:assignment' }
 * ```
 */
export class SensitivityScanner {
  readonly #options: ResolvedSensitivityOptions;
  readonly #rules: RuleSet;

  constructor(options?: SensitivityOptions) {
    this.#options = resolveSensitivityOptions(options);
    this.#rules = new RuleSet([
      ...CONFIDENTIAL_RULES,
      ...compileExtraRules(this.#options.extraRules),
      ...buildMarkerRules(this.#options.internalMarkers),
    ]);
  }

  /** Scan a prompt and every attached file; level = confidential if any confidential finding, else internal if any internal marker, else public. */
  async scan(input: { prompt: string; files?: TaskFile[] }): Promise<SensitivityResult> {
    const sources = [{ source: 'prompt', text: input.prompt }, ...(input.files ?? []).map((f) => ({ source: f.path, text: f.content }))];
    const perSource = await Promise.all(sources.map(({ source, text }) => this.#scanSource(text, source)));
    return this.#result(perSource.flat());
  }

  /** Same, for one text (source name 'prompt' or a path). */
  async scanText(text: string, source = 'prompt'): Promise<SensitivityResult> {
    return this.#result(await this.#scanSource(text, source));
  }

  async #scanSource(original: string, source: string): Promise<SensitivityFinding[]> {
    // One form for every rule (full-width `：＝`, digits and letters become ASCII); same lines.
    const text = normalizeForScan(original);
    const lines = new LineIndex(text);
    const ours: { category: string; rule: string; offset: number }[] = [];
    const candidates: number[] = [];
    this.#rules.run(
      text,
      (category, name, offset) => ours.push({ category, rule: `koubou:${name}`, offset }),
      (rule, offset, match) => {
        // A stand-in (`ghp_xxxx…`) is koubou's call (placeholders.ts), not a line for secretlint.
        if (SECRET_RULES.has(rule) && !isPlaceholder(match[0])) candidates.push(offset);
      },
    );
    const assignments = scanAssignments(text, isCodeSource(source), this.#options.entropyThreshold);
    for (const hit of assignments.findings) ours.push({ category: hit.category, rule: `koubou:${hit.rule}`, offset: hit.offset });
    for (const c of assignments.candidates) if (isSecretlintName(c.name)) candidates.push(c.offset);
    for (const hit of scanDotfiles(text, source)) ours.push({ category: hit.category, rule: `koubou:${hit.rule}`, offset: hit.offset });

    const collector = new FindingCollector(source, lines);
    // secretlint first, so that where both report the same category on a line its
    // finding is the one kept.
    if (this.#options.useSecretlint) {
      for (const hit of await secretlintScan(text, source, lines, candidates)) {
        collector.addLine(secretlintCategory(hit.ruleId), `secretlint:${hit.ruleId}`, hit.line);
      }
    }
    for (const f of ours) collector.addAt(f.category, f.rule, f.offset);
    return collector.findings();
  }

  #result(findings: SensitivityFinding[]): SensitivityResult {
    const categories = [...new Set(findings.map((f) => f.category))].sort();
    return { level: levelOf(findings), categories, findings };
  }
}
