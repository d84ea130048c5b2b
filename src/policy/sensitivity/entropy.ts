/**
 * Shannon entropy of a string in bits per character: how unpredictable its characters
 * are. Random keys score high (base64 ≈ 5–6, hex ≈ 4), words and identifiers low.
 *
 * @example
 * ```ts
 * shannonEntropy('aaaa');     // 0
 * shannonEntropy('abcd');     // 2
 * ```
 */
export function shannonEntropy(value: string): number {
  if (value.length === 0) return 0;
  const counts = new Map<string, number>();
  for (const ch of value) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let bits = 0;
  const n = value.length;
  for (const count of counts.values()) {
    const p = count / n;
    bits -= p * Math.log2(p);
  }
  return bits;
}
