import { InputError, KoubouError } from '../../src/core/errors.ts';
/** An answer the gateway refuses with, in OpenAI's error shape: `{ error: { message, type, param, code } }`. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type: string,
    readonly code: string | null,
    readonly param: string | null = null,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  get body() {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

/**
 * Any error as the gateway answers it: an HttpError as it is, bad input as a 400, the session state out of reach as a 503, anything else as a 500.
 */
export function httpErrorOf(e: unknown): HttpError {
  if (e instanceof HttpError) return e;
  if (e instanceof InputError) return new HttpError(400, e.message, 'invalid_request_error', e.code);
  // The session state is what keeps a confidential conversation local: without it, no routing (503).
  if (e instanceof KoubouError && e.code.startsWith('SESSION_STORE')) return new HttpError(503, `koubou gateway: ${e.message}`, 'server_error', 'session_store_unavailable');
  return new HttpError(500, `koubou gateway: ${(e as Error).message}`, 'server_error', null);
}
