/**
 * What the ledger answered about a key, by the key's digest, for a while: a door checks every
 * request's key, and asking the ledger each time would put a bus round trip on every request.
 * A known key is kept `knownMs` (so a revoked one stops working within that time), an unknown
 * one at most `unknownMs` (so a key just made works almost at once). The oldest answer goes
 * first past `max` digests.
 *
 * @example
 * const answers = new KeyAnswers<GatewayKey>({ knownMs: 30_000 });
 * const key = await answers.get(digest, () => lookupKey(digest)); // null: unknown or revoked
 */
export class KeyAnswers<T> {
  private readonly answers = new Map<string, { value: T | null; until: number }>();
  private readonly knownMs: number;
  private readonly unknownMs: number;
  private readonly max: number;

  /** Defaults: known keys 30 s, unknown 2 s (never longer than known), 10,000 digests. */
  constructor(options: { knownMs?: number; unknownMs?: number; max?: number } = {}) {
    this.knownMs = options.knownMs ?? 30_000;
    this.unknownMs = Math.min(options.unknownMs ?? 2_000, this.knownMs);
    this.max = options.max ?? 10_000;
  }

  /** The kept answer for `digest`, or `ask()`'s (kept); a failing `ask` is thrown and nothing kept. */
  async get(digest: string, ask: () => Promise<T | null>): Promise<T | null> {
    const kept = this.answers.get(digest);
    if (kept && kept.until > Date.now()) return kept.value;
    const value = await ask();
    this.answers.delete(digest);
    this.answers.set(digest, { value, until: Date.now() + (value !== null ? this.knownMs : this.unknownMs) });
    if (this.answers.size > this.max) this.answers.delete(this.answers.keys().next().value!);
    return value;
  }
}
