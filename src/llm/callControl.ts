/**
 * One abort signal per provider call that fires on the caller's abort or on a
 * stall. The timeout is an idle timeout, restarted by every streamed piece: a
 * long GPT-5 answer that keeps streaming is healthy, a connection that goes
 * quiet for `timeoutMs` is not. (The SDKs' own timeouts stop at the response
 * headers, so a stream that hangs midway would otherwise wait forever.)
 */
import { ProviderFailure } from './errors.ts';

export class CallControl {
  private readonly controller = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private timedOutFlag = false;
  private readonly onUserAbort = (): void => this.controller.abort(this.caller?.reason);

  constructor(
    private readonly caller: AbortSignal | undefined,
    private readonly timeoutMs: number | undefined,
    private readonly label: string,
  ) {
    if (caller?.aborted) this.controller.abort(caller.reason);
    else caller?.addEventListener('abort', this.onUserAbort, { once: true });
    this.touch();
  }

  /** Aborts on the caller's abort or a stall; pass it to the SDK. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Restarts the idle timer: call on every piece of data. */
  touch(): void {
    if (this.timeoutMs === undefined || this.controller.signal.aborted) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timedOutFlag = true;
      this.controller.abort(new Error('timeout'));
    }, this.timeoutMs);
  }

  /** ABORTED or TIMEOUT when the call was ended by either; else `undefined`. */
  endedError(cause?: unknown): ProviderFailure | undefined {
    if (this.timedOutFlag) {
      return new ProviderFailure('TIMEOUT', `${this.label}: no data for ${this.timeoutMs} ms; gave up`, { cause });
    }
    if (this.caller?.aborted) return new ProviderFailure('ABORTED', `${this.label}: the call was aborted`, { cause });
    return undefined;
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.caller?.removeEventListener('abort', this.onUserAbort);
  }
}
