/**
 * Credentials named in the languages developers write: Japanese, Chinese, Korean, German,
 * French, Spanish, Portuguese (and English sentences with words between the name and the
 * verb). Both forms: an assignment (`パスワード：…`, `Kennwort=…`, `"密码": "…"`) and a
 * sentence (`パスワードは … です`, `密码是…`, `비밀번호는 …입니다`, `Das Passwort ist …`,
 * `Le mot de passe de la base est …`, `La contraseña es …`, `A senha é …`).
 *
 * Text reaches these rules NFKC-normalised (normalize.ts), so full-width `：＝` are `:=`.
 * Values go through the English rules' own checks (assignments.ts `isCredentialValue`,
 * credentialPhrases.ts `statedValue`, placeholders.ts), so "パスワードを忘れた方",
 * "パスワードは8文字以上", "Das Passwort ist zu kurz" and `パスワード：<パスワード>` stay clean.
 *
 * Word lists: written for koubou from each language's usual UI and documentation terms
 * (no maintained multilingual list exists in secretlint's presets or gitleaks' rules).
 * To add a word: put it, lowercase, in PASSWORD_WORDS (values judged as passwords) or
 * KEY_WORDS (judged as keys: 8+ characters with a digit), and add a corpus sample.
 */
import { isCredentialValue } from './assignments.ts';
import { statedValue } from './credentialPhrases.ts';
import type { PatternRule } from './patternRule.ts';
import { isPlaceholder } from './placeholders.ts';

/** Words whose value is a password (or a PIN: 暗証番号 and `pin` accept four digits). */
const PASSWORD_WORDS = [
  // Japanese
  'パスワード', 'パスフレーズ', '暗証番号', '認証情報',
  // Chinese (simplified, traditional)
  '密码', '密碼', '口令',
  // Korean
  '비밀번호', '패스워드', '암호',
  // German, French, Spanish, Portuguese
  'passwort', 'kennwort', 'mot de passe', 'mdp', 'contraseña', 'clave', 'senha',
  // English, sentences only (assignments are assignments.ts's): "the password for the db is …"
  'password', 'passphrase',
  // `PW` as in Japanese business mail ("ID: yamada / PW: …"); not after a letter (`npw`, `PWA` has no separator).
  'pw',
];
const SENTENCE_ONLY = new Set(['password', 'passphrase']);
/** Words whose value is a key or token. */
const KEY_WORDS = [
  'apiキー', 'シークレットキー', 'シークレット', 'アクセスキー', 'トークン', '秘密鍵',
  '密钥', '秘钥', '密鑰', '令牌',
  'api 키', 'api키', '토큰', '비밀 키',
  'schlüssel', 'zugangstoken', 'clé', 'jeton', 'chave', 'token de acceso', 'token de acesso',
];
const PIN_WORDS = new Set(['暗証番号']);

const escape = (w: string): string => w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const alternation = [...PASSWORD_WORDS, ...KEY_WORDS].map((w) => (w === 'pw' ? '(?<![A-Za-z])pw' : escape(w))).join('|');
/** Right after a CJK word, a blank alone may separate it from its value ("初期パスワード … でログイン"). */
const AFTER_CJK = '(?<=[\\u3040-\\u30ff\\u3400-\\u9fff\\uac00-\\ud7af])(?=[ \\t])';

/**
 * word, an optional bracketed note `（本番）`, up to six Latin words ("de la base de datos",
 * "für den Server"; CJK text gets none, so "パスワードを忘れた方: …" is no assignment), an
 * optional closing quote, then an operator or a verb (or, after a CJK word, a blank), an
 * optional opening quote, the value.
 */
const PATTERN = new RegExp(
  `(${alternation})` +
    `(?:[ \\t]*\\([^)\\n]{0,20}\\))?` +
    `(?:[ \\t]+[A-Za-zÀ-ÿ'’-]{1,20}){0,6}?` +
    `[ \\t]*["'」』]?[ \\t]*` +
    `([:=]|は|が|是|为|為|는|은|(?:ist|lautet|war|est|était|es|era|é|será|sera|is|was)(?=[ \\t])|${AFTER_CJK})` +
    `[ \\t]*["'「『«“]?[ \\t]*` +
    `([!-~]{4,128})`,
  'giuy',
);

const KEY_SET = new Set(KEY_WORDS);


/** How many of upper case, lower case, digits and symbols `value` mixes. */
function characterClasses(value: string): number {
  return [/[A-Z]/, /[a-z]/, /\d/, /[^A-Za-z\d]/].filter((re) => re.test(value)).length;
}

/** A reference, not a value: `process.env.X`, `getPassword()`, `config[key]`. */
const REFERENCE = /^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)+$|[([]/;

/** True when the value captured after `word` and `separator` is a credential by the English rules' checks. */
function acceptValue(word: string, separator: string, raw: string): boolean {
  if (SENTENCE_ONLY.has(word) && /^[:=]$/.test(separator)) return false;
  const value = raw.replace(/^["'`]+/, '').replace(/["'`.,;:!?)\]»”]+$/, '');
  if (value.length < 4 || isPlaceholder(value) || REFERENCE.test(value)) return false;
  if (/:\/\/|^[/~$%{]|^\.\.?\//.test(value)) return false; // URLs, paths, variables
  const parsed = { text: value, quoted: false, end: 0 };
  if (KEY_SET.has(word)) return /\d/.test(value) && isCredentialValue('api_key', parsed);
  if (PIN_WORDS.has(word) && /^\d{4,8}$/.test(value)) return true;
  // With no operator or verb, only a value shaped like a password (`パスワード v2.0 の仕様` is not).
  if (separator === '' && (value.length < 8 || characterClasses(value) < 3)) return false;
  return statedValue(value) && isCredentialValue('password', parsed);
}

/**
 * @example
 * ```ts
 * new RuleSet(CREDENTIAL_WORD_RULES).run('パスワードは Sakura2024! です', report); // credential
 * ```
 */
export const CREDENTIAL_WORD_RULES: PatternRule[] = [
  {
    name: 'credential_word',
    category: 'credential',
    keywords: [...PASSWORD_WORDS, ...KEY_WORDS],
    ignoreCase: true,
    anchored: true,
    pattern: PATTERN,
    accept: (m) => acceptValue((m[1] ?? '').toLowerCase(), m[2] ?? '', m[3] ?? ''),
  },
];
