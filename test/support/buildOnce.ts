/**
 * Vitest global setup: compiles dist/ once before any test file runs, so the `koubou`
 * processes the tests start run the build of the sources under test, and none of them
 * pays for (or prints) a compile of its own.
 */
// @ts-expect-error bin/build.js is plain JavaScript without type declarations
import { ensureBuilt } from '../../bin/build.js';

export default function setup(): void {
  ensureBuilt();
}
