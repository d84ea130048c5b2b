/**
 * Email addresses as personal data. The regex only finds `@domain.tld`; this module
 * walks back over the local part and drops addresses that identify nobody: reserved
 * example domains (RFC 2606/6761), no-reply and role mailboxes, `user@domain.com`-style
 * stand-ins, `git@host` remotes and `icon@2x.png` file names.
 */

/** Characters allowed in the local part of an address (a practical subset of RFC 5322). */
const LOCAL_CHAR = /[A-Za-z0-9._%+\-]/;
const MAX_LOCAL = 64;

/** Reserved for documentation or never resolvable: RFC 2606, RFC 6761. */
const RESERVED_DOMAINS = ['example.com', 'example.org', 'example.net', 'example.edu'];
const RESERVED_TLDS = new Set(['test', 'example', 'invalid', 'localhost', 'local', 'internal', 'lan']);

/** Domains used as stand-ins in docs and tutorials. */
const PLACEHOLDER_DOMAINS = new Set([
  'domain.com', 'yourdomain.com', 'your-domain.com', 'mydomain.com', 'yourcompany.com',
  'company.com', 'email.com', 'foo.com', 'bar.com', 'baz.com', 'somewhere.com', 'host.com',
]);

/** Mailboxes that belong to a role or a machine, not to a person. */
const ROLE_LOCALS = new Set([
  'noreply', 'no-reply', 'no_reply', 'donotreply', 'do-not-reply', 'mailer-daemon', 'postmaster',
  'hostmaster', 'webmaster', 'abuse', 'security', 'support', 'info', 'contact', 'hello', 'help',
  'admin', 'sales', 'team', 'privacy', 'legal', 'git', 'bounce', 'bounces', 'notifications',
  // stand-in people
  'user', 'username', 'name', 'you', 'your', 'yourname', 'your.name', 'someone', 'somebody',
  'firstname.lastname', 'first.last', 'john.doe', 'jane.doe', 'johndoe', 'janedoe', 'email', 'me',
]);

/** `name@2x.png`: the "TLD" is a file extension. */
const FILE_EXTENSIONS = new Set([
  'png', 'jpg', 'jpeg', 'gif', 'svg', 'webp', 'ico', 'bmp', 'avif', 'js', 'mjs', 'cjs', 'ts', 'tsx',
  'jsx', 'css', 'scss', 'less', 'json', 'html', 'htm', 'md', 'txt', 'xml', 'yml', 'yaml', 'map',
  'wasm', 'py', 'rb', 'go', 'rs', 'java', 'kt', 'lock', 'sh', 'zip', 'gz', 'tar', 'pdf', 'woff',
  'woff2', 'ttf', 'eot', 'mp4', 'mp3', 'webm', 'vue', 'svelte',
]);

/** Matches `@domain.tld`; the local part is checked by {@link acceptEmail}. */
export const EMAIL_DOMAIN = /@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)/g;

/**
 * Validator for an {@link EMAIL_DOMAIN} match: true when the address looks like a real
 * person's.
 *
 * @example
 * ```ts
 * const text = 'mail alice.smith@acme-corp.io';
 * const m = /@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)/g.exec(text)!;
 * acceptEmail(m, text); // true; for 'user@example.com' it is false
 * ```
 */
export function acceptEmail(match: RegExpExecArray, text: string): boolean {
  const at = match.index;
  let start = at;
  while (start > 0 && at - start < MAX_LOCAL && LOCAL_CHAR.test(text.charAt(start - 1))) start--;
  const local = text.slice(start, at).replace(/^[.\-]+/, '').toLowerCase();
  if (local.length === 0) return false;
  // `https://user@host`, `ssh://git@host`, `postgres://user:pw@host`: URL user info, not a mailbox.
  const before = text.charAt(start - 1);
  if (before === '/') return false;
  if (before === ':' && /:\/\/\S*$/.test(text.slice(Math.max(0, start - 300), start))) return false;
  const domain = (match[1] ?? '').toLowerCase();
  const tld = domain.slice(domain.lastIndexOf('.') + 1);
  if (!/^[a-z]{2,24}$/.test(tld) || FILE_EXTENSIONS.has(tld) || RESERVED_TLDS.has(tld)) return false;
  if (RESERVED_DOMAINS.some((d) => domain === d || domain.endsWith('.' + d))) return false;
  if (PLACEHOLDER_DOMAINS.has(domain) || domain.includes('noreply')) return false;
  if (ROLE_LOCALS.has(local) || /no-?reply/.test(local)) return false;
  return true;
}
