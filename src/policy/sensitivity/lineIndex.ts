/**
 * Offset → 1-based line lookup for one text.
 *
 * The newline table is built on the first lookup only: most scans find nothing, and
 * then building it would be wasted work on a megabyte of source.
 *
 * @example
 * ```ts
 * const lines = new LineIndex('a\nb\nc');
 * lines.lineAt(2); // 2
 * ```
 */
export class LineIndex {
  readonly #text: string;
  #newlines: number[] | undefined;

  constructor(text: string) {
    this.#text = text;
  }

  /** 1-based line holding the character at `offset`. */
  lineAt(offset: number): number {
    const nl = (this.#newlines ??= this.#build());
    // Count newlines strictly before `offset` by binary search.
    let lo = 0;
    let hi = nl.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((nl[mid] as number) < offset) lo = mid + 1;
      else hi = mid;
    }
    return lo + 1;
  }

  /** Offset where the line holding `offset` starts. */
  lineStart(offset: number): number {
    return this.#text.lastIndexOf('\n', offset - 1) + 1;
  }

  /** Offset of the newline ending the line holding `offset` (or the text length). */
  lineEnd(offset: number): number {
    const end = this.#text.indexOf('\n', offset);
    return end === -1 ? this.#text.length : end;
  }

  /** Text of 1-based `line`, without its newline. */
  lineText(line: number): string {
    const nl = (this.#newlines ??= this.#build());
    const start = line <= 1 ? 0 : (nl[line - 2] ?? this.#text.length) + 1;
    const end = nl[line - 1] ?? this.#text.length;
    return this.#text.slice(start, end);
  }

  #build(): number[] {
    const out: number[] = [];
    for (let i = this.#text.indexOf('\n'); i !== -1; i = this.#text.indexOf('\n', i + 1)) out.push(i);
    return out;
  }
}
