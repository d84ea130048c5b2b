/**
 * Collects the findings of one source: turns offsets into 1-based lines and keeps one
 * finding per (line, category), the first one reported. Findings never hold the matched
 * text, so nothing downstream (logs, the task database, a cloud prompt) can leak it.
 */
import type { SensitivityFinding } from '../../core/types.ts';
import type { LineIndex } from './lineIndex.ts';

/**
 * @example
 * ```ts
 * const c = new FindingCollector('prompt', new LineIndex('a\npassword=x'));
 * c.addAt('credential', 'koubou:assignment', 2);
 * c.findings(); // [{ category: 'credential', source: 'prompt', line: 2, rule: 'koubou:assignment' }]
 * ```
 */
export class FindingCollector {
  readonly #source: string;
  readonly #lines: LineIndex;
  readonly #byKey = new Map<string, SensitivityFinding>();

  constructor(source: string, lines: LineIndex) {
    this.#source = source;
    this.#lines = lines;
  }

  /** Records a finding at character `offset`. */
  addAt(category: string, rule: string, offset: number): void {
    this.addLine(category, rule, this.#lines.lineAt(offset));
  }

  /** Records a finding on 1-based `line`. */
  addLine(category: string, rule: string, line: number): void {
    const key = `${line}\u0000${category}`;
    if (!this.#byKey.has(key)) this.#byKey.set(key, { category, source: this.#source, line, rule });
  }

  /** The findings, by line then category. */
  findings(): SensitivityFinding[] {
    return [...this.#byKey.values()].sort((a, b) => a.line - b.line || a.category.localeCompare(b.category));
  }
}
