/**
 * Errors that pass by themselves: the server restarting, the client reconnecting, a cluster
 * electing a new leader for a stream (requests time out, find no responder, or meet a node that
 * has not rejoined JetStream yet, for a few seconds).
 */
const TRANSIENT = /timeout|no responders|503|temporarily unavailable|jetstream is not enabled|connection (closed|draining)|disconnect|insufficient resources|no suitable peers|leader/i;

export function isTransientNatsError(e: unknown): boolean {
  const err = e as Error | undefined;
  return TRANSIENT.test(`${err?.name ?? ''} ${err?.message ?? String(e)}`);
}

/**
 * Runs `fn`, and again after a transient error until `timeoutMs` has passed; any other error,
 * or the last transient one, is thrown.
 *
 * @example await retryTransient(() => jsm.streams.add(config), 30_000);
 */
export async function retryTransient<T>(fn: () => Promise<T>, timeoutMs = 30_000, waitMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (!isTransientNatsError(e) || Date.now() >= deadline) throw e;
      await new Promise((r) => setTimeout(r, waitMs));
    }
  }
}
