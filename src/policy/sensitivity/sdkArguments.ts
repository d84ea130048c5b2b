/**
 * Secrets passed positionally to well-known SDK constructors and auth helpers, where no
 * name says what the literal is. Each row is the call's documented signature:
 * - Twilio `Client(accountSid, authToken)` (Python `twilio.rest.Client`, Node `twilio()`,
 *   C# `TwilioClient.Init`, Java `Twilio.init`): an `AC` + 32 hex account SID, then 32 hex;
 * - AWS `BasicAWSCredentials` / `AwsBasicCredentials.create` / `AWS.Credentials`: an access
 *   key id, then the 40-character secret;
 * - Algolia `algoliasearch(appId, apiKey)`;
 * - HTTP basic auth and logins: Python requests `auth=("user", "pw")`, `HTTPBasicAuth`,
 *   `HTTPDigestAuth`, aiohttp `BasicAuth`, .NET `NetworkCredential`, Java
 *   `PasswordAuthentication`, Apache `UsernamePasswordCredentials`, smtplib/ftplib/imaplib
 *   `.login(user, pw)`, JDBC `DriverManager.getConnection(url, user, pw)`;
 * - JWT and HMAC signing keys: `jwt.sign(payload, key)`, `jwt.encode(claims, key)`,
 *   `createHmac(alg, key)`, `hmac.new(key, …)`.
 * Only literals count; a variable (`Client(account_sid, auth_token)`) is not a secret here.
 *
 * To add an SDK: a row with the call's name and where its secret argument sits.
 */
import { isCredentialValue } from './assignments.ts';
import type { PatternRule } from './patternRule.ts';
import { isPlaceholder } from './placeholders.ts';

/** A quoted literal; the value is the named group's capture. */
const lit = (group: string): string => `(?<q${group}>["'])(?<${group}>[^"'\\n]*)\\k<q${group}>`;
/** A literal whose value does not matter (the user, the URL, the account id). */
const ANY = `(["'])[^"'\\n]*\\1`;

const passwordValue = (v: string): boolean => isCredentialValue('password', { text: v, quoted: true, end: 0 });
const keyValue = (v: string): boolean => !isPlaceholder(v) && /\d/.test(v) && isCredentialValue('secret_key', { text: v, quoted: true, end: 0 });

function rule(name: string, category: string, keywords: string[], source: string, accept: (secret: string) => boolean): PatternRule {
  // Anchored: every keyword is where its call's pattern starts.
  return { name, category, keywords, anchored: true, pattern: new RegExp(source, 'y'), accept: (m) => accept(m.groups?.['secret'] ?? '') };
}

/**
 * @example
 * ```ts
 * new RuleSet(SDK_ARGUMENT_RULES).run('Client("AC' + 'ab12'.repeat(8) + '", "' + 'cd34'.repeat(8) + '")', report); // api_key
 * ```
 */
export const SDK_ARGUMENT_RULES: PatternRule[] = [
  rule(
    'twilio_client',
    'api_key',
    ['Client(', 'twilio(', 'Twilio(', 'TwilioClient.Init(', 'Twilio.init(', 'TwilioRestClient('],
    `\\b(?:Client|twilio|Twilio|TwilioClient\\.Init|Twilio\\.init|TwilioRestClient)\\(\\s*(["'])AC[0-9a-fA-F]{32}\\1\\s*,\\s*${lit('secret')}`,
    (v) => /^[0-9a-fA-F]{32}$/.test(v) && !isPlaceholder(v),
  ),
  rule(
    'aws_credentials_arguments',
    'cloud_credentials',
    ['BasicAWSCredentials(', 'AwsBasicCredentials.create(', 'AWS.Credentials(', 'BasicSessionCredentials('],
    `\\b(?:BasicAWSCredentials|AwsBasicCredentials\\.create|AWS\\.Credentials|BasicSessionCredentials)\\(\\s*(["'])(?:AKIA|ASIA)[A-Z0-9]{16}\\1\\s*,\\s*${lit('secret')}`,
    (v) => /^[A-Za-z0-9/+]{40}$/.test(v) && !isPlaceholder(v),
  ),
  rule('algolia_client', 'api_key', ['algoliasearch'], `\\balgoliasearch\\(\\s*${ANY}\\s*,\\s*${lit('secret')}`, (v) => /^[0-9a-f]{32}$/.test(v)),
  rule('basic_auth_tuple', 'credential', ['auth'], `\\bauth\\s*=\\s*\\(\\s*${ANY}\\s*,\\s*${lit('secret')}\\s*\\)`, passwordValue),
  rule(
    'credential_arguments',
    'credential',
    ['HTTPBasicAuth(', 'HTTPDigestAuth(', 'BasicAuth(', 'NetworkCredential(', 'PasswordAuthentication(', 'UsernamePasswordCredentials(', 'login'],
    `(?:\\b(?:HTTPBasicAuth|HTTPDigestAuth|BasicAuth|NetworkCredential|PasswordAuthentication|UsernamePasswordCredentials)|(?<=\\.)login)\\(\\s*${ANY}\\s*,\\s*${lit('secret')}`,
    passwordValue,
  ),
  rule('jdbc_get_connection', 'credential', ['getConnection('], `\\bgetConnection\\(\\s*${ANY}\\s*,\\s*(["'])[^"'\\n]*\\2\\s*,\\s*${lit('secret')}`, passwordValue),
  rule('jwt_signing_key', 'credential', ['jwt.'], `\\bjwt\\.(?:sign|encode|verify|decode)\\(\\s*[^,()\\n]{1,80},\\s*${lit('secret')}`, keyValue),
  rule('hmac_key', 'credential', ['createHmac(', 'hmac.new('], `(?:\\bcreateHmac\\(\\s*${ANY}\\s*,\\s*|\\bhmac\\.new\\(\\s*b?)${lit('secret')}`, keyValue),
];
