/**
 * National identifiers beyond SSNs: Japan's My Number (個人番号) with its check digit,
 * Japan's basic pension number (基礎年金番号), and passport and driving-licence numbers.
 * Each needs a context word on its line (the keyword), since twelve digits alone are an
 * order number as often as anything: the number must sit next to what names it.
 *
 * - My Number: 12 digits (grouped 4-4-4 or not); the last is a check digit
 *   (行政手続における特定の個人を識別するための番号の利用等に関する法律施行令 第8条:
 *   weights 2–7, 2–6 from the right, mod 11).
 * - 基礎年金番号: 4 + 6 digits. No check digit is published, so the rule is the format and
 *   the context word; fillers (`0000-000000`) are not numbers.
 * - Passports and driving licences: one token of 6–16 capitals and digits with enough
 *   digits (`TK1234567`, `C01X00T47`, `123456789012`), after one of the words in the
 *   languages listed; fillers (`XX0000000`) are not numbers.
 *
 * Context words are matched case-sensitively, as written at the start of a label or a
 * sentence (`Passport`, `Reisepass`, `Driving licence`), or by a part that holds a rare
 * character (`r's licen` for driver's licence, `arné de conducir`): a lower-case
 * `passport` would cost a pass over every `p` of every text (ruleSet.ts).
 *
 * To add a document: a rule with its context words and the token's shape, and a corpus sample.
 */
import type { PatternRule } from './patternRule.ts';

/**
 * True when `digits` (12 of them) carries a valid My Number check digit.
 *
 * @example
 * ```ts
 * isValidMyNumber('123456789018'); // true
 * isValidMyNumber('123456789012'); // false
 * ```
 */
export function isValidMyNumber(digits: string): boolean {
  if (!/^\d{12}$/.test(digits)) return false;
  let sum = 0;
  for (let n = 1; n <= 11; n++) sum += Number(digits.charAt(11 - n)) * (n <= 6 ? n + 1 : n - 5);
  const rest = sum % 11;
  return Number(digits.charAt(11)) === (rest <= 1 ? 0 : 11 - rest);
}

/** Repeated or counting-up digits: how documentation writes an example number. */
export function isFillerNumber(digits: string): boolean {
  if (/^(\d)\1*$/.test(digits)) return true;
  return '01234567890123456789'.includes(digits) || '98765432109876543210'.includes(digits);
}

const MY_NUMBER_WORDS = ['マイナンバー', '個人番号', 'My Number', 'my number', 'MyNumber', 'mynumber'];
const PENSION_WORDS = ['基礎年金番号', '年金番号', 'pension number', 'Pension number', 'basic pension', 'Basic pension'];
const PASSPORT_WORDS = ['パスポート', '旅券', '护照', '護照', '여권', 'Passport', 'Reisepass', 'Passeport', 'Pasaporte', 'Passaporte', 'N° de passeport', 'nº de pasaporte'];
const LICENCE_WORDS = [
  '運転免許', '免許証', "r's licen", 'Driving licen', 'ührerschein', 'Permis de conduire', 'arné de conducir',
  'Licencia de conducir', 'Carteira de motorista', 'CNH', '驾驶证', '驾照', '駕照', '운전면허',
];

/** A document-number token: capitals and digits, not inside a longer word or number. */
const DOCUMENT_TOKEN = /(?<![A-Za-z0-9_.-])[A-Z0-9]{6,16}(?![A-Za-z0-9_-])/g;

function isDocumentNumber(token: string): boolean {
  const digits = token.replace(/\D/g, '');
  if (digits.length === 0 || (digits.length === token.length && digits.length < 7)) return false;
  if (token.length - digits.length > 9) return false; // a word in capitals, not a number
  return digits.length < 4 || !isFillerNumber(digits);
}

/**
 * @example
 * ```ts
 * new RuleSet(NATIONAL_ID_RULES).run('個人番号: 1234 5678 9018', report); // national_id
 * ```
 */
export const NATIONAL_ID_RULES: PatternRule[] = [
  {
    name: 'my_number',
    category: 'national_id',
    keywords: MY_NUMBER_WORDS,
    pattern: /(?<![\d-])\d{4}[ -]?\d{4}[ -]?\d{4}(?![\d-])/g,
    accept: (m) => isValidMyNumber(m[0].replace(/\D/g, '')),
  },
  {
    name: 'pension_number',
    category: 'national_id',
    keywords: PENSION_WORDS,
    pattern: /(?<![\d-])\d{4}-?\d{6}(?![\d-])/g,
    accept: (m) => !isFillerNumber(m[0].replace(/\D/g, '').slice(4)),
  },
  {
    name: 'passport_number',
    category: 'national_id',
    keywords: PASSPORT_WORDS,
    pattern: DOCUMENT_TOKEN,
    accept: (m) => isDocumentNumber(m[0]),
  },
  {
    name: 'drivers_license',
    category: 'national_id',
    keywords: LICENCE_WORDS,
    pattern: DOCUMENT_TOKEN,
    accept: (m) => isDocumentNumber(m[0]),
  },
];
