/**
 * Phone numbers and postal addresses as personal data: only next to a person — a name
 * marker (さん, 様, 氏名, 님, Mr./Ms./Herr/Frau/M./Mme/Sr./Sra.) or a word that says whose
 * contact this is (電話, 連絡先, phone, Telefon, téléphone, teléfono, 住所, address, …) on the
 * same line. A company's switchboard or office address with neither stays public.
 *
 * Shapes: phone numbers in international (`+81 90-…`, `+1 (415) …`) and national notation
 * (leading 0, or the North American 3-3-4), 9–15 digits, never a filler or the
 * documentation numbers (`…1234-5678`, `555-01xx`, all zeros); addresses as written in
 * Japan (都道府県 + 市区町村 + 番地), the US, Germany, France, Spain, Portugal/Brazil, China
 * and Korea. Written for koubou from each country's postal conventions.
 *
 * To add a country: a regex in ADDRESS_SHAPES (or a phone form in PHONE), its context
 * words in CONTEXT_WORDS, and a corpus sample.
 */
import { isFillerNumber } from './nationalIds.ts';
import type { PatternRule } from './patternRule.ts';

const NAME_MARKER = /さん|様|氏名|名前|님|(?<![A-Za-z])(?:mr|ms|mrs|dr|herr|frau|mme|sr|sra|srta)\.?(?= )|(?<![A-Za-z])M\. (?=[A-Z])/i;
const PHONE_CONTEXT =
  /電話|携帯|連絡先|电话|手机|联系|전화|연락처|휴대폰|(?<![A-Za-z])(?:tel|tél|phone|mobile|cell|handy|telefon|téléphone|portable|teléfono|móvil|celular|telefone|contato|contact)(?![A-Za-z])/i;
const ADDRESS_CONTEXT =
  /住所|宛先|お届け先|送付先|〒|地址|收件人|주소|(?<![A-Za-z])(?:address|adresse|dirección|direccion|endereço|ship to|deliver to|mail to)(?![A-Za-z])/i;

/**
 * Lookup literals: the context words, matched case-sensitively in their usual forms. The
 * Latin name markers (Mr., Frau, M., Sra.) are not among them: each would cost a pass
 * over a common letter (ruleSet.ts), so a Latin-script line needs a context word (`Tel`,
 * `phone`, `Address`, `Adresse`, `Dirección`, `Endereço`, `Ship to`) to be read; CJK
 * markers (さん, 様, 님) are cheap and stay.
 */
const CONTEXT_WORDS = [
  'さん', '様', '氏名', '名前', '님', '電話', '携帯', '連絡先', '电话', '手机', '联系', '전화', '연락처', '휴대폰',
  '住所', '宛先', 'お届け先', '送付先', '〒', '地址', '收件人', '주소',
  'Tel', 'tel:', 'Tél', 'Phone', 'phone', 'Mobile', 'mobile', 'Handy', 'Teléfono', 'teléfono',
  'Address', 'Adresse', 'Dirección', 'dirección', 'Endereço', 'endereço', 'hip to',
];

const PHONE = /(?<![\w+./-])(?:\+\d{1,3}[ -]?)?(?:\(\d{1,5}\)[ -]?)?\d{1,5}(?:[ -]\d{1,8}){1,4}(?![\w./-])/g;

function isPhoneNumber(candidate: string): boolean {
  const digits = candidate.replace(/\D/g, '');
  if (digits.length < 9 || digits.length > 15 || isFillerNumber(digits)) return false;
  if (/1234[ -]?5678|555[ -]?01\d\d$|0000[ -]?0000/.test(candidate)) return false; // documentation numbers
  return /^[+(0]/.test(candidate) || /^\d{3}[ -]\d{3}[ -]\d{4}$/.test(candidate);
}

const ADDRESS_SHAPES: readonly RegExp[] = [
  // Japan: prefecture, city/ward/town/village, block number.
  /(?:東京都|北海道|京都府|大阪府|\p{sc=Han}{2,3}県)[\p{sc=Han}\p{sc=Hiragana}\p{sc=Katakana}ー]{1,15}?[市区町村郡][^\n]{0,20}?\d{1,4}(?:丁目|番地?|号|-\d)/u,
  // US: number, street name, street type.
  /\b\d{1,6} (?:[A-Z][a-z]+ ){1,3}(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Way|Place|Pl|Parkway|Pkwy)\b/,
  // Germany: street + number, postcode + town.
  /[A-ZÄÖÜ][a-zäöüß]+(?:straße|strasse|str\.|weg|platz|allee|gasse|ring|damm) \d{1,4}[a-z]?, ?\d{5} [A-ZÄÖÜ]/u,
  // France: number, street type and name, postcode + town.
  /\b\d{1,4}(?: ?(?:bis|ter))?,? (?:rue|avenue|av\.|boulevard|bd|place|chemin|allée|impasse|quai|route) [^,\n]{2,40}, ?\d{5} [A-Z]/u,
  // Spain: street type and name, number, postcode + town.
  /(?:Calle|C\/|Avenida|Avda\.|Plaza|Paseo|Camino) [^,\n]{2,40}[ ,] ?\d{1,4}[^\n]{0,20}?\b\d{5} [A-Z]/u,
  // Portugal (4-3) and Brazil (5-3 CEP).
  /(?:Rua|Avenida|Av\.|Travessa|Praça|Largo|Alameda) [^,\n]{2,40}[ ,] ?\d{1,5}[^\n]{0,30}?\b(?:\d{5}-\d{3}|\d{4}-\d{3})\b/u,
  // China: province/city, district/county, road, number.
  /\p{sc=Han}{2,4}[省市]\p{sc=Han}{1,8}?[区县市]\p{sc=Han}{1,12}?[路街道巷]\d{1,5}号/u,
  // Korea: province/city, district, road, number.
  /(?:서울|부산|대구|인천|광주|대전|울산|세종|경기|강원|충청|충북|충남|전라|전북|전남|경상|경북|경남|제주)\p{sc=Hangul}{0,6} \p{sc=Hangul}{1,6}[구시군] [\p{sc=Hangul}\d]{1,12}(?:로|길) ?\d{1,5}/u,
];

function hasPhone(line: string): boolean {
  PHONE.lastIndex = 0;
  for (let m = PHONE.exec(line); m !== null; m = PHONE.exec(line)) if (isPhoneNumber(m[0])) return true;
  return false;
}

/** `phone_number`, `postal_address` or false, for one line that holds a context word. */
function classifyLine(line: string): string | false {
  if (!/\d/.test(line)) return false;
  const person = NAME_MARKER.test(line);
  if ((person || PHONE_CONTEXT.test(line)) && /\d{2}/.test(line) && hasPhone(line)) return 'phone_number';
  if ((person || ADDRESS_CONTEXT.test(line)) && /\d/.test(line) && ADDRESS_SHAPES.some((shape) => shape.test(line))) return 'postal_address';
  return false;
}

/**
 * One rule for both: it reads each line that holds a context word once.
 *
 * @example
 * ```ts
 * new RuleSet(CONTACT_RULES).run('山田太郎さんの携帯: 090-2841-7733', report); // phone_number
 * ```
 */
export const CONTACT_RULES: PatternRule[] = [
  {
    name: 'contact_details',
    category: 'phone_number',
    keywords: CONTEXT_WORDS,
    pattern: /[^\n]+/g,
    accept: (m) => classifyLine(m[0]),
  },
];
