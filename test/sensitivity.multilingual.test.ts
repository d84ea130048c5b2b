/**
 * The rules added for issue 26, one by one: what each reports (category, rule, line), that
 * NFKC keeps line numbers, and that no finding holds the secret. Recall and false alarms
 * over many samples are sensitivity.corpus.test.ts's.
 */
import { describe, expect, it } from 'vitest';
import { SensitivityScanner } from '../src/policy/sensitivity/index.ts';
import { isValidMyNumber } from '../src/policy/sensitivity/nationalIds.ts';
import { normalizeForScan } from '../src/policy/sensitivity/normalize.ts';
import { CorpusRandom } from './fixtures/sensitivity/corpusRandom.ts';
import { fullWidth, myNumber } from './fixtures/sensitivity/corpusWords.ts';

const r = new CorpusRandom(2601);
const scanner = new SensitivityScanner();

describe('NFKC before matching', () => {
  it('turns full-width forms into ASCII and leaves ASCII text the same string', () => {
    expect(normalizeForScan('パスワード：' + fullWidth('Ab12!x'))).toBe('パスワード:Ab12!x');
    const ascii = 'const a = 1;\n'.repeat(10);
    expect(normalizeForScan(ascii)).toBe(ascii);
  });

  it('keeps line numbers: a finding after normalised lines is on its original line', async () => {
    const password = r.password();
    const text = `メモ…（全角）\n${fullWidth('ABC')}\nＤＢのパスワード＝${fullWidth(password)}\nend`;
    const result = await scanner.scanText(text);
    expect(result.findings).toEqual([{ category: 'credential', source: 'prompt', line: 3, rule: 'koubou:credential_word' }]);
    expect(JSON.stringify(result)).not.toContain(password);
  });
});

describe('rules of issue 26', () => {
  const cases: [string, () => string, string, string, string?][] = [
    ['a Japanese sentence', () => `本番のパスワードは ${r.password()} です`, 'credential', 'koubou:credential_word'],
    ['a German sentence with words between', () => `Das Passwort für den Server lautet ${r.password()}`, 'credential', 'koubou:credential_word'],
    ['mysql -p', () => `mysql -u root -p${r.password()} app`, 'credential', 'koubou:command_line_password'],
    ['mysql -p with a $ inside the password', () => `mysql -u root -pTiger$${r.digits(4)}x app`, 'credential', 'koubou:command_line_password'],
    ['PW in a Japanese mail', () => `ID: yamada / PW: ${r.password()}`, 'credential', 'koubou:credential_word'],
    ['a password after a Japanese word and a blank', () => `初期パスワード ${r.alnum(12)}! でログイン`, 'credential', 'koubou:credential_word'],
    ['a .my.cnf password ending in &', () => `password=Momiji${r.digits(4)}&`, 'credential', 'koubou:assignment', '.my.cnf'],
    ['a .netrc entry', () => `machine api.acme-corp.io login ci password Lua${r.digits(3)}_`, 'credential', 'koubou:netrc_password', '.netrc'],
    ['curl -u', () => `curl -u ci:${encodeURIComponent(r.password())} https://ci.acme-corp.io`, 'credential', 'koubou:command_line_password'],
    ['a .pgpass line', () => `db:5432:app:app:${r.password()}`, 'credential', 'koubou:pgpass_line', '.pgpass'],
    ['SECRET_KEY_BASE', () => `SECRET_KEY_BASE=${r.hex(128)}`, 'credential', 'koubou:assignment', '.env'],
    ['a Docker auth', () => `{"auth": "${Buffer.from(`ci:${r.password()}`).toString('base64')}"}`, 'credential', 'koubou:basic_auth_base64', 'config.json'],
    ['a My Number', () => `個人番号: ${myNumber(r)}`, 'national_id', 'koubou:my_number'],
    ['a passport number', () => `Passport No. TK${r.digits(7)}`, 'national_id', 'koubou:passport_number'],
    ['a phone next to a name', () => `山田様 携帯 090-${r.int(2000, 9000)}-${r.int(1000, 9999)}`, 'phone_number', 'koubou:phone_number'],
    ['an address next to a name', () => `住所: 東京都世田谷区桜${r.int(1, 5)}-${r.int(1, 9)}-${r.int(1, 9)} 山田様`, 'postal_address', 'koubou:postal_address'],
    ['an assembled key', () => `token = "gh" + "p_" + "${r.alnum(36)}"`, 'api_key', 'koubou:assembled_key', 'x.py'],
    ['a Twilio client', () => `Client("AC${r.hex(32)}", "${r.hex(32)}")`, 'api_key', 'koubou:twilio_client', 'sms.py'],
  ];
  for (const [what, make, category, rule, source] of cases) {
    it(`reports ${what} as ${category} (${rule}), without its value`, async () => {
      const text = make();
      for (const useSecretlint of [true, false]) {
        const result = await new SensitivityScanner({ useSecretlint }).scanText(`first line\n${text}`, source);
        expect(result.level, text).toBe('confidential');
        expect(result.findings, text).toContainEqual({ category, source: source ?? 'prompt', line: 2, rule });
        expect(JSON.stringify(result)).not.toContain(text.slice(-8));
      }
    });
  }
});

it('reports a key file that holds nothing but the key (Rails config/master.key)', async () => {
  const key = r.hex(32);
  const result = await scanner.scanText(`${key}\n`, 'config/master.key');
  expect(result.findings).toEqual([{ category: 'credential', source: 'config/master.key', line: 1, rule: 'koubou:key_file' }]);
  expect((await scanner.scanText(`${key}\n`, 'notes.txt')).level).toBe('public');
});

/** The same number with another check digit (the check digit is unique, so this one is wrong). */
const wrongCheckDigit = (good: string): string => good.slice(0, 11) + String((Number(good.charAt(11)) + 5) % 10);

describe('what stays public', () => {
  for (const text of [
    'パスワードを忘れた方はこちら',
    'パスワード：<パスワード>',
    'mysql -u root -p',
    'curl -u "$USER:$TOKEN" https://api.acme-corp.io',
    `個人番号: ${wrongCheckDigit(myNumber(r))}`,
    'GITHUB_TOKEN=ghp_' + 'x'.repeat(36),
    'const token = "gh" + "p_" + gen(36);',
  ]) {
    it(JSON.stringify(text.slice(0, 40)), async () => {
      expect((await scanner.scanText(text)).level).toBe('public');
    });
  }
});

describe('isValidMyNumber', () => {
  it('checks the check digit (the published example 123456789018)', () => {
    expect(isValidMyNumber('123456789018')).toBe(true);
    expect(isValidMyNumber('123456789012')).toBe(false);
    for (let i = 0; i < 50; i++) expect(isValidMyNumber(myNumber(r))).toBe(true);
  });
});
