/** OpenAI's error bodies, as the simulator's OpenAI routes send them. */
import type { ServerResponse } from 'node:http';
import { sendJson } from './http.ts';
import type { SimFault } from './options.ts';

const STATUS_DEFAULTS: Record<number, { message: string; type: string; code: string | null }> = {
  400: { message: 'Invalid request.', type: 'invalid_request_error', code: null },
  401: { message: 'Incorrect API key provided.', type: 'invalid_request_error', code: 'invalid_api_key' },
  404: { message: 'Not found.', type: 'invalid_request_error', code: null },
  429: { message: 'Rate limit reached (simulated). Please try again in 1s.', type: 'requests', code: 'rate_limit_exceeded' },
  500: { message: 'The server had an error while processing your request. Sorry about that!', type: 'server_error', code: null },
  503: { message: 'The engine is currently overloaded, please try again later.', type: 'server_error', code: null },
};

export type ErrorSpec = { message: string; type: string; code: string | null; param?: string | null };

export function sendError(res: ServerResponse, status: number, e: ErrorSpec, headers: Record<string, string>): void {
  sendJson(res, status, { error: { message: e.message, type: e.type, param: e.param ?? null, code: e.code } }, headers);
}

/** An injected HTTP error, in OpenAI's words for its status. */
export function sendFault(res: ServerResponse, fault: Extract<SimFault, { status: number }>, headers: Record<string, string>): void {
  const d = STATUS_DEFAULTS[fault.status] ?? { message: `Simulated error ${fault.status}.`, type: fault.status >= 500 ? 'server_error' : 'invalid_request_error', code: null };
  const extra: Record<string, string> = {};
  if (fault.status === 429) {
    const ms = fault.retryAfterMs ?? 1000;
    extra['retry-after'] = String(Math.ceil(ms / 1000));
    extra['retry-after-ms'] = String(ms);
  }
  sendError(res, fault.status, { message: fault.message ?? d.message, type: fault.type ?? d.type, code: fault.code ?? d.code }, { ...headers, ...extra });
}

