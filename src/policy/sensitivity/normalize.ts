/**
 * Unicode NFKC before matching, so that every rule sees one form: full-width `：＝`, digits
 * and letters (`ＡＰＩキー＝１２３`), the ideographic space, full-width brackets and
 * mathematical letters all become their ASCII counterparts.
 *
 * NFKC of a whole megabyte costs 10–30 ms in V8 (measured), more than the scanner's whole
 * budget, and most text is ASCII, which NFKC leaves alone. So only the lines holding a
 * character that NFKC may change are normalised; the rest is copied as it is. NFKC never
 * adds or removes a line break (checked over every code point), so line numbers — all a
 * finding reports — are the same in the normalised text as in the original. Offsets within
 * a changed line may shift; nothing outside the scanner sees them.
 */

/** Per UTF-16 code unit: 0 not yet known, 1 NFKC leaves it alone, 2 it may change it. */
const verdicts = new Uint8Array(65536);

/**
 * Whether NFKC may change a line holding code unit `code` (> 127). Surrogates (astral
 * characters such as mathematical letters), combining marks (they compose with the
 * character before) and Hangul jamo (they compose into syllables) count as changing.
 */
function mayChange(code: number): boolean {
  let verdict = verdicts[code] as number;
  if (verdict === 0) {
    const ch = String.fromCharCode(code);
    const changes =
      (code >= 0xd800 && code <= 0xdfff) ||
      (code >= 0x1100 && code <= 0x11ff) ||
      /\p{M}/u.test(ch) ||
      ch.normalize('NFKC') !== ch;
    verdict = changes ? 2 : 1;
    verdicts[code] = verdict;
  }
  return verdict === 2;
}

const NON_ASCII = /[^\x00-\x7f]/g;

/**
 * `text` with every line that NFKC changes replaced by its NFKC form; the same string
 * when no line changes.
 *
 * @example
 * ```ts
 * normalizeForScan('パスワード：ｈｕｎｔｅｒ２\nok'); // 'パスワード:hunter2\nok'
 * normalizeForScan('plain ASCII');                  // 'plain ASCII' (the same string)
 * ```
 */
export function normalizeForScan(text: string): string {
  let out: string[] | undefined;
  let copiedTo = 0;
  NON_ASCII.lastIndex = 0;
  for (let m = NON_ASCII.exec(text); m !== null; m = NON_ASCII.exec(text)) {
    if (!mayChange(text.charCodeAt(m.index))) continue;
    const start = text.lastIndexOf('\n', m.index) + 1;
    const newline = text.indexOf('\n', m.index);
    const end = newline === -1 ? text.length : newline;
    (out ??= []).push(text.slice(copiedTo, start), text.slice(start, end).normalize('NFKC'));
    copiedTo = end;
    NON_ASCII.lastIndex = end;
  }
  if (out === undefined) return text;
  out.push(text.slice(copiedTo));
  return out.join('');
}
