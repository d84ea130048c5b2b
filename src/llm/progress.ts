/**
 * Progress of a streaming answer: tokens counted from the streamed text (with
 * koubou's o200k counter, as the providers' own counts only come at the end)
 * and reported through `onProgress` at most every `intervalMs`.
 */
import { countTokens } from '../policy/index.ts';
import type { GenerateRequest } from './Provider.ts';

export const DEFAULT_PROGRESS_INTERVAL_MS = 100;

export class StreamProgress {
  private tokens = 0;
  /** Pieces not counted yet: nobody asked for progress, so they are counted only if `count` is read. */
  private uncounted: string[] = [];
  private firstAt = 0;
  private lastReportAt = 0;
  private reportedTokens = -1;

  constructor(
    private readonly onProgress: GenerateRequest['onProgress'],
    private readonly intervalMs = DEFAULT_PROGRESS_INTERVAL_MS,
  ) {}

  /** Counts a streamed piece of text; reports at once on the first, then at most every `intervalMs`. */
  add(text: string): void {
    if (text.length === 0) return;
    if (!this.onProgress) {
      this.uncounted.push(text);
      return;
    }
    const now = Date.now();
    if (this.firstAt === 0) this.firstAt = now;
    // Per piece, not the whole text again: streams send one token or so per piece.
    this.tokens += countTokens(text);
    if (this.reportedTokens < 0 || now - this.lastReportAt >= this.intervalMs) this.report(now);
  }

  /** Reports the final count if the last report was older. */
  finish(): void {
    if (!this.onProgress) return;
    if (this.tokens !== this.reportedTokens && this.tokens > 0) this.report(Date.now());
  }

  /** Tokens streamed so far (a provider that sends no usage is charged by it). */
  get count(): number {
    for (const piece of this.uncounted.splice(0)) this.tokens += countTokens(piece);
    return this.tokens;
  }

  private report(now: number): void {
    this.lastReportAt = now;
    this.reportedTokens = this.tokens;
    const seconds = (now - this.firstAt) / 1000;
    // The generation rate since the first token; reasoning time before it is not output speed.
    const tokensPerSecond = seconds > 0 ? Math.round((this.tokens / seconds) * 10) / 10 : 0;
    try {
      this.onProgress?.({ tokens: this.tokens, tokensPerSecond });
    } catch {
      // Progress is informational: a failing listener must not fail the call.
    }
  }
}
