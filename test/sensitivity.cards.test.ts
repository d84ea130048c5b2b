import { describe, expect, it } from 'vitest';
import { isCardNumber, luhnValid } from '../src/policy/sensitivity/luhn.ts';
import { SensitivityScanner } from '../src/policy/sensitivity/index.ts';
import { seededText } from './support/util.ts';
import { loadConfig } from '../src/config/index.ts';
import { dryRunRoute } from '../src/routing/dryRunRoute.ts';
import { offlineServices } from '../src/routing/offlineServices.ts';

/*
 * Every card network's issuer ranges: a Luhn-valid number in each is confidential in the
 * prompt, in code, and when it travels only in an attached `.env` or YAML file. Numbers are
 * generated here (prefix + seeded digits + the Luhn check digit), so no file holds one.
 */

/** Appends the Luhn check digit that makes `body` valid. */
function withCheckDigit(body: string): string {
  for (let d = 0; d <= 9; d++) if (luhnValid(body + d)) return body + d;
  throw new Error(`no check digit for ${body}`);
}

/** A Luhn-valid number of `length` digits opening with `prefix`. */
function cardNumber(prefix: string, length: number, seed: number): string {
  let state = seed;
  let body = prefix;
  while (body.length < length - 1) {
    state = (state * 1103515245 + 12345) % 2147483648;
    body += String(state % 10);
  }
  return withCheckDigit(body);
}

/** Each network's ranges as published, with the lengths it issues. */
const NETWORKS: [network: string, prefixes: string[], lengths: number[]][] = [
  ['Visa', ['4'], [13, 16, 19]],
  ['Mastercard', ['51', '53', '55', '2221', '2500', '2720'], [16]],
  ['American Express', ['34', '37'], [15]],
  ['Discover', ['6011', '622126', '622925', '644', '649', '65'], [16, 19]],
  ['Maestro', ['50', '5018', '5020', '5038', '56', '58', '5893', '6304', '6759', '6761', '6763', '69'], [12, 13, 16, 19]],
  ['UnionPay', ['62', '81'], [16, 17, 19]],
  ['JCB', ['3528', '3589'], [16, 19]],
  ['Diners Club', ['300', '305', '3095', '36', '38', '39'], [14, 16]],
  ['RuPay', ['60', '65', '81', '82', '508'], [16]],
  ['Mir', ['2200', '2204'], [16, 19]],
  ['Verve', ['506099', '506198', '650002', '650027', '507865'], [16, 18, 19]],
  ['Troy', ['9792', '65'], [16]],
  ['Dankort', ['5019'], [16]],
  ['InterPayment / InstaPayment', ['636', '637', '639'], [16]],
  ['Elo', ['401178', '438935', '504175', '627780', '636297'], [16]],
  ['Hipercard', ['606282', '3841'], [16, 19]],
  ['UATP', ['1'], [15]],
  ['GPN', ['1946'], [16]],
  ['UzCard / Humo / Belkart', ['8600', '9860', '9112'], [16]],
  ['BORICA', ['2205'], [16]],
  ['LankaPay', ['357111'], [16]],
];

const CASES = NETWORKS.flatMap(([network, prefixes, lengths]) =>
  prefixes.flatMap((prefix, i) => lengths.map((length, j) => ({ network, number: cardNumber(prefix, length, 31 * i + j + 1) }))),
);

const scanner = new SensitivityScanner();

describe('payment cards of every network', () => {
  it('reads the leaked Maestro number from the field report as a card', () => {
    expect(isCardNumber('5036630973040836')).toBe(true);
  });

  it.each(CASES)('$network $number is a card number', ({ number }) => {
    expect(isCardNumber(number)).toBe(true);
  });

  it.each(CASES)('$network $number in code is confidential', async ({ number }) => {
    const result = await scanner.scanText(`charge(${number}, amount=120)`, 'prompt');
    expect(result.level).toBe('confidential');
    expect(result.categories).toContain('credit_card');
  });

  it('a card only in an attached .env or YAML file makes the task confidential, sourced to the file', async () => {
    const maestro = cardNumber('5038', 16, 5);
    const unionPay = cardNumber('62', 19, 6);
    const result = await scanner.scan({
      prompt: 'write the integration test for the checkout',
      files: [
        { path: '.env', content: `STRIPE_MODE=test\nTEST_CARD=${maestro}\n` },
        { path: 'config/app.yaml', content: `payments:\n  fallback_card: "${unionPay}"\n` },
      ],
    });
    expect(result.level).toBe('confidential');
    expect(result.findings.filter((f) => f.category === 'credit_card').map((f) => [f.source, f.line])).toEqual([
      ['.env', 2],
      ['config/app.yaml', 2],
    ]);
  });

  it('routes hard work holding a card only in an attached .env to the local tier', async () => {
    const config = loadConfig({ env: {} });
    const services = offlineServices(config);
    try {
      const task = {
        taskId: 't-card-env',
        type: 'code_generation' as const,
        priority: 5,
        prompt: 'design a distributed, lock-free architecture for the payment service',
        files: [{ path: '.env', content: `CARD=${cardNumber('50', 16, 9)}\n` }],
      };
      const decision = await dryRunRoute(task, config, services);
      expect(decision.tier).toBe('local');
      expect(decision.sensitivity.level).toBe('confidential');
    } finally {
      services.close();
    }
  });

  it('a separated card number (spaces or dashes) is found as well', async () => {
    const n = cardNumber('6763', 16, 11);
    const grouped = n.replace(/(\d{4})(?=\d)/g, '$1 ');
    expect((await scanner.scanText(`card: ${grouped}`, 'prompt')).level).toBe('confidential');
    expect((await scanner.scanText(`card=${grouped.replaceAll(' ', '-')}`, 'prompt')).level).toBe('confidential');
  });

  it('an unknown prefix, a wrong length or a failed checksum is not a card', async () => {
    // No network issues under 0 or 7: ids and timestamps that pass Luhn by chance stay public.
    for (const n of [cardNumber('7', 16, 1), cardNumber('0', 16, 2), cardNumber('9000', 16, 3)]) {
      expect(isCardNumber(n)).toBe(false);
      expect((await scanner.scanText(`order_id = ${n}`, 'prompt')).level).toBe('public');
    }
    expect(isCardNumber(cardNumber('34', 16, 4))).toBe(false); // Amex issues 15 digits only
    expect(isCardNumber(cardNumber('51', 13, 4))).toBe(false); // Mastercard issues 16 only
    const valid = cardNumber('5036', 16, 12);
    const broken = valid.slice(0, -1) + String((Number(valid.at(-1)) + 1) % 10);
    expect(isCardNumber(broken)).toBe(false);
    expect((await scanner.scanText('timestamp 1716000000000 and 1716000000123456', 'prompt')).level).toBe('public');
  });
});

/*
 * Rules that recognise a secret by a listed prefix say what they do with an unknown one;
 * each case pairs an unknown-prefix secret with a clean text of the same shape.
 */
describe('secrets whose prefix no rule lists', () => {
  const random = (length: number, seed: number, alphabet = 'abcdefghijkmnopqrstuvwxyz0123456789'): string => seededText(length, seed, alphabet);

  it('an sk- key with an unannounced sub-prefix is an api key when the rest looks random', async () => {
    const key = 'sk-' + 'neo-' + random(48, 3);
    expect((await scanner.scanText(`client = Client("${key}")`, 'prompt')).categories).toContain('api_key');
    expect((await scanner.scanText('pip install sk-learn-compatible-estimator-toolkit-extension', 'prompt')).level).toBe('public');
  });

  it('a GitHub token of a kind not yet listed (gh?_) is an api key', async () => {
    const token = 'gh' + 'x_' + random(36, 4, 'ABCDEFGHabcdefgh0123456789');
    expect((await scanner.scanText(`git clone https://x:${token}@example.com/r.git`, 'prompt')).categories).toContain('api_key');
    expect((await scanner.scanText('the ghx_ prefix is reserved', 'prompt')).level).toBe('public');
  });

  it('an Authorization header of an unknown scheme is a credential; prose after "Authorization:" is not', async () => {
    const token = random(40, 5, 'ABCDEFabcdef0123456789');
    expect((await scanner.scanText(`curl -H "Authorization: SSWS ${token}" https://acme.okta.test`, 'prompt')).categories).toContain('credential');
    expect((await scanner.scanText('Authorization: required for every endpoint of the admin API', 'prompt')).level).toBe('public');
  });

  it('a key of an unknown provider is found by its context: a secret-like name in .env or YAML', async () => {
    const key = 'zz9_' + random(40, 6, 'ABCDEFGHJKabcdefghjk0123456789');
    const result = await scanner.scan({
      prompt: 'wire the new provider into the client',
      files: [
        { path: '.env', content: `NEWPROVIDER_API_KEY=${key}\n` },
        { path: 'config/app.yaml', content: `newprovider:\n  api_key: "${key}"\n` },
      ],
    });
    expect(result.level).toBe('confidential');
    expect(result.findings.map((f) => f.source).sort()).toEqual(['.env', 'config/app.yaml']);
    // The same value with no secret-like name, in prose, is not recognised: the rules say so.
    expect((await scanner.scanText(`build ${key} finished`, 'prompt')).level).toBe('public');
  });
});
