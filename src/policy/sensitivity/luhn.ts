/**
 * Payment card checks: the Luhn checksum plus a real issuer prefix and length, so that
 * random 12–19 digit numbers (timestamps, ids) rarely pass.
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

/**
 * Issuer (IIN) prefix ranges, inclusive and compared on the same number of leading digits,
 * with the lengths issued under them. The list covers every card network's published
 * ranges; where ranges of several networks nest, the widest one stands for them all:
 * `56`–`69` with 12–19 digits is Maestro's range and holds Discover, UnionPay 62, RuPay
 * 60/65, Troy 65, InterPayment 636, InstaPayment 637–639, Elo 6xxx, Verve 650, Hipercard
 * 606282 and the Maestro prefixes 5893, 6304, 6759, 6761–6763; `50` likewise holds Maestro,
 * Verve 506/507, RuPay 508, Dankort 5019 and GPN 50.
 *
 * An unknown prefix: a Luhn-valid number whose leading digits no network issues under
 * (0, 7, most of 8 and 9) is not a card, since ids and timestamps pass Luhn one time in ten
 * and no network could have issued it. A network that opens a new range needs a row here.
 */
const ISSUERS: readonly { from: number; to: number; lengths: readonly number[]; network: string }[] = [
  { from: 1, to: 1, lengths: [15], network: 'UATP' },
  { from: 1946, to: 1946, lengths: [16, 18, 19], network: 'GPN' },
  { from: 2200, to: 2204, lengths: [16, 17, 18, 19], network: 'Mir' },
  { from: 2205, to: 2205, lengths: [16], network: 'BORICA' },
  { from: 2221, to: 2720, lengths: [16], network: 'Mastercard 2-series' },
  { from: 300, to: 305, lengths: [14, 15, 16, 17, 18, 19], network: 'Diners Club' },
  { from: 3095, to: 3095, lengths: [14, 15, 16, 17, 18, 19], network: 'Diners Club' },
  { from: 34, to: 34, lengths: [15], network: 'American Express' },
  { from: 36, to: 36, lengths: [14, 15, 16, 17, 18, 19], network: 'Diners Club' },
  { from: 37, to: 37, lengths: [15], network: 'American Express' },
  { from: 38, to: 39, lengths: [14, 15, 16, 17, 18, 19], network: 'Diners Club' },
  { from: 3528, to: 3589, lengths: [16, 17, 18, 19], network: 'JCB' },
  { from: 357111, to: 357111, lengths: [16], network: 'LankaPay' },
  { from: 3841, to: 3841, lengths: [16, 17, 18, 19], network: 'Hipercard' },
  { from: 4, to: 4, lengths: [13, 14, 15, 16, 17, 18, 19], network: 'Visa (and Elo, Visa Electron)' },
  { from: 50, to: 50, lengths: [12, 13, 14, 15, 16, 17, 18, 19], network: 'Maestro, Verve, RuPay, Dankort, GPN' },
  { from: 51, to: 55, lengths: [16], network: 'Mastercard' },
  { from: 56, to: 69, lengths: [12, 13, 14, 15, 16, 17, 18, 19], network: 'Maestro, Discover, UnionPay, RuPay, Troy, Elo, …' },
  { from: 81, to: 82, lengths: [16, 17, 18, 19], network: 'UnionPay 81, RuPay 82' },
  { from: 8600, to: 8600, lengths: [16], network: 'UzCard' },
  { from: 9112, to: 9112, lengths: [16], network: 'Belkart' },
  { from: 9792, to: 9792, lengths: [16], network: 'Troy' },
  { from: 9860, to: 9860, lengths: [16], network: 'Humo' },
];

/** Shortest and longest card number any network issues. */
export const CARD_MIN_DIGITS = 12;
export const CARD_MAX_DIGITS = 19;

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
  if (digits.length < CARD_MIN_DIGITS || digits.length > CARD_MAX_DIGITS) return false;
  const fits = ISSUERS.some((issuer) => {
    const width = String(issuer.from).length;
    const prefix = Number(digits.slice(0, width));
    return prefix >= issuer.from && prefix <= issuer.to && issuer.lengths.includes(digits.length);
  });
  return fits && luhnValid(digits);
}
