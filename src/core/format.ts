/**
 * Dollars for people: cents, with up to four decimals below a dollar, where cents would hide a
 * small task's cost.
 *
 * @example usd(12.3) // => '$12.30'; usd(0.5) // => '$0.50'; usd(0.0095) // => '$0.0095'
 */
export const usd = (n: number): string =>
  `$${Math.abs(n) >= 1 ? n.toFixed(2) : n.toFixed(4).replace(/(\.\d\d\d*?)0+$/, '$1')}`;
