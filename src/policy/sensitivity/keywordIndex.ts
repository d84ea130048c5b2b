/**
 * Finds where rules' keywords occur in a text: each keyword is looked up by its rarest
 * character (keyChar.ts) with `indexOf`, the fastest search V8 has, then confirmed by one
 * neighbouring character and the whole keyword. Per lookup character the keywords are
 * grouped by that neighbour, so a character shared by thirty keywords (`_` of `ghp_`,
 * `gho_`, …) costs one map lookup per occurrence, not thirty comparisons. Non-ASCII
 * lookup characters (パ, 密, ü) share one pass over the text's non-ASCII characters,
 * which code has few of, instead of one whole-text `indexOf` each.
 */
import { keyCharIndex } from './keyChar.ts';

interface KeywordEntry {
  rule: number;
  /** Lowercased when `ignoreCase`. */
  keyword: string;
  /** Offset of the lookup character inside the keyword. */
  keyOffset: number;
  ignoreCase: boolean;
  wordStart: boolean;
}

/** The keywords of one lookup character whose neighbour at `delta` is a given code. */
interface NeighbourGroup {
  delta: number;
  byCode: Map<number, KeywordEntry[]>;
}

const NON_ASCII = /[^\x00-\x7f]/g;

/** ASCII lowercase of a character code (and Unicode for the rare non-ASCII case). */
function fold(c: number): number {
  if (c >= 65 && c <= 90) return c + 32;
  return c > 127 ? String.fromCharCode(c).toLowerCase().charCodeAt(0) : c;
}

/** `[A-Za-z0-9_]` */
export function isWordChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95;
}

/** True when `keyword` occurs at `start` (case folding when `ignoreCase`). */
function keywordAt(text: string, start: number, keyword: string, ignoreCase: boolean): boolean {
  if (start < 0 || start + keyword.length > text.length) return false;
  for (let i = 0; i < keyword.length; i++) {
    const c = text.charCodeAt(start + i);
    if ((ignoreCase ? fold(c) : c) !== keyword.charCodeAt(i)) return false;
  }
  return true;
}

/**
 * @example
 * ```ts
 * const index = new KeywordIndex();
 * index.add(0, 'ghp_', { ignoreCase: false, wordStart: true });
 * index.find('token ghp_abc', (rule, start) => console.log(rule, start)); // 0 6
 * ```
 */
export class KeywordIndex {
  readonly #byChar = new Map<string, NeighbourGroup[]>();
  readonly #byNonAscii = new Map<string, NeighbourGroup[]>();

  /** Indexes `raw` as a keyword of rule number `rule`. */
  add(rule: number, raw: string, options: { ignoreCase: boolean; wordStart: boolean }): void {
    const keyword = options.ignoreCase ? raw.toLowerCase() : raw;
    const keyOffset = keyCharIndex(keyword, options.ignoreCase);
    const ch = keyword.charAt(keyOffset);
    const delta = keyOffset > 0 ? -1 : keyword.length > 1 ? 1 : 0;
    const entry: KeywordEntry = { rule, keyword, keyOffset, ...options };
    const neighbour = keyword.charAt(keyOffset + delta);
    const codes = options.ignoreCase ? [neighbour, neighbour.toUpperCase()] : [neighbour];
    for (const c of options.ignoreCase ? new Set([ch, ch.toUpperCase()]) : new Set([ch])) {
      const map = c.charCodeAt(0) > 127 ? this.#byNonAscii : this.#byChar;
      const groups = map.get(c) ?? [];
      map.set(c, groups);
      let group = groups.find((g) => g.delta === delta);
      if (group === undefined) groups.push((group = { delta, byCode: new Map() }));
      for (const code of new Set(codes.map((n) => n.charCodeAt(0)))) {
        const list = group.byCode.get(code) ?? [];
        list.push(entry);
        group.byCode.set(code, list);
      }
    }
  }

  /** Calls `onHit(rule, start)` for every keyword occurrence in `text` (in no particular order). */
  find(text: string, onHit: (rule: number, start: number) => void): void {
    const visit = (p: number, groups: readonly NeighbourGroup[]): void => {
      for (const group of groups) {
        const entries = group.byCode.get(text.charCodeAt(p + group.delta));
        if (entries === undefined) continue;
        for (const entry of entries) {
          const start = p - entry.keyOffset;
          if (!keywordAt(text, start, entry.keyword, entry.ignoreCase)) continue;
          if (entry.wordStart && isWordChar(text.charCodeAt(start - 1))) continue;
          onHit(entry.rule, start);
        }
      }
    };
    for (const [ch, groups] of this.#byChar) {
      for (let p = text.indexOf(ch); p !== -1; p = text.indexOf(ch, p + 1)) visit(p, groups);
    }
    if (this.#byNonAscii.size === 0) return;
    NON_ASCII.lastIndex = 0;
    for (let m = NON_ASCII.exec(text); m !== null; m = NON_ASCII.exec(text)) {
      const groups = this.#byNonAscii.get(m[0]);
      if (groups !== undefined) visit(m.index, groups);
    }
  }
}
