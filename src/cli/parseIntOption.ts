import { InputError } from '../core/errors.ts';

/**
 * A command-line integer of at least `min`; anything else is an input error
 * naming the option and what was given.
 *
 * @example
 * parseIntOption('--max', '4', 1);  // 4
 * parseIntOption('--max', 'x', 1);  // throws InputError: --max must be an integer of at least 1, got "x"
 */
export function parseIntOption(option: string, value: string, min: number): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < min) {
    throw new InputError(`${option} must be an integer of at least ${min}, got ${JSON.stringify(value)}`);
  }
  return n;
}
