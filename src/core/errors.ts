/**
 * Typed errors with stable codes. Callers branch on `code` (never on message text)
 * and on `retryable` to tell "try again" from "give up".
 *
 * @example
 * try { loadConfig({ file }) } catch (e) {
 *   if (e instanceof KoubouError && e.code === 'CONFIG_INVALID') process.exit(2);
 * }
 */
export class KoubouError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly options: { retryable?: boolean; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
  }
  get retryable(): boolean {
    return this.options.retryable ?? false;
  }
}

/** Bad input from a user (CLI argument, file, message): exit code 2, never retried. */
export class InputError extends KoubouError {
  constructor(message: string, options: { cause?: unknown; code?: string } = {}) {
    super(options.code ?? 'INPUT_INVALID', message, { cause: options.cause });
  }
}

/** A configuration file or variable that does not validate. */
export class ConfigError extends KoubouError {
  constructor(
    message: string,
    readonly details: { file: string; keyPath: string; expected: string; found: string; line?: number },
  ) {
    super('CONFIG_INVALID', message);
  }
}
