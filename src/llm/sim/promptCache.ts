/**
 * A prompt-prefix cache in the manner of OpenAI's: a prompt is cached in
 * 1024-token blocks from its start, and a later prompt is served from the cache
 * for the longest run of whole blocks it shares with any prompt seen before.
 */
import { createHash } from 'node:crypto';

export const CACHE_BLOCK_TOKENS = 1024;

export class PromptCache {
  /** Hashes of every cached prefix; a block's hash chains its predecessor's, so one lookup covers the whole prefix. */
  private readonly seen = new Set<string>();

  constructor(private readonly maxEntries = 100_000) {}

  /**
   * How many of `tokens`' leading tokens were cached (a multiple of 1024), then
   * caches this prompt's own blocks. `scope` keeps models apart, as caches are per model.
   *
   * @example
   * const cache = new PromptCache();
   * cache.lookupAndStore('gpt-5', tokens3000); // 0
   * cache.lookupAndStore('gpt-5', tokens3000); // 2048
   */
  lookupAndStore(scope: string, tokens: readonly number[]): number {
    let hash = createHash('sha256').update(scope).digest('hex');
    let cachedBlocks = 0;
    let missed = false;
    const blocks = Math.floor(tokens.length / CACHE_BLOCK_TOKENS);
    for (let b = 0; b < blocks; b++) {
      const block = tokens.slice(b * CACHE_BLOCK_TOKENS, (b + 1) * CACHE_BLOCK_TOKENS);
      hash = createHash('sha256').update(hash).update(Uint32Array.from(block)).digest('hex');
      if (!missed && this.seen.has(hash)) cachedBlocks = b + 1;
      else missed = true;
      this.seen.add(hash);
    }
    // A simulator runs for hours at most; forgetting everything beats an unbounded set.
    if (this.seen.size > this.maxEntries) this.seen.clear();
    return cachedBlocks * CACHE_BLOCK_TOKENS;
  }

  clear(): void {
    this.seen.clear();
  }
}
