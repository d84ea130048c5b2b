/**
 * IBAN validation: a known country code, that country's length and the ISO 13616
 * mod-97 checksum. The length table keeps uppercase codes that merely start with two
 * letters and two digits from being read as account numbers.
 */

/** IBAN length per country (SWIFT IBAN registry). */
const LENGTHS: Readonly<Record<string, number>> = Object.fromEntries(
  (
    'AD24 AE23 AL28 AT20 AZ28 BA20 BE16 BG22 BH22 BI27 BR29 BY28 CH21 CR22 CY28 CZ24 DE22 DJ27 DK18 ' +
    'DO28 EE20 EG29 ES24 FI18 FK18 FO18 FR27 GB22 GE22 GI23 GL18 GR27 GT28 HR21 HU28 IE22 IL23 IQ23 ' +
    'IS26 IT27 JO30 KW30 KZ20 LB28 LC32 LI21 LT20 LU20 LV21 LY25 MC27 MD24 ME22 MK19 MN20 MR27 MT31 ' +
    'MU30 NI28 NL18 NO15 OM23 PK24 PL28 PS29 PT25 QA29 RO24 RS22 RU33 SA24 SC31 SD18 SE24 SI19 SK24 ' +
    'SM27 SO23 ST25 SV28 TL23 TN24 TR26 UA29 VA22 VG24 XK20 YE30'
  )
    .split(' ')
    .map((entry) => [entry.slice(0, 2), Number(entry.slice(2))]),
);

/**
 * Expected IBAN length for a two-letter country code, or undefined for non-IBAN countries.
 *
 * @example
 * ```ts
 * ibanLength('DE'); // 22
 * ```
 */
export function ibanLength(country: string): number | undefined {
  return LENGTHS[country];
}

/**
 * True when `iban` (uppercase, no spaces) has a known country, its length and a valid
 * mod-97 checksum.
 *
 * @example
 * ```ts
 * isValidIban('GB82WEST12345698765432'); // true  (the registry's own example)
 * isValidIban('GB82WEST12345698765433'); // false
 * ```
 */
export function isValidIban(iban: string): boolean {
  if (ibanLength(iban.slice(0, 2)) !== iban.length) return false;
  const rearranged = iban.slice(4) + iban.slice(0, 4);
  // Digit-by-digit remainder: the number is far too long for a double.
  let rest = 0;
  for (const ch of rearranged) {
    const code = ch.charCodeAt(0);
    if (code >= 48 && code <= 57) rest = (rest * 10 + (code - 48)) % 97;
    else if (code >= 65 && code <= 90) rest = (rest * 100 + (code - 55)) % 97;
    else return false;
  }
  return rest === 1;
}
