/**
 * Well-known provider key formats, each looked up by its literal prefix. Also run on
 * strings assembled in code (assembled.ts).
 *
 * Sources: the providers' own documentation of their key formats; the rules marked
 * "gitleaks" follow the format of the gitleaks rule of that id (MIT licence,
 * config/gitleaks.toml), rewritten here as koubou rules.
 */
import { shannonEntropy } from './entropy.ts';
import type { PatternRule } from './patternRule.ts';
import { isPlaceholder } from './placeholders.ts';

/** A real key mixes character classes; slugs and prose (`sk-learn-…`) do not. */
const hasUpperLowerDigit = (s: string): boolean => /[A-Z]/.test(s) && /[a-z]/.test(s) && /\d/.test(s);
const notPlaceholder = (m: RegExpExecArray): boolean => !isPlaceholder(m[0]);
const KNOWN_SK_PREFIXES = /^sk-(?:proj|svcacct|admin|ant)-/;

/** An `sk-` key: see the rule's comment for known and unknown sub-prefixes. */
function isSkKey(key: string): boolean {
  if (hasUpperLowerDigit(key)) return true;
  if (KNOWN_SK_PREFIXES.test(key)) return /\d/.test(key) && key.length >= 40;
  const rest = key.replace(/^sk-(?:[a-z]{2,12}-)?/, '');
  const digits = rest.replace(/\D/g, '').length;
  return rest.length >= 32 && digits >= 4 && !/-/.test(rest) && shannonEntropy(rest) >= 3.5;
}

/**
 * Well-known provider key formats; each names the literal prefix it is looked up by.
 *
 * A key whose prefix is in no rule here (a provider not listed, a format not yet
 * announced) is still caught by its context: assigned to a secret-like name in code,
 * `.env` or YAML (assignments.ts: `FOO_API_KEY=…`, `"token": "…"`), after `Bearer` or an
 * `Authorization:` header of any scheme (TOKEN_RULES), inside a connection string, or by
 * secretlint's generic rules. Standing alone in prose with no such context, it is not.
 */
export const API_KEY_RULES: PatternRule[] = [
  {
    // OpenAI (`sk-`, `sk-proj-`, `sk-svcacct-`, `sk-admin-`), Anthropic (`sk-ant-`) and any
    // other `sk-<word>-` sub-prefix. Known sub-prefix: a digit and 40+ characters suffice.
    // Unknown prefix (a sub-prefix no provider has announced yet): flagged when the rest
    // looks random (mixed case and digits, or several digits with key-like entropy), so a
    // new key kind is caught while slugs such as `sk-learn-…` stay public.
    name: 'openai_api_key',
    category: 'api_key',
    wordStart: true,
    keywords: ['sk-'],
    pattern: /(?<![\w-])sk-(?:[a-z]{2,12}-)?[A-Za-z0-9_-]{20,}/g,
    accept: (m) => isSkKey(m[0]) && !isPlaceholder(m[0]),
  },
  {
    name: 'github_token',
    category: 'api_key',
    wordStart: true,
    // ghp_/gho_/ghu_/ghs_/ghr_ today; an unknown letter after `gh` (a kind GitHub adds
    // later) is read the same way, since `gh?_` with 36+ random characters is its format.
    keywords: [...'abcdefghijklmnopqrstuvwxyz'].map((letter) => `gh${letter}_`).concat('github_pat_'),
    pattern: /\b(?:gh[a-z]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})/g,
    accept: notPlaceholder,
  },
  {
    name: 'gitlab_token',
    category: 'api_key',
    wordStart: true,
    keywords: ['glpat-'],
    pattern: /\bglpat-[A-Za-z0-9_-]{20,}/g,
    accept: notPlaceholder,
  },
  {
    name: 'slack_token',
    category: 'api_key',
    wordStart: true,
    keywords: ['xoxa-', 'xoxb-', 'xoxp-', 'xoxo-', 'xoxr-', 'xoxs-', 'xapp-'],
    pattern: /\b(?:xox[abposr]|xapp)-[A-Za-z0-9-]{10,}/g,
    accept: (m) => /\d/.test(m[0]) && !isPlaceholder(m[0]),
  },
  {
    name: 'slack_webhook',
    category: 'api_key',
    keywords: ['hooks.slack.com/'],
    ignoreCase: true,
    pattern: /hooks\.slack\.com\/services\/T[A-Za-z0-9]+\/B[A-Za-z0-9]+\/[A-Za-z0-9]+/gi,
  },
  {
    // Stripe secret/restricted keys (test-mode keys still open the account) and webhook secrets.
    name: 'stripe_key',
    category: 'api_key',
    wordStart: true,
    keywords: ['sk_live_', 'sk_test_', 'rk_live_', 'rk_test_', 'whsec_'],
    pattern: /\b(?:(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}|whsec_[A-Za-z0-9]{24,})/g,
    accept: notPlaceholder,
  },
  {
    name: 'google_api_key',
    category: 'api_key',
    wordStart: true,
    keywords: ['AIza'],
    pattern: /\bAIza[0-9A-Za-z_-]{35}/g,
    accept: notPlaceholder,
  },
  {
    // Access key ids: long-term (AKIA), temporary (ASIA) and the old A3T form. Ids of
    // users/roles/groups (AIDA, AROA, AGPA, …) identify but do not authenticate.
    // secretlint's AWS rule only scans key ids when `enableIDScanRule` is set.
    name: 'aws_access_key_id',
    category: 'api_key',
    keywords: ['AKIA', 'ASIA', 'A3T'],
    wordStart: true,
    pattern: /\b(?:AKIA|ASIA|A3T[A-Z0-9])[A-Z0-9]{16}\b/g,
    // AWS's documentation key ids all end in EXAMPLE.
    accept: (m) => !m[0].endsWith('EXAMPLE'),
  },
  {
    name: 'huggingface_token',
    category: 'api_key',
    wordStart: true,
    keywords: ['hf_'],
    pattern: /\bhf_[A-Za-z]{30,}\b/g,
    accept: notPlaceholder,
  },
  { name: 'npm_token', category: 'api_key', keywords: ['npm_'], wordStart: true, pattern: /\bnpm_[A-Za-z0-9]{36}\b/g },
  {
    name: 'sendgrid_key',
    category: 'api_key',
    keywords: ['SG.'],
    pattern: /(?<![A-Za-z])SG\.[\w-]{22}\.[\w-]{43}\b/g,
  },
  {
    name: 'shopify_token',
    category: 'api_key',
    wordStart: true,
    keywords: ['shpat_', 'shpca_', 'shppa_', 'shpss_'],
    pattern: /\bshp(?:at|ca|pa|ss)_[A-Za-z0-9]{32,64}\b/g,
  },
  { name: 'linear_key', category: 'api_key', keywords: ['lin_api_'], wordStart: true, pattern: /\blin_api_[A-Za-z0-9_]{32,128}/g },
  {
    name: 'onepassword_token',
    category: 'api_key',
    wordStart: true,
    keywords: ['ops_ey'],
    pattern: /\bops_ey[A-Za-z0-9+/=_-]{100,}/g,
  },
  {
    name: 'azure_storage_key',
    category: 'cloud_credentials',
    wordStart: true,
    keywords: ['AccountKey=', 'SharedAccessKey='],
    pattern: /\b(?:AccountKey|SharedAccessKey)=[A-Za-z0-9+/]{20,}={0,2}/g,
  },
  // The formats below follow gitleaks' rules of the same id (MIT), rewritten as koubou rules.
  // (Doppler `dp.pt.` and Databricks `dapi` tokens are left out: no rare letter to look them up by, see ruleSet.ts.)
  { name: 'pypi_upload_token', category: 'api_key', keywords: ['pypi-AgEIcHlwaS5vcmc'], pattern: /pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,1000}/g }, // gitleaks pypi-upload-token
  { name: 'digitalocean_token', category: 'api_key', wordStart: true, keywords: ['dop_v1_', 'doo_v1_', 'dor_v1_'], pattern: /\bdo[opr]_v1_[a-f0-9]{64}\b/g }, // gitleaks digitalocean-pat, -access-token, -refresh-token
  { name: 'postman_key', category: 'api_key', wordStart: true, keywords: ['PMAK-'], pattern: /\bPMAK-[a-f0-9]{24}-[a-f0-9]{34}\b/gi }, // gitleaks postman-api-token
  { name: 'pulumi_token', category: 'api_key', wordStart: true, keywords: ['pul-'], pattern: /\bpul-[a-f0-9]{40}\b/g }, // gitleaks pulumi-api-token
  { name: 'rubygems_key', category: 'api_key', wordStart: true, keywords: ['rubygems_'], pattern: /\brubygems_[a-f0-9]{48}\b/g }, // gitleaks rubygems-api-token
  { name: 'age_secret_key', category: 'private_key', keywords: ['AGE-SECRET-KEY-1'], pattern: /AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}/g }, // gitleaks age-secret-key
];
