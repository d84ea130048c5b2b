/**
 * Payment card checks: the Luhn checksum plus a real issuer prefix and length, so that
 * random 13–19 digit numbers (timestamps, ids) rarely pass.
 */

/**
 * True when the digit string passes the Luhn (mod 10) checksum.
 *
 * @example
 * ```ts
 * luhnValid('79927398713'); // true
 * luhnValid('79927398710'); // false
 * ```
 */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return false;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return digits.length > 0 && sum % 10 === 0;
}

/** Issuer prefix ranges (inclusive, compared on the same number of leading digits) and allowed lengths. */
const ISSUERS: readonly { from: number; to: number; lengths: readonly number[] }[] = [
  { from: 4, to: 4, lengths: [13, 16, 19] }, // Visa
  { from: 51, to: 55, lengths: [16] }, // Mastercard
  { from: 2221, to: 2720, lengths: [16] }, // Mastercard 2-series
  { from: 34, to: 34, lengths: [15] }, // Amex
  { from: 37, to: 37, lengths: [15] }, // Amex
  { from: 6011, to: 6011, lengths: [16, 17, 18, 19] }, // Discover
  { from: 644, to: 649, lengths: [16, 17, 18, 19] }, // Discover
  { from: 65, to: 65, lengths: [16, 17, 18, 19] }, // Discover
  { from: 300, to: 305, lengths: [14, 15, 16, 17, 18, 19] }, // Diners Club
  { from: 36, to: 36, lengths: [14, 15, 16, 17, 18, 19] }, // Diners Club
  { from: 38, to: 39, lengths: [16, 17, 18, 19] }, // Diners Club
  { from: 3528, to: 3589, lengths: [16, 17, 18, 19] }, // JCB
  { from: 62, to: 62, lengths: [16, 17, 18, 19] }, // UnionPay
];

/**
 * True when `digits` (separators removed) looks like a real card number: a known issuer
 * prefix, a length that issuer uses, and a valid Luhn checksum.
 *
 * @example
 * ```ts
 * isCardNumber('4' + '111111111111111'); // true (Visa test number)
 * isCardNumber('1234567890123456');      // false (no issuer starts with 1)
 * ```
 */
export function isCardNumber(digits: string): boolean {
  if (digits.length < 13 || digits.length > 19) return false;
  const fits = ISSUERS.some((issuer) => {
    const width = String(issuer.from).length;
    const prefix = Number(digits.slice(0, width));
    return prefix >= issuer.from && prefix <= issuer.to && issuer.lengths.includes(digits.length);
  });
  return fits && luhnValid(digits);
}
