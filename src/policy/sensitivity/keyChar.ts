/**
 * Picks the character by which a keyword is looked up. `indexOf` on one character is
 * the fastest search V8 has (memchr-like); the rarer that character is in source code,
 * the fewer places need a closer look.
 */

/**
 * Occurrences per million characters of printable ASCII (space … `~`) in 1 MB of
 * TypeScript from node_modules. Used only to rank characters; anything outside the
 * table counts as rare.
 */
// prettier-ignore
const FREQUENCY = [
  196792, 710, 175, 333, 542, 11, 872, 7974, 6397, 6397, 12936, 255, 7712, 1455, 14560, 9529,
  693, 546, 247, 169, 288, 115, 135, 305, 154, 136, 7407, 8129, 1329, 5652, 1852, 2481,
  272, 4430, 845, 3374, 2390, 2212, 1059, 415, 336, 3767, 632, 780, 1511, 801, 1232, 3001,
  5192, 95, 4866, 4107, 3647, 1643, 425, 964, 54, 89, 284, 1143, 276, 1145, 27, 5497,
  3973, 40701, 6633, 20247, 20779, 85446, 12390, 12018, 14481, 38213, 2667, 3360, 21123, 15592, 42684, 43373,
  21308, 1171, 47848, 43475, 58027, 20384, 5643, 3398, 3656, 8814, 1472, 5370, 2777, 5370, 28,
];

/**
 * Estimated occurrences per million characters of source code.
 *
 * @example
 * ```ts
 * frequency('e'); // 85446
 * frequency('@'); // 272
 * ```
 */
export function frequency(ch: string): number {
  if (ch === '\n') return 34800;
  const code = ch.charCodeAt(0);
  return code >= 32 && code <= 126 ? (FREQUENCY[code - 32] ?? 0) : 0;
}

/**
 * Offset of the best lookup character in `keyword`: the rarest, counting both letter
 * cases when `ignoreCase` (both get looked up).
 *
 * @example
 * ```ts
 * keyCharIndex('ghp_', false);   // 3 ('_')
 * keyCharIndex('bearer', true);  // 0 ('b'/'B')
 * ```
 */
export function keyCharIndex(keyword: string, ignoreCase: boolean): number {
  let best = 0;
  let bestCount = Number.POSITIVE_INFINITY;
  for (let i = 0; i < keyword.length; i++) {
    const ch = keyword.charAt(i);
    const lower = ch.toLowerCase();
    const upper = ch.toUpperCase();
    const count = ignoreCase && lower !== upper ? frequency(lower) + frequency(upper) : frequency(ch);
    if (count < bestCount) {
      best = i;
      bestCount = count;
    }
  }
  return best;
}
