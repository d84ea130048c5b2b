/**
 * Passwords on command lines, wherever a command line is written: a shell snippet, a
 * Dockerfile `RUN`, a CI YAML `run:`/`script:` step. Each rule is a tool's documented
 * password flag (its man page): `mysql -p<pw>`, `curl -u user:pw`, `sshpass -p pw`,
 * `redis-cli -a pw`, `docker login -p pw`, `mongosh -p pw`, `sqlcmd -P pw`,
 * `ldapsearch -w pw`, `htpasswd -b file user pw`, `smbclient -U user%pw`,
 * `openssl … pass:pw`, `keytool -storepass pw`, `echo pw | docker login --password-stdin`.
 * `--password=pw`, `--password pw`, `--token pw` and `PGPASSWORD=pw` are assignments
 * (assignments.ts) and need no rule here.
 *
 * A value that is a variable (`-p$MYSQL_PWD`, `"$USER:$TOKEN"`, `${{ secrets.X }}`), a
 * placeholder (`<password>`) or absent (`mysql -p` prompts) is not a secret.
 *
 * To add a tool: a row in TOOL_FLAGS (command names, the flag, whether the value is
 * attached as in `-pSECRET`), and a corpus sample.
 */
import type { PatternRule } from './patternRule.ts';
import { isPlaceholder } from './placeholders.ts';

/** A quoted or bare shell word; groups: single-quoted, double-quoted, bare. */
const WORD = `(?:'([^'\\n]*)'|"([^"\\n]*)"|([^\\s'"|;&<>]+))`;
/** The rest of one command, up to a pipe, `;` or `&`. */
const SAME_COMMAND = `[^\\n|;&]{0,300}?`;

/** The shell word a match captured (first defined of the last three groups). */
function wordOf(m: RegExpExecArray): string {
  const n = m.length;
  return m[n - 3] ?? m[n - 2] ?? m[n - 1] ?? '';
}

/** True when a command-line value is a literal secret, not a variable, placeholder or stdin. */
export function isLiteralCliSecret(value: string): boolean {
  const v = value.trim();
  if (v.length < 4 || isPlaceholder(v)) return false;
  // A variable is the whole value (`$PW`, `${PW}`, `%PW%`, `$(cat f)`, `${{ secrets.PW }}`); a `$`
  // inside a password (`Tiger$67`) is the password's.
  return !/^[-$%{<`@]|\$\{\{|\$\(/.test(v);
}

interface ToolFlag {
  /** Command names (regex alternatives). */
  commands: string;
  /** The flag (regex source). */
  flag: string;
  /** `-pSECRET` (value attached) rather than `-p SECRET`. */
  attached: boolean;
  /** Lookup literals: the command names (the rule is then anchored at them) unless `byFlag`. */
  keywords: string[];
  /** Keywords name the flag or a word of the command instead (for command names without a rare letter). */
  byFlag?: boolean;
}

const TOOL_FLAGS: ToolFlag[] = [
  // mysql(1): `-p` takes its value attached only; `-p dbname` prompts and names a database.
  { commands: 'mysql(?:dump|admin|import|check|sh|binlog)?|mariadb(?:-dump|-admin|-import)?', flag: '-p', attached: true, keywords: ['mysql', 'mariadb'] },
  // sshpass(1) -p; redis-cli -a / --pass; docker/podman/nerdctl/helm login -p; mongo/mongosh -p.
  { commands: 'sshpass', flag: '-p', attached: false, keywords: ['sshpass'] },
  { commands: 'redis-cli|valkey-cli|keydb-cli', flag: '(?:-a|--pass)', attached: false, keywords: ['redis-cli', 'valkey-cli', 'keydb-cli'] },
  { commands: '(?:docker|podman|nerdctl|buildah|skopeo|oras|helm(?: registry)?) login', flag: '-p', attached: false, keywords: [' login '], byFlag: true },
  { commands: 'mongo(?:sh|dump|restore|export|import|stat|top)?', flag: '-p', attached: false, keywords: ['mongo'] },
  // sqlcmd/bcp -P; the OpenLDAP tools' -w.
  { commands: 'sqlcmd|bcp|osql', flag: '-P', attached: false, keywords: ['sqlcmd', 'bcp', 'osql'] },
  { commands: 'ldap(?:search|add|modify|delete|passwd|whoami|compare|modrdn)', flag: '-w', attached: false, keywords: [' -w '], byFlag: true },
  // keytool -storepass/-keypass/-srcstorepass/-deststorepass/-new.
  { commands: 'keytool|jarsigner', flag: '-(?:src|dest)?(?:store|key)?pass', attached: false, keywords: ['keytool', 'jarsigner'] },
];

function toolRule(tool: ToolFlag): PatternRule {
  const gap = tool.attached ? '' : '[ \\t]*=?[ \\t]*';
  return {
    name: 'command_line_password',
    category: 'credential',
    keywords: tool.keywords,
    anchored: tool.byFlag !== true,
    pattern: new RegExp(`(?<![\\w-])(?:${tool.commands})(?![\\w-])${SAME_COMMAND}[ \\t]${tool.flag}${gap}${WORD}`, tool.byFlag === true ? 'g' : 'y'),
    accept: (m) => isLiteralCliSecret(wordOf(m)),
  };
}

/** `user:password` (curl -u) or `user%password` (smbclient -U): the password part. */
function passwordAfter(credentials: string, separator: string): string {
  const at = credentials.indexOf(separator);
  if (at === -1) return '';
  const raw = credentials.slice(at + 1);
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/**
 * @example
 * ```ts
 * new RuleSet(COMMAND_LINE_RULES).run('sshpass -p Tiger12! ssh host', report); // credential
 * ```
 */
export const COMMAND_LINE_RULES: PatternRule[] = [
  ...TOOL_FLAGS.map((tool) => toolRule(tool)),
  {
    // curl(1) -u/--user user:password; without `:password` curl prompts.
    name: 'command_line_password',
    category: 'credential',
    // Looked up by the flag: `curl` has no rare letter to look it up by (ruleSet.ts).
    keywords: [' -u', '--user'],
    pattern: new RegExp(`(?<![\\w-])curl(?![\\w-])${SAME_COMMAND}[ \\t](?:-u|--user)[ \\t]*=?[ \\t]*${WORD}`, 'g'),
    accept: (m) => isLiteralCliSecret(passwordAfter(wordOf(m), ':')),
  },
  {
    name: 'command_line_password',
    category: 'credential',
    keywords: ['smbclient'],
    anchored: true,
    pattern: new RegExp(`(?<![\\w-])smbclient(?![\\w-])${SAME_COMMAND}[ \\t](?:-U|--user)[ \\t]*=?[ \\t]*${WORD}`, 'y'),
    accept: (m) => isLiteralCliSecret(passwordAfter(wordOf(m), '%')),
  },
  {
    // htpasswd(1) -b FILE USER PASSWORD (batch mode takes the password on the command line).
    name: 'command_line_password',
    category: 'credential',
    keywords: ['htpasswd'],
    anchored: true,
    pattern: new RegExp(`(?<![\\w-])htpasswd[ \\t]+-[a-zA-Z]*b[a-zA-Z]*[ \\t]+(?:-\\S+[ \\t]+)*\\S+[ \\t]+\\S+[ \\t]+${WORD}`, 'y'),
    accept: (m) => isLiteralCliSecret(wordOf(m)),
  },
  {
    // openssl(1) pass phrase arguments: `-passin pass:pw`, `-passout pass:pw`, `-k pw` is not covered.
    name: 'command_line_password',
    category: 'credential',
    keywords: ['pass:'],
    pattern: new RegExp(`[ \\t]-pass(?:in|out)?[ \\t]+['"]?pass:${WORD}`, 'g'),
    accept: (m) => isLiteralCliSecret(wordOf(m)),
  },
  {
    // `echo pw | docker login --password-stdin`: the secret is on the command line all the same.
    name: 'command_line_password',
    category: 'credential',
    keywords: ['--password-stdin'],
    pattern: new RegExp(`(?<![\\w-])(?:echo|printf)[ \\t]+(?:-n[ \\t]+)?${WORD}[ \\t]*\\|[^\\n|;&]{0,200}?--password-stdin`, 'g'),
    accept: (m) => isLiteralCliSecret(wordOf(m)),
  },
];
