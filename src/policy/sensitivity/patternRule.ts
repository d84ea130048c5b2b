/**
 * The shape of a regex rule. See `ruleSet.ts` for how rules are run.
 */

/**
 * Room for a rule's notes during one scan of one text (e.g. what it already evaluated),
 * keyed by whatever the rule chooses; a new scan starts with an empty one.
 */
export type ScanMemo = Map<unknown, unknown>;

/** One regex rule. */
export interface PatternRule {
  /** Reported as `koubou:<name>`. */
  readonly name: string;
  /** Finding category, e.g. `api_key`. */
  readonly category: string;
  /** A global (`g`) regex, compiled once at module load or construction. */
  readonly pattern: RegExp;
  /**
   * Literals of which every match contains at least one. With keywords the rule costs
   * almost nothing on text that lacks them: the scan looks for the keywords with
   * `indexOf` and runs `pattern` only on the line around each. Without keywords,
   * `pattern` runs over the whole text (about 1 ms per MB per rule).
   */
  readonly keywords?: readonly string[];
  /** Keywords match in any letter case (the pattern should carry the `i` flag). */
  readonly ignoreCase?: boolean;
  /**
   * The pattern is tried only where a keyword starts (it must carry the sticky `y` flag and
   * begin with what the keyword names), instead of over the keyword's line: one attempt per
   * occurrence, for rules whose keywords are frequent words (`password`, `curl`).
   */
  readonly anchored?: boolean;
  /** Keywords only count at the start of a word (`nda` in "under NDA", not in "undefined"). */
  readonly wordStart?: boolean;
  /**
   * Drops a match when it returns false (checksum failed, placeholder value, …). A
   * string accepts it under that category instead (reported as `koubou:<category>`),
   * for one pass serving several categories.
   */
  readonly accept?: (match: RegExpExecArray, text: string, scan: ScanMemo) => boolean | string;
}
