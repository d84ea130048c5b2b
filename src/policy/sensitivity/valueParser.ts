/**
 * Reads assignments around an operator character: the name before it and the value
 * after it, and decides whether the value is a literal. Hand-written rather than a
 * regex so that each `=` or `:` costs a few character reads, and so that the
 * literal/reference distinction can use context (quotes, file kind, what follows).
 */
import { mayBeSecretName } from './secretNames.ts';

/** Where an assignment's parts are. */
export interface AssignmentSite {
  /** Start of the identifier, including a `--` or `.` prefix. */
  identStart: number;
  /** Start of the name proper (prefix dashes/dots skipped). */
  nameStart: number;
  identEnd: number;
  /** The operator (`=`, `:`, `=>`, `==`, `:=`, …) or `' '` for `--flag value`. */
  op: string;
  opStart: number;
  valueStart: number;
}

/** A value read after an assignment operator. */
export interface ParsedValue {
  /** The value without its quotes. */
  text: string;
  /** Whether it was a quoted string literal. */
  quoted: boolean;
  /** Offset just past the value (and its closing quote). */
  end: number;
  /** Read as the default after a type annotation (`name: Type = value`). */
  annotated?: boolean;
}

const MAX_IDENT = 100;
const MAX_QUOTED = 1024;
const MAX_BARE = 256;

/** Ends a bare value: whitespace, `,;&`, quotes and closing brackets. */
function isBareStop(c: number): boolean {
  return c <= 32 || c === 44 || c === 59 || c === 38 || c === 34 || c === 39 || c === 96 || c === 41 || c === 93 || c === 125;
}
const QUOTES = `"'\``;

/** Bare words that are types, keywords or empties in common languages, never a secret. */
const KEYWORDS = new Set([
  'string', 'number', 'boolean', 'bigint', 'symbol', 'any', 'unknown', 'never', 'void', 'object',
  'null', 'undefined', 'none', 'nil', 'true', 'false', 'await', 'new', 'this', 'self', 'function',
  'lambda', 'str', 'int', 'bytes', 'bool', 'char', 'float', 'double', 'long', 'optional', 'secretstr',
  'typeof', 'keyof', 'readonly', 'const', 'let', 'var', 'async', 'yield', 'return', 'if', 'else',
  'required', 'text', 'input', 'field', 'type', 'buffer', 'uint8array', 'secret', 'password',
]);
const MEMBER_ACCESS = /^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)+$/;
const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;
/** A value naming a secret is a variable holding one (`password: userPassword`). */
const NAMES_A_SECRET = /password|passwd|secret|token|api_?key|credential/i;
/** Starts of YAML tags/anchors/blocks, templates, comments and expressions. */
const REFERENCE_START = /^[$<{[(%@!&*|>#~\\]/;

/** `[A-Za-z0-9_.$-]`: identifier characters, plus `-` (kebab keys) and `.` (dotted paths). */
function isIdentChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95 || c === 46 || c === 36 || c === 45;
}

function skipBlanks(text: string, i: number): number {
  while (text.charAt(i) === ' ' || text.charAt(i) === '\t') i++;
  return i;
}

/** Reads the (possibly quoted) name ending at `end`; the quote must close a matching one. */
function nameBefore(text: string, end: number): { identStart: number; identEnd: number } | undefined {
  let identEnd = end;
  const quote = text.charAt(end - 1);
  const quoted = quote !== '' && QUOTES.includes(quote);
  if (quoted) identEnd--;
  let identStart = identEnd;
  while (identStart > 0 && identEnd - identStart < MAX_IDENT && isIdentChar(text.charCodeAt(identStart - 1))) identStart--;
  if (identStart === identEnd || (quoted && text.charAt(identStart - 1) !== quote)) return undefined;
  return { identStart, identEnd };
}

function site(text: string, identStart: number, identEnd: number, op: string, opStart: number, valueStart: number): AssignmentSite {
  let nameStart = identStart;
  while (nameStart < identEnd && /[.\-$]/.test(text.charAt(nameStart))) nameStart++;
  return { identStart, nameStart, identEnd, op, opStart, valueStart };
}

/** The operator starting at `opStart` (whose first character is one of `=!:?|`). */
function operatorAt(text: string, opStart: number): string | undefined {
  const two = text.slice(opStart, opStart + 3);
  switch (two.charAt(0)) {
    case '=':
      return two.startsWith('===') ? '===' : two.startsWith('==') ? '==' : two.startsWith('=>') ? '=>' : '=';
    case '!':
      return two.startsWith('!==') ? '!==' : two.startsWith('!=') ? '!=' : undefined;
    case ':':
      return two.startsWith(':=') ? ':=' : ':';
    case '?':
      return two.startsWith('??=') ? '??=' : two.startsWith('?=') ? '?=' : undefined;
    case '|':
      return two.startsWith('||=') ? '||=' : undefined;
    default:
      return undefined;
  }
}

/** Characters that before `=` make a compound or comparison operator (`+=`, `<=`, …), not an assignment. */
const COMPOUND_PREFIX = new Set([60, 62, 43, 45, 42, 47, 37, 38, 94, 126]);

/**
 * The name of the assignment whose operator contains the `=` or `:` at `p`, if any and
 * if it may name a secret. Runs for every `=` and `:` in the text, so it reads
 * character codes only and rejects on the name's last three letters
 * ({@link mayBeSecretName}) before reading the rest. Skips the tails of `==`/`:=`,
 * compound operators (`+=`, `<=`) and `::` paths.
 *
 * @example
 * ```ts
 * nameAt('DB_PASSWORD=s3cr3t', 11); // { identStart: 0, identEnd: 11, opStart: 11 }
 * nameAt('userName = x', 9);        // undefined
 * ```
 */
export function nameAt(text: string, p: number): { identStart: number; identEnd: number; opStart: number } | undefined {
  const prev = text.charCodeAt(p - 1);
  let opStart = p;
  const isColon = text.charCodeAt(p) === 58;
  if (!isColon) {
    if (prev === 61 || prev === 58) return undefined; // tail of `==`, `===`, `:=`
    if (prev === 33) opStart = p - 1; // `!=`
    else if (prev === 63) opStart = text.charCodeAt(p - 2) === 63 ? p - 2 : p - 1; // `?=`, `??=`
    else if (prev === 124) {
      if (text.charCodeAt(p - 2) !== 124) return undefined;
      opStart = p - 2; // `||=`
    } else if (COMPOUND_PREFIX.has(prev)) return undefined;
  } else if (prev === 58 || text.charCodeAt(p + 1) === 58) {
    return undefined; // `Secret::new`
  }
  let nameEnd = opStart;
  while (text.charCodeAt(nameEnd - 1) === 32 || text.charCodeAt(nameEnd - 1) === 9) nameEnd--;
  const last = text.charCodeAt(nameEnd - 1);
  if (isColon && (last === 63 || last === 33)) nameEnd--; // `password?: string`
  else if (!isColon && last === 93 && (text.charCodeAt(nameEnd - 2) === 34 || text.charCodeAt(nameEnd - 2) === 39)) nameEnd--; // `config['SECRET_KEY'] =`
  const quote = text.charCodeAt(nameEnd - 1);
  const textEnd = quote === 34 || quote === 39 || quote === 96 ? nameEnd - 1 : nameEnd;
  if (!mayBeSecretName(text, textEnd)) return undefined;
  const name = nameBefore(text, nameEnd);
  return name === undefined ? undefined : { ...name, opStart };
}

/** Completes a name found by {@link nameAt} with its operator and value position. */
export function completeSite(text: string, at: { identStart: number; identEnd: number; opStart: number }): AssignmentSite | undefined {
  const op = operatorAt(text, at.opStart);
  if (op === undefined) return undefined;
  return site(text, at.identStart, at.identEnd, op, at.opStart, skipBlanks(text, at.opStart + op.length));
}

/**
 * The `--name value` command-line flag starting at `p` (which holds `--`), if any.
 *
 * @example
 * ```ts
 * flagAt('mysql --password hunter2', 6); // { nameStart: 8, op: ' ', valueStart: 17, … }
 * ```
 */
export function flagAt(text: string, p: number): AssignmentSite | undefined {
  if (p > 0 && isIdentChar(text.charCodeAt(p - 1))) return undefined;
  let end = p + 2;
  while (end < text.length && end - p < MAX_IDENT && isIdentChar(text.charCodeAt(end))) end++;
  if (end === p + 2 || text.charAt(end) !== ' ') return undefined;
  return site(text, p, end, ' ', end, skipBlanks(text, end));
}

/** Reads a quoted string or a bare word starting at `i`. */
function readValue(text: string, i: number): ParsedValue | undefined {
  let quote = text.charAt(i);
  // String prefixes: Python b"", r"", f"", u"" and C# @"".
  if (/[bBrRuUfF@]/.test(quote) && /["']/.test(text.charAt(i + 1))) quote = text.charAt(++i);
  if (quote !== '' && QUOTES.includes(quote)) {
    for (let j = i + 1; j < text.length && j - i <= MAX_QUOTED; j++) {
      const c = text.charAt(j);
      if (c === '\\') j++;
      else if (c === quote) return { text: text.slice(i + 1, j), quoted: true, end: j + 1 };
      else if (c === '\n' && quote !== '`') return undefined;
    }
    return undefined;
  }
  let j = i;
  while (j < text.length && j - i < MAX_BARE && !isBareStop(text.charCodeAt(j))) j++;
  return j === i ? undefined : { text: text.slice(i, j), quoted: false, end: j };
}

/** True when an unquoted value is a literal rather than a reference, type or prose. */
function isBareLiteral(text: string, at: AssignmentSite, value: ParsedValue, inString: boolean, isCode: boolean): boolean {
  // In code a bare word is a variable, unless we are inside a `k=v;k=v` string.
  if (isCode && !inString) return false;
  const v = value.text.replace(/[.:]+$/, '');
  if (v.length === 0 || REFERENCE_START.test(v) || /[([{]/.test(v)) return false;
  if (KEYWORDS.has(v.toLowerCase()) || MEMBER_ACCESS.test(v) || NAMES_A_SECRET.test(v)) return false;
  const stop = text.charAt(value.end);
  if (!inString && IDENTIFIER.test(v) && (stop === ';' || stop === ',' || stop === ')')) return false;
  // `password = provider ? a : b`, `token = base + suffix`: an expression, not a value.
  // An attached `&` is a query string's or a password's own character (`password=Momiji54&`), not `&&`.
  if (/^(?:[ \t]*[?|+*/<>=(.%-]|[ \t]*&&|[ \t]+&)/.test(text.slice(value.end, value.end + 4)) && IDENTIFIER.test(v)) return false;
  // `user.password = hashed`: spaced `=` or a dotted name is code; `.env` lines are
  // `NAME=value` and YAML uses `:`. Only a plain word is taken for a variable there.
  const spaced = at.op === '=' && (at.opStart > at.identEnd || at.valueStart > at.opStart + 1);
  if ((spaced || text.slice(at.nameStart, at.identEnd).includes('.')) && IDENTIFIER.test(v) && !/\d/.test(v)) return false;
  // "password: required for login": a plain word followed by more words is a sentence.
  if (/^[a-z]+$/.test(v) && /^[ \t]+[A-Za-z]/.test(text.slice(value.end, value.end + 8))) return false;
  return true;
}

/**
 * Reads the value of an assignment (for `name: Type = value`, the default after the
 * annotation). Undefined when nothing value-like follows the operator.
 *
 * @example
 * ```ts
 * const text = 'password = "hunter2"';
 * readAssignedValue(text, completeSite(text, nameAt(text, 9)!)!); // { text: 'hunter2', quoted: true, end: 20 }
 * ```
 */
export function readAssignedValue(text: string, at: AssignmentSite): ParsedValue | undefined {
  const value = readValue(text, at.valueStart);
  if (value === undefined || value.quoted || at.op !== ':' || !/^[A-Za-z_][\w.]*$/.test(value.text)) return value;
  const eq = skipBlanks(text, value.end);
  if (text.charAt(eq) !== '=' || /[=>]/.test(text.charAt(eq + 1))) return value;
  const annotated = readValue(text, skipBlanks(text, eq + 1));
  return annotated === undefined ? value : { ...annotated, annotated: true };
}

/**
 * True when `value` (read by {@link readAssignedValue}) is a literal: quoted, or a bare
 * word outside code that is not a reference (`getPassword()`, `process.env.X`,
 * `${VAR}`), a type (`password: string`), an expression or a sentence.
 *
 * @example
 * ```ts
 * const text = 'password = getPassword()';
 * const at = completeSite(text, nameAt(text, 9)!)!;
 * isLiteral(text, at, readAssignedValue(text, at)!, true); // false
 * ```
 */
export function isLiteral(text: string, at: AssignmentSite, value: ParsedValue, isCode: boolean): boolean {
  if (value.quoted) return true;
  if (value.annotated === true) return false;
  // `Server=x;Password=y;` or `?token=y&…`: a key=value list inside a string or URL.
  const inString =
    at.op === '=' && at.opStart === at.identEnd && at.valueStart === at.opStart + 1 && /[;?&"']/.test(text.charAt(at.identStart - 1));
  return isBareLiteral(text, at, value, inString, isCode);
}
