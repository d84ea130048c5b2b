import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { SensitivityResult } from '../src/core/types.ts';
import { SensitivityScanner } from '../src/policy/sensitivity/index.ts';
import { seededText as gen } from './support/util.ts';

/*
 * Test secrets are assembled at run time (prefix + generated body) so that no file in
 * the repository holds anything that looks like a real credential.
 */

const UPPER_DIGITS = 'ABCDEFGHJKLMNPQRSTUVWXYZ234567';
const b64url = (value: string): string => Buffer.from(value).toString('base64url');

const tokens = {
  openai: () => 'sk-' + 'proj-' + gen(48, 1),
  openaiLegacy: () => 'sk-' + gen(48, 2),
  github: () => 'gh' + 'p_' + gen(36, 3),
  githubFine: () => 'github' + '_pat_' + gen(22, 4) + '_' + gen(59, 5),
  slack: () => 'xo' + 'xb-' + '2417' + '3902' + '1234-' + gen(24, 6),
  stripe: () => 'sk' + '_live_' + gen(24, 7),
  google: () => 'AI' + 'za' + gen(35, 8),
  aws: () => 'AK' + 'IA' + gen(16, 9, UPPER_DIGITS),
  jwt: () =>
    b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' })) +
    '.' +
    b64url(JSON.stringify({ sub: '42', name: 'Ada', iat: 1716000000 })) +
    '.' +
    gen(43, 10),
  privateKey: (kind = 'RSA ') =>
    '-----BEGIN ' + kind + 'PRIVATE KEY-----\n' + [gen(64, 11), gen(64, 12), gen(20, 13)].join('\n') + '\n-----END ' + kind + 'PRIVATE KEY-----',
};

const scanner = new SensitivityScanner();
const scan = (text: string, source?: string): Promise<SensitivityResult> => scanner.scanText(text, source);

async function expectCategory(text: string, category: string, source?: string): Promise<SensitivityResult> {
  const result = await scan(text, source);
  expect(result.categories, text).toContain(category);
  expect(result.level, text).toBe(category === 'internal_marker' ? 'internal' : 'confidential');
  return result;
}

async function expectPublic(text: string, source?: string): Promise<void> {
  const result = await scan(text, source);
  expect(result, text).toEqual({ level: 'public', categories: [], findings: [] });
}

describe('SensitivityScanner: mandatory negatives stay public', () => {
  const prompts = [
    'add a password reset form',
    'implement JWT token refresh',
    'write a function that validates a token',
    'organize a secret santa draw',
    'rename the api_key variable to apiKey',
    'store the password hash with bcrypt',
    'function login(password: string)',
    'const token = await getToken()',
    'the secret to good code is tests',
    'fix the typo in README',
    'const apiKey = process.env.OPENAI_API_KEY',
    'use the id 123e4567-e89b-12d3-a456-426614174000 for the fixture',
    'the regression came in with commit 3f2a9c1e5b7d4f6a8c0e2b4d6f8a0c2e4b6d8f0a last week',
    'numbers like 1234-5678 should be formatted with a dash',
    'order id 4000123456 was shipped twice; see ticket ORD-2024-000123',
    'refactor the internal API and the internal function that parses it',
    'implement bearer token authentication for the API',
    'encrypt confidential fields at rest',
  ];
  for (const prompt of prompts) it(prompt, () => expectPublic(prompt));

  it('an ordinary 200-line TypeScript module, as prompt and as a .ts file', async () => {
    const module = readFileSync(new URL('./fixtures/sensitivity/ordinary-module.ts.txt', import.meta.url), 'utf8');
    expect(module.split('\n').length).toBeGreaterThan(180);
    await expectPublic(module);
    await expectPublic(module, 'src/inventory/client.ts');
  });
});

describe('api_key', () => {
  it('flags an OpenAI project key even when it is all lower case', async () => {
    await expectCategory('OPENAI=sk-proj-abc123def456ghi789jkl012mno345pqr678stu901', 'api_key');
  });

  it('flags provider key formats', async () => {
    for (const token of [tokens.openai(), tokens.openaiLegacy(), tokens.github(), tokens.githubFine(), tokens.slack(), tokens.stripe(), tokens.google(), tokens.aws()]) {
      await expectCategory(`use this key: ${token}`, 'api_key');
    }
  });

  it('ignores placeholders, AWS documentation ids and look-alike slugs', async () => {
    await expectPublic('set OPENAI_API_KEY to sk-your-api-key-here-xxxxxxxxxxxx');
    await expectPublic('export AWS_ACCESS_KEY_ID=' + 'AKIA' + 'IOSFODNN7' + 'EXAMPLE');
    await expectPublic('pip install sk-learn-compatible-estimator-toolkit');
    await expectPublic('the ghp_ prefix marks a GitHub personal token');
  });
});

describe('secretlint integration', () => {
  it('reports secretlint findings under secretlint:<ruleId>', async () => {
    const result = await expectCategory(`token ${tokens.github()}`, 'api_key');
    expect(result.findings.map((f) => f.rule)).toContain('secretlint:@secretlint/secretlint-rule-github');
  });

  it('maps AWS secret access keys to cloud_credentials', async () => {
    const text = `aws_secret_access_key = "${gen(40, 14)}"`;
    const result = await expectCategory(text, 'cloud_credentials');
    expect(result.findings.find((f) => f.category === 'cloud_credentials')?.rule).toBe('secretlint:@secretlint/secretlint-rule-aws');
  });

  it('covers .npmrc auth tokens, GCP service-account JSON and Slack webhooks', async () => {
    const npmrc = await expectCategory('//registry.npmjs.org/:_authToken=' + 'npm_' + gen(36, 21), 'api_key', '.npmrc');
    expect(npmrc.findings.map((f) => f.rule)).toContain('secretlint:@secretlint/secretlint-rule-npm');
    await expectPublic('//registry.npmjs.org/:_authToken=${NPM_TOKEN}', '.npmrc');
    // JSON.stringify writes the key's newlines as `\n` escapes, as in real GCP key files.
    const key = '-----BEGIN ' + 'PRIVATE KEY-----\n' + gen(64, 22) + '\n-----END ' + 'PRIVATE KEY-----\n';
    const json = JSON.stringify({ type: 'service_account', private_key_id: gen(40, 23), private_key: key });
    await expectCategory(json, 'private_key', 'gcp-sa.json');
    await expectCategory('notify https://hooks.slack.com/services/T0' + '1234567/B0' + '7654321/' + gen(24, 24), 'api_key');
  });

  it('keeps koubou rules working without secretlint', async () => {
    const result = await new SensitivityScanner({ useSecretlint: false }).scanText(`token ${tokens.github()}`);
    expect(result.level).toBe('confidential');
    expect(result.findings.every((f) => f.rule.startsWith('koubou:'))).toBe(true);
    expect(result.findings.map((f) => f.rule)).toContain('koubou:github_token');
  });

  it('a secretlint-disable comment does not hide a secret', async () => {
    const result = await scan(`// secretlint-disable\nconst t = "${tokens.github()}";\n// secretlint-enable`);
    expect(result.level).toBe('confidential');
    expect(result.findings.some((f) => f.rule.startsWith('secretlint:') && f.line === 2)).toBe(true);
  });

  it('maps secretlint lines back to the original text in large inputs', async () => {
    const filler = Array.from({ length: 500 }, (_, i) => `const value${i} = compute(${i});`).join('\n');
    const result = await scan(`${filler}\nconst t = "${tokens.github()}";\n${filler}`, 'src/big.ts');
    const hit = result.findings.find((f) => f.rule === 'secretlint:@secretlint/secretlint-rule-github');
    expect(hit?.line).toBe(501);
  });
});

describe('bearer_token', () => {
  it('flags Authorization: Bearer <token> and bearer <token-like>', async () => {
    await expectCategory(`curl -H "Authorization: Bearer ${gen(32, 15)}" https://api.example.com`, 'bearer_token');
    await expectCategory(`the header was bearer ${gen(24, 16)}`, 'bearer_token');
  });

  it('ignores prose, placeholders and variables', async () => {
    await expectPublic('send the bearer token in the Authorization header');
    await expectPublic('Authorization: Bearer <token>');
    await expectPublic('curl -H "Authorization: Bearer $TOKEN" https://api.example.com');
    await expectPublic('headers: { Authorization: `Bearer ${accessToken}` }');
    await expectPublic('Authorization: Bearer YOUR_ACCESS_TOKEN_HERE');
  });
});

describe('jwt', () => {
  it('flags three base64url segments starting eyJ', async () => {
    await expectCategory(`decode this: ${tokens.jwt()}`, 'jwt');
  });

  it('ignores a lone eyJ segment', async () => {
    await expectPublic(`the header alone is ${b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))}`);
  });
});

describe('private_key', () => {
  it('flags RSA, EC, OPENSSH, PKCS#8 and PGP private keys', async () => {
    for (const kind of ['RSA ', 'EC ', 'OPENSSH ', '']) await expectCategory(`key:\n${tokens.privateKey(kind)}`, 'private_key');
    await expectCategory('-----BEGIN PGP ' + 'PRIVATE KEY BLOCK-----\n' + gen(64, 17), 'private_key');
  });

  it('ignores public keys and certificates', async () => {
    await expectPublic('-----BEGIN PUBLIC KEY-----\n' + gen(64, 18) + '\n-----END PUBLIC KEY-----');
    await expectPublic('-----BEGIN CERTIFICATE-----\n' + gen(64, 19) + '\n-----END CERTIFICATE-----');
  });
});

describe('connection_string', () => {
  it('flags URIs with a password', async () => {
    for (const uri of [
      'postgres://app:' + 'Sup3rS3cret' + '@db.prod.acme-corp.io:5432/app',
      'mongodb+srv://admin:' + 'Xy7pQ2w9' + '@cluster0.mongodb.net/test',
      'mysql://root:' + 'r00tpw!' + '@localhost/db',
      'redis://:' + 's3cr3tpass' + '@cache:6379/0',
      'amqp://guest:' + 'rabbit123pw' + '@mq:5672',
    ]) {
      await expectCategory(`DATABASE_URL=${uri}`, 'connection_string');
    }
  });

  it('ignores URIs without a password or with a placeholder', async () => {
    await expectPublic('connect to postgres://localhost/db');
    await expectPublic('postgres://user@localhost:5432/db');
    await expectPublic('postgres://user:${PASSWORD}@localhost/db');
    await expectPublic('postgres://user:<password>@localhost/db');
    await expectPublic('postgres://user:password@localhost/db');
  });

  it('does not also report the user info as an email address', async () => {
    const result = await scan('mongodb://admin:' + 'Xy7pQ2w9' + '@cluster0.mongodb.net');
    expect(result.categories).toEqual(['connection_string']);
  });
});

describe('credential', () => {
  it('flags literal values assigned to secret names', async () => {
    const cases: [string, string?][] = [
      ['password = "hunter2"'],
      ['DB_PASSWORD=s3cr3t', '.env'],
      ['{ "password": "abc123" }', 'config/app.json'],
      ['password: hunter2', 'config/app.yaml'],
      ['client_secret: "9f8e7d6c5b4a"'],
      ['const dbPassword = "Tr0ub4dor&3";', 'src/db.ts'],
      ['export PGPASSWORD=correcthorse'],
      ['mysql --password hunter2'],
      ['password: string = "hunter2x"'],
      ['conn = "Server=db;User Id=app;Password=Winter2024!;"', 'src/db.ts'],
      ['API_KEY_2=abcd1234efgh5678'],
    ];
    for (const [text, source] of cases) await expectCategory(text, 'credential', source);
  });

  it('ignores types, references, empties and placeholders', async () => {
    const cases: [string, string?][] = [
      ['password: string'],
      ['interface User { password: string; token?: string }', 'src/user.ts'],
      ['password = None'],
      ['password = null'],
      ['password = undefined'],
      ['password = ""'],
      ['password = os.environ["DB_PASSWORD"]', 'app/settings.py'],
      ['password = os.getenv("DB_PASSWORD")'],
      ['const password = process.env.DB_PASSWORD;'],
      ['password: ${DB_PASSWORD}', 'docker-compose.yml'],
      ['password: <your-password>'],
      ['api_key = "your_api_key_here"'],
      ['password = "changeme"'],
      ['password: "********"'],
      ['token = "xxxxxxxxxxxx"'],
      ['password = userPassword;'],
      ['const password = provider ? a : b'],
      ['placeholder: "Enter your password"'],
      ['const nextPageToken = "abc123def456";', 'src/page.ts'],
      ['maxTokens: 4096'],
      ['password: required for login'],
    ];
    for (const [text, source] of cases) await expectPublic(text, source);
  });

  it('flags passwords written in prose', async () => {
    for (const text of [
      'the db password is S3cr3t!Pass',
      'login with admin / P@ssw0rd123 and fix the dashboard',
      'the staging password was hunter22, please rotate it',
      'Sign in as ops@example.org with Winter2024!Xy then check the logs',
    ]) await expectCategory(text, 'credential');
  });

  it('keeps prose about passwords and logins public', async () => {
    for (const text of [
      'the password is required and must be at least 12 characters',
      'check that the password has an Upper case letter, a digit and a symbol',
      'write a login page: useState(false), Login.tsx and an onSubmit handler',
      'the password is hashed with argon2id before it is stored',
      'add a "forgot password" link to the sign in form',
      'password was reset by the user; log the event',
    ]) await expectPublic(text);
  });
});

describe('high_entropy_secret', () => {
  const value = gen(32, 20);

  it('flags a random value on a secret-ish name other rules miss', async () => {
    const result = await expectCategory(`signing_salt = "${value}"`, 'high_entropy_secret');
    expect(result.findings[0]?.rule).toBe('koubou:high_entropy_assignment');
  });

  it('honours the entropy threshold option', async () => {
    const strict = new SensitivityScanner({ entropyThreshold: 7 });
    expect((await strict.scanText(`signing_salt = "${value}"`)).level).toBe('public');
    const lowEntropy = 'session_salt = "aaaabbbbccccdddd1"';
    expect((await scanner.scanText(lowEntropy)).level).toBe('public');
    const lax = new SensitivityScanner({ entropyThreshold: 1 });
    expect((await lax.scanText(lowEntropy)).categories).toEqual(['high_entropy_secret']);
  });

  it('ignores UUIDs, paths and words on the same names', async () => {
    await expectPublic('cacheKey = "123e4567-e89b-12d3-a456-426614174000"');
    await expectPublic('signing_key_path = "/etc/keys/signing-2024.pem"');
    await expectPublic('i18nKey: "settings.notifications.emailFrequency"');
  });
});

describe('ssn', () => {
  it('flags valid SSNs, dashed or labelled', async () => {
    await expectCategory('customer 219-09-9999 called', 'ssn');
    await expectCategory('SSN: 219099999', 'ssn');
    await expectCategory('social security number 219 09 9999', 'ssn');
  });

  it('ignores never-issued numbers and unlabelled digit runs', async () => {
    for (const text of ['000-12-3456', '666-12-3456', '912-34-5678', '219-00-9999', '219-09-0000', 'id 219099999', 'v1-219-09-9999-x']) {
      await expectPublic(text);
    }
  });
});

describe('credit_card', () => {
  it('flags Luhn-valid numbers with a real issuer prefix', async () => {
    for (const card of ['4111' + ' 1111'.repeat(3), '5555' + '5555' + '5555' + '4444', '3782 822463 ' + '10005', '6011-1111-' + '1111-1117']) {
      await expectCategory(`card ${card} exp 12/27`, 'credit_card');
    }
  });

  it('ignores Luhn failures, unknown issuers and numbers inside identifiers', async () => {
    await expectPublic('card 4111 1111 1111 1112');
    await expectPublic('ref 1234 5678 9012 3452');
    await expectPublic('build x4111111111111111');
    await expectPublic('timestamp 1716000000000');
  });
});

describe('email_address', () => {
  it('flags personal addresses', async () => {
    await expectCategory('email alice.smith@acme-corp.io about the invoice', 'email_address');
    await expectCategory('mailto:j.doe+billing@gmail.com', 'email_address');
  });

  it('ignores reserved, role, no-reply and placeholder addresses and look-alikes', async () => {
    for (const text of [
      'user@example.com',
      'bob@mail.example.org',
      'ci@build.test',
      'noreply@github.com',
      'no-reply@acme-corp.io',
      'support@acme-corp.io',
      'user@domain.com',
      'git clone git@github.com:acme/repo.git',
      'load icon@2x.png',
      'npm i lodash@4.17.21',
    ]) {
      await expectPublic(text);
    }
  });
});

describe('iban', () => {
  it('flags IBANs with a valid checksum, grouped or compact', async () => {
    await expectCategory('pay to GB82 WEST 1234 5698 7654 32', 'iban');
    await expectCategory('IBAN DE89370400440532013000', 'iban');
  });

  it('ignores a wrong checksum or length', async () => {
    await expectPublic('pay to GB82 WEST 1234 5698 7654 33');
    await expectPublic('pay to GB82 WEST 1234 5698 7654');
  });
});

describe('internal_marker', () => {
  it('flags the seed markers', async () => {
    for (const text of [
      'CONFIDENTIAL\nRefactor the billing module.',
      'Confidential - internal\nsummarise the design',
      '// This file is proprietary to Acme Corp.',
      'DO NOT DISTRIBUTE',
      'For internal use only: migrate the cron jobs',
      'Internal only. Please refactor.',
      'Not for distribution outside the team',
      'this algorithm is a trade secret',
      'we are under NDA with the vendor',
      'Company Confidential',
      'company only',
    ]) {
      const result = await expectCategory(text, 'internal_marker');
      expect(result.level).toBe('internal');
    }
  });

  it('ignores "confidential" in prose and code, and the bare word internal', async () => {
    await expectPublic("const level = 'confidential';");
    await expectPublic('enum Level { CONFIDENTIAL, INTERNAL, PUBLIC }');
    await expectPublic('switch (level) {\n  case CONFIDENTIAL:\n    return local;\n}');
    await expectPublic('mark the confidential fields in the schema');
    await expectPublic('move it to the internal package');
    await expectPublic('const isUndefined = value === undefined; // readonly');
  });
});

describe('findings', () => {
  it('carry category, source, 1-based line and rule, never the secret', async () => {
    const secret = 'hunter2' + 'Zq9';
    const text = `first line\nsecond line\npassword = "${secret}"\n`;
    const result = await scan(text);
    expect(result.findings).toEqual([{ category: 'credential', source: 'prompt', line: 3, rule: 'koubou:assignment' }]);
    const github = tokens.github();
    const withToken = await scan(`a\nb\nc\nd\n${github}`);
    expect(withToken.findings.every((f) => f.line === 5 && f.source === 'prompt')).toBe(true);
    expect(JSON.stringify([result, withToken])).not.toContain(secret);
    expect(JSON.stringify(withToken)).not.toContain(github.slice(4));
    for (const finding of [...result.findings, ...withToken.findings]) {
      expect(Object.keys(finding).sort()).toEqual(['category', 'line', 'rule', 'source']);
    }
  });

  it('categories are distinct and sorted', async () => {
    const text = `ssn 219-09-9999\ncard 4111 1111 1111 1111\n${tokens.github()}\n${tokens.openai()}\nmail alice.smith@acme-corp.io`;
    const result = await scan(text);
    expect(result.categories).toEqual(['api_key', 'credit_card', 'email_address', 'ssn']);
    expect(result.findings.length).toBeGreaterThan(result.categories.length);
  });

  it('use the given source name in scanText', async () => {
    const result = await scan('x\nDB_PASSWORD=s3cr3t', '.env');
    expect(result.findings).toEqual([{ category: 'credential', source: '.env', line: 2, rule: 'koubou:assignment' }]);
  });
});

describe('scan(): prompt and files', () => {
  it('a secret only in an attached file makes the task confidential, sourced to the file', async () => {
    const result = await scanner.scan({
      prompt: 'Fix the connection retry logic',
      files: [
        { path: 'src/retry.ts', content: 'export const retries = 3;\n' },
        { path: 'config/.env', content: 'HOST=db\nPORT=5432\nDB_PASSWORD=s3cr3t\n' },
      ],
    });
    expect(result.level).toBe('confidential');
    expect(result.findings).toEqual([{ category: 'credential', source: 'config/.env', line: 3, rule: 'koubou:assignment' }]);
  });

  it('combines prompt and files, and is public when nothing is found', async () => {
    const clean = await scanner.scan({ prompt: 'fix the typo in README', files: [{ path: 'README.md', content: '# Title\nSome text.' }] });
    expect(clean.level).toBe('public');
    const both = await scanner.scan({ prompt: 'INTERNAL USE ONLY', files: [{ path: 'a.md', content: 'ssn 219-09-9999' }] });
    expect(both.findings.map((f) => f.source).sort()).toEqual(['a.md', 'prompt']);
    expect(both.categories).toEqual(['internal_marker', 'ssn']);
  });
});

describe('level ordering', () => {
  it('confidential beats internal beats public', async () => {
    expect((await scan('fix the typo')).level).toBe('public');
    expect((await scan('PROPRIETARY: fix the typo')).level).toBe('internal');
    expect((await scan('PROPRIETARY: fix the typo\npassword = "hunter2"')).level).toBe('confidential');
    const mixed = await scanner.scan({ prompt: 'company confidential', files: [{ path: 'k.pem', content: tokens.privateKey() }] });
    expect(mixed.level).toBe('confidential');
    expect(mixed.categories).toEqual(['internal_marker', 'private_key']);
  });
});

describe('options', () => {
  it('extra internal markers, case-insensitive and whitespace-tolerant', async () => {
    const custom = new SensitivityScanner({ internalMarkers: ['project falcon'] });
    expect((await custom.scanText('Roadmap for Project  FALCON')).level).toBe('internal');
    expect((await scanner.scanText('Roadmap for Project  FALCON')).level).toBe('public');
    expect((await custom.scanText('INTERNAL USE ONLY')).level).toBe('internal');
  });

  it('extra confidential rules', async () => {
    const custom = new SensitivityScanner({
      extraRules: [{ name: 'employee_id', pattern: '\\bEMP-\\d{6}\\b', category: 'employee_id' }],
    });
    const result = await custom.scanText('look up EMP-123456 in HR');
    expect(result.level).toBe('confidential');
    expect(result.findings).toEqual([{ category: 'employee_id', source: 'prompt', line: 1, rule: 'koubou:employee_id' }]);
    expect((await custom.scanText('look up EMP-12 in HR')).level).toBe('public');
  });

  it('rejects invalid extra rules and thresholds at construction', () => {
    expect(() => new SensitivityScanner({ extraRules: [{ name: 'bad', pattern: '(', category: 'x' }] })).toThrow(/bad/);
    expect(() => new SensitivityScanner({ entropyThreshold: Number.NaN })).toThrow(RangeError);
  });
});

describe('robustness', () => {
  it('stays fast on adversarial input (no catastrophic backtracking)', async () => {
    const nasty = [
      '1 '.repeat(50_000),
      'a@'.repeat(50_000),
      '://' + 'a'.repeat(100_000),
      'password='.repeat(20_000),
      'x'.repeat(200_000),
      '-'.repeat(100_000),
      'eyJ' + 'A'.repeat(100_000),
      // The multilingual, command-line, contact and assembled-key rules (issue 26).
      // (Smaller: quadratic work would still take minutes at this size.)
      'パスワード：'.repeat(4_000),
      'Le mot de passe de la de la '.repeat(1_000),
      'curl -u '.repeat(3_000),
      '"sk" + '.repeat(4_000),
      '["gh", '.repeat(4_000),
      '様 090-'.repeat(4_000),
      'a:5432:b:c:'.repeat(3_000),
      '"auth": "'.repeat(3_000),
    ];
    const started = performance.now();
    for (const text of nasty) await new SensitivityScanner({ useSecretlint: false }).scanText(text);
    expect(performance.now() - started).toBeLessThan(5_000);
  });
});
