/**
 * Passwords written in prose, which no `name = value` rule sees: "the db
 * password is S3cr3t!Pass", "login with admin / P@ssw0rd123". Both rules run
 * only on lines that name a password or a login (keyword prefilter).
 */
import type { PatternRule } from './patternRule.ts';
import { isPlaceholder } from './placeholders.ts';

const CREDENTIAL_WORDS = ['password', 'passwd', 'passphrase', 'login', 'sign in'];

/** Upper and lower case, a digit and a symbol: the shape password rules ask people for. */
const passwordShaped = (s: string): boolean => /[A-Z]/.test(s) && /[a-z]/.test(s) && /\d/.test(s) && /[^\w\s]/.test(s);

/** "password is hunter2": a value with a digit or a symbol (so "password is required" is not one). */
export const statedValue = (s: string): boolean => /[\d\W_]/.test(s) && !/^[\W_]+$/.test(s) && !/^\d{1,5}$/.test(s);

/** Modular-crypt password hashes (`$2b$12$…`, `$argon2id$…`, `$6$…`): what a password becomes, not one. */
export const isPasswordHash = (s: string): boolean => /^\$(?:2[abxy]?|argon2(?:id|i|d)|[156]|pbkdf2[-\w]*|scrypt|y|gy)\$/.test(s);

export const CREDENTIAL_PHRASE_RULES: PatternRule[] = [
  {
    name: 'password_phrase',
    category: 'credential',
    wordStart: true,
    keywords: ['password', 'passwd', 'passphrase', 'pwd'],
    ignoreCase: true,
    pattern: /\b(?:password|passwd|passphrase|pwd)\s+(?:is|was|will be|should be)\s+["'`]?([^\s"'`]{6,128})/gi,
    accept: (m) => {
      const value = (m[1] ?? '').replace(/[.,;:!?)]+$/, '');
      return value.length >= 6 && statedValue(value) && !isPlaceholder(value);
    },
  },
  {
    // A password-shaped word on a line about logging in or a password.
    name: 'password_shaped_word',
    category: 'credential',
    keywords: CREDENTIAL_WORDS,
    ignoreCase: true,
    // Whole words only; code (brackets, slashes, quotes, `=`, `:`) is not prose and is left
    // to the assignment rules.
    pattern: /(?<!\S)[("']?[A-Za-z0-9!@#$%^&*_+\-?~.]{8,64}[.,;:!?)"']*(?!\S)/g,
    accept: (m) => {
      const word = m[0].replace(/^[("']+/, '').replace(/[.,;:!?)"']+$/, '');
      return word.length >= 8 && /^[A-Za-z0-9!@#$%^&*_+\-?~.]+$/.test(word) && passwordShaped(word) && !isPlaceholder(word) && !isPasswordHash(word);
    },
  },
];
