import { setFlagsFromString } from 'node:v8';

/**
 * V8 flags every koubou process runs with.
 *
 * `--no-allocation-site-pretenuring`: V8 allocates objects from a site straight in the old
 * generation once most of that site's objects have survived a young-generation collection. A
 * routing decision's objects live for a fraction of a millisecond, but enough of them are caught
 * alive by collections that their sites get pretenured; from then on they die in the old
 * generation, where only a full collection frees them, and the young objects they point to
 * survive every scavenge until it does. Measured on the routing benchmark (docs/benchmarks.md):
 * about 1 MB promoted and 4–5 ms per scavenge with it, about 0.2 MB and under 1 ms without.
 */
export const V8_FLAGS: readonly string[] = ['--no-allocation-site-pretenuring'];

/**
 * Sets `V8_FLAGS` in this process. Called first thing by the `koubou` command (and by the
 * benchmarks that measure what it runs); V8 reads these flags at each collection, so setting
 * them at start-up takes effect for the process's whole life.
 *
 * @example
 * tuneGarbageCollection();
 */
export function tuneGarbageCollection(): void {
  for (const flag of V8_FLAGS) setFlagsFromString(flag);
}
