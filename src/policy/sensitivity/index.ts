/**
 * Sensitivity classification: public entry point.
 *
 * @example
 * ```ts
 * import { SensitivityScanner } from './policy/sensitivity/index.ts';
 * const { level } = await new SensitivityScanner().scan({ prompt: 'fix the typo in README' });
 * // level === 'public'
 * ```
 */
export { SensitivityScanner } from './SensitivityScanner.ts';
export type { ExtraRule, SensitivityOptions } from './options.ts';
export { DEFAULT_ENTROPY_THRESHOLD } from './options.ts';
export { DEFAULT_INTERNAL_MARKERS, INTERNAL_CATEGORY } from './markers.ts';
