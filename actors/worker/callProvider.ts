import { KoubouError } from '../../src/core/errors.ts';
import type { GenerateRequest, GenerateResult, Provider, ProviderError } from '../../src/llm/Provider.ts';
import type { Progress } from '../../src/bus/index.ts';

/**
 * Calls the provider, rejecting as soon as `signal` aborts even when the
 * provider does not watch its signal: a cancelled task must free its slot
 * without waiting for a backend that keeps generating.
 */
export function callProvider(provider: Provider, request: GenerateRequest & { signal: AbortSignal }): Promise<GenerateResult> {
  const { signal } = request;
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(new KoubouError('ABORTED', 'the call was aborted'));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    // Through a promise, so that a provider that throws synchronously rejects instead.
    Promise.resolve()
      .then(() => provider.generate(request))
      .then(resolve, reject)
      .finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** Any thrown value as a provider error: unknown exceptions become non-retryable `PROVIDER_ERROR`s. */
export function asProviderError(e: unknown): ProviderError {
  if (e instanceof KoubouError) return e as ProviderError;
  const message = e instanceof Error ? e.message : String(e);
  return new KoubouError('PROVIDER_ERROR', message, { cause: e }) as ProviderError;
}

/**
 * Progress callbacks, published at most once per `everyMs`: the first at once,
 * later ones trailing so that the newest count is the one that goes out.
 */
export function throttledProgress(
  publish: (p: Progress) => void,
  base: { taskId: string; attempt: number; workerId: string },
  everyMs = 250,
): { onProgress: NonNullable<GenerateRequest['onProgress']>; cancel(): void } {
  let last = 0;
  let pending: { tokens: number; tokensPerSecond: number } | null = null;
  let timer: NodeJS.Timeout | null = null;
  const send = (p: { tokens: number; tokensPerSecond: number }) => {
    last = Date.now();
    publish({ ...base, tokens: Math.round(p.tokens), tokensPerSecond: p.tokensPerSecond, at: new Date(last).toISOString() });
  };
  return {
    onProgress(p) {
      const wait = last + everyMs - Date.now();
      if (wait <= 0 && !timer) return send(p);
      pending = p;
      timer ??= setTimeout(() => {
        timer = null;
        if (pending) send(pending);
        pending = null;
      }, Math.max(0, wait));
    },
    cancel() {
      if (timer) clearTimeout(timer);
      timer = null;
      pending = null;
    },
  };
}
