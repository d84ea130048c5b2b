/**
 * The errors every provider throws: one class, stable codes, and whether a retry
 * may help. Workers branch on `code` and `retryable`, never on message text, so
 * messages are free to be helpful (and never contain an API key).
 */
import { KoubouError } from '../core/errors.ts';
import type { ProviderError } from './Provider.ts';

/**
 * Codes a provider may throw, and whether the same call may succeed later.
 * `HOST_BUSY` means "this host is full: try another host (or later)".
 */
export const PROVIDER_ERROR_RETRYABLE = {
  RATE_LIMITED: true,
  AUTH_FAILED: false,
  PERMISSION_DENIED: false,
  QUOTA_EXCEEDED: false,
  MODEL_NOT_FOUND: false,
  BAD_REQUEST: false,
  UPSTREAM_ERROR: true,
  HOST_BUSY: true,
  TIMEOUT: true,
  UNREACHABLE: true,
  MALFORMED_RESPONSE: true,
  ABORTED: false,
} as const;

export type ProviderErrorCode = keyof typeof PROVIDER_ERROR_RETRYABLE;

export interface ProviderFailureDetails {
  cause?: unknown;
  /** HTTP status of the failed response, when there was one. */
  status?: number;
  rateLimited?: boolean;
  retryAfterMs?: number;
  /** `x-ratelimit-*`, `retry-after` and `retry-after-ms` of the failed response, lowercased. */
  headers?: Record<string, string>;
}

/**
 * A provider call that failed. Implements {@link ProviderError}.
 *
 * @example
 * try { await provider.generate(req) } catch (e) {
 *   if (e instanceof ProviderFailure && e.code === 'RATE_LIMITED') await sleep(e.retryAfterMs ?? 10_000);
 * }
 */
export class ProviderFailure extends KoubouError implements ProviderError {
  readonly rateLimited: boolean;
  readonly retryAfterMs?: number;
  readonly headers?: Record<string, string>;
  readonly status?: number;

  constructor(code: ProviderErrorCode, message: string, details: ProviderFailureDetails = {}) {
    super(code, message, { retryable: PROVIDER_ERROR_RETRYABLE[code], cause: details.cause });
    this.rateLimited = details.rateLimited ?? code === 'RATE_LIMITED';
    if (details.retryAfterMs !== undefined) this.retryAfterMs = details.retryAfterMs;
    if (details.headers !== undefined) this.headers = details.headers;
    if (details.status !== undefined) this.status = details.status;
  }
}

/** Connection-level failures that mean "nothing is listening there" (or the route to it is gone). */
const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ECONNRESET', 'EPIPE', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_SOCKET']);

/** The first `code` of a Node system error in `e`'s cause chain (fetch wraps them in `TypeError: fetch failed`). */
export function systemErrorCode(e: unknown): string | undefined {
  for (let cur: unknown = e, depth = 0; cur && depth < 6; depth++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string' && /^(E[A-Z]+|UND_ERR_[A-Z_]+)$/.test(code)) return code;
    const errors = (cur as { errors?: unknown }).errors; // AggregateError from happy-eyeballs connects
    if (Array.isArray(errors) && errors.length > 0) cur = errors[0];
    else cur = (cur as { cause?: unknown }).cause;
  }
  return undefined;
}

export function isUnreachable(e: unknown): boolean {
  const code = systemErrorCode(e);
  return code !== undefined && UNREACHABLE_CODES.has(code);
}

/**
 * The headers a rate-limit decision needs: `x-ratelimit-*` always, plus
 * `retry-after` and `retry-after-ms` when `withRetryAfter`.
 */
export function rateLimitHeadersOf(headers: Headers | undefined, withRetryAfter = false): Record<string, string> {
  const out: Record<string, string> = {};
  headers?.forEach((value, key) => {
    const k = key.toLowerCase();
    if (k.startsWith('x-ratelimit-') || (withRetryAfter && (k === 'retry-after' || k === 'retry-after-ms'))) out[k] = value;
  });
  return out;
}

/** Retry-After as milliseconds: `retry-after-ms` first, then `retry-after` (seconds or an HTTP date). */
export function retryAfterMsOf(headers: Record<string, string>, now = Date.now()): number | undefined {
  const ms = headers['retry-after-ms'];
  if (ms !== undefined && /^\s*\d+(\.\d+)?\s*$/.test(ms)) return Math.ceil(Number(ms));
  const after = headers['retry-after'];
  if (after === undefined) return undefined;
  if (/^\s*\d+(\.\d+)?\s*$/.test(after)) return Math.ceil(Number(after) * 1000);
  const at = Date.parse(after);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Removes a secret from text that may echo it (upstream error messages do). */
export function redact(text: string, secret: string | undefined): string {
  return secret && secret.length >= 4 ? text.split(secret).join('[redacted]') : text;
}

/** The innermost useful message of an error chain (`fetch failed` hides `connect ECONNREFUSED …`). */
export function describeCause(e: unknown): string {
  let cur: unknown = e;
  let message = e instanceof Error ? e.message : String(e);
  for (let depth = 0; cur instanceof Error && depth < 6; depth++) {
    if (cur.message) message = cur.message;
    cur = cur.cause;
  }
  return message;
}
