/**
 * Placeholder detection: values that stand in for a secret in docs, templates and
 * examples (`<your-password>`, `${DB_PASSWORD}`, `your_api_key_here`, `xxxx`, `***`).
 * They carry no secret, and flagging them would push ordinary "how do I configure X"
 * prompts onto the local tier for nothing.
 */

/** Whole values that are conventional stand-ins (compared lowercased). */
const PLACEHOLDER_VALUES = new Set([
  'password', 'passwd', 'pass', 'pwd', 'secret', 'token', 'apikey', 'api_key', 'api-key', 'key',
  'changeme', 'change_me', 'change-me', 'changeit', 'placeholder', 'example', 'sample', 'dummy',
  'test', 'testing', 'redacted', 'removed', 'hidden', 'masked', 'none', 'null', 'nil', 'undefined',
  'empty', 'todo', 'tbd', 'fixme', 'replaceme', 'replace_me', 'foo', 'bar', 'foobar', 'default',
  'value', 'string', 'secret123', 'password123', 'mypassword', 'mysecret', 'letmein', 'admin',
  'true', 'false', 'yes', 'no', 'on', 'off',
]);

/**
 * Substrings that only appear in stand-ins. Kept specific: a bare `test` substring would
 * hide Stripe `sk_test_` keys, which still open an account.
 */
const PLACEHOLDER_PARTS = [
  'your', '_here', '-here', 'placeholder', 'example', 'changeme', 'change_me', 'dummy',
  'redacted', 'replace', 'insert_', 'xxxx', '****', '...', '…', '<', '>', '${', '{{', '}}',
];

/** Template syntaxes that name a variable instead of holding a value. */
const TEMPLATE = /^(?:\$\w+|%\w+%|%[sd]|%\(\w+\)s|\{\w*\}|#\{[^}]*\}|@\w+@|:\w+|\$\(.*\))$/;

/** Masks and repeated filler: `xxx`, `***`, `...`, `----`, `aaaa`, `0000`. */
const FILLER = /^(?:[x*.•#_\-]+|(.)\1*)$/i;

/**
 * True when `value` is a stand-in rather than a real secret.
 *
 * @example
 * ```ts
 * isPlaceholder('<your-password>');    // true
 * isPlaceholder('your_api_key_here');  // true
 * isPlaceholder('hunter2');            // false
 * ```
 */
export function isPlaceholder(value: string): boolean {
  const v = value.trim().toLowerCase();
  if (v.length === 0) return true;
  if (PLACEHOLDER_VALUES.has(v)) return true;
  if (FILLER.test(v) || TEMPLATE.test(v)) return true;
  for (const part of PLACEHOLDER_PARTS) if (v.includes(part)) return true;
  return false;
}
