/**
 * Text from a task or a peer (an ask, a reason), safe to print on one terminal line: whitespace
 * and control characters (an escape sequence typed into an ask) become single spaces.
 *
 * @example oneLine('fix\n\x1b[31mthe typo') // 'fix [31mthe typo'
 */
export function oneLine(text: string): string {
  return text.replace(/[\s\u0000-\u001f\u007f-\u009f]+/g, ' ').trim();
}
