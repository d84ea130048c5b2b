import type { KoubouConfig } from '../config/index.ts';
import { SensitivityScanner } from '../policy/index.ts';

/** The sensitivity scanner configured by `routing.sensitivity`. */
export function createScanner(config: KoubouConfig): SensitivityScanner {
  const s = config.routing.sensitivity;
  return new SensitivityScanner({
    internalMarkers: s.internal_markers,
    extraRules: s.extra_rules,
    entropyThreshold: s.entropy_threshold,
  });
}
