/**
 * Scanner options and their defaults.
 */

/** An extra confidential rule supplied by configuration. */
export interface ExtraRule {
  /** Reported as `koubou:<name>`. */
  name: string;
  /** JavaScript regex source, compiled with the `g` and `m` flags. */
  pattern: string;
  /** Finding category. Any category except `internal_marker` makes the result confidential. */
  category: string;
}

/**
 * How a {@link SensitivityScanner} scans.
 *
 * @example
 * ```ts
 * const options: SensitivityOptions = {
 *   internalMarkers: ['project falcon'],
 *   extraRules: [{ name: 'employee_id', pattern: '\\bEMP-\\d{6}\\b', category: 'employee_id' }],
 *   entropyThreshold: 4,
 * };
 * ```
 */
export interface SensitivityOptions {
  /** Extra internal markers (case-insensitive phrases) on top of the defaults. Default: []. */
  internalMarkers?: string[];
  /** Extra confidential regexes: { name, pattern (string, JS regex source), category }. Default: []. */
  extraRules?: ExtraRule[];
  /** Shannon entropy (bits/char) above which a value assigned to a secret-like name counts as a secret. Default 3.5. */
  entropyThreshold?: number;
  /** Run secretlint's recommended preset as well as koubou's own rules. Default true. */
  useSecretlint?: boolean;
}

/** {@link SensitivityOptions} with every default filled in. */
export type ResolvedSensitivityOptions = Required<SensitivityOptions>;

/** Default entropy threshold: above English and identifiers (~3–3.3), below hex/base64 keys. */
export const DEFAULT_ENTROPY_THRESHOLD = 3.5;

/**
 * Fills in defaults and rejects nonsense early (a NaN threshold would silently disable a rule).
 *
 * @example
 * ```ts
 * resolveSensitivityOptions({}).entropyThreshold; // 3.5
 * ```
 */
export function resolveSensitivityOptions(options: SensitivityOptions = {}): ResolvedSensitivityOptions {
  const entropyThreshold = options.entropyThreshold ?? DEFAULT_ENTROPY_THRESHOLD;
  if (!Number.isFinite(entropyThreshold)) throw new RangeError(`entropyThreshold must be a finite number, got ${entropyThreshold}`);
  return {
    internalMarkers: options.internalMarkers ?? [],
    extraRules: options.extraRules ?? [],
    entropyThreshold,
    useSecretlint: options.useSecretlint ?? true,
  };
}
