/**
 * The caps of a master's session: money (enforced by the ledger's reservations, like the month's
 * budget: see src/db/parentCaps.ts), children in flight and children in all (enforced by the MCP
 * server, the one submitter of the session's children). null: no cap.
 */
import { InputError } from '../core/errors.ts';

export interface SessionCaps {
  usd: number | null;
  inFlight: number | null;
  total: number | null;
}

export const NO_CAPS: SessionCaps = { usd: null, inFlight: null, total: null };

/**
 * Refuses one more child when the session already has as many in flight, or in all, as its caps allow.
 *
 * @example
 * refuseOverChildCaps({ usd: null, inFlight: 2, total: 10 }, { inFlight: 2, total: 3 });
 * // throws InputError (code CHILD_CAP): "children in flight: 2 of 2 ..."
 */
export function refuseOverChildCaps(caps: SessionCaps, now: { inFlight: number; total: number }): void {
  if (caps.total !== null && now.total >= caps.total) {
    throw new InputError(`children in all: ${now.total} of ${caps.total} (the session's cap): no more subtasks in this session`, { code: 'CHILD_CAP' });
  }
  if (caps.inFlight !== null && now.inFlight >= caps.inFlight) {
    throw new InputError(`children in flight: ${now.inFlight} of ${caps.inFlight} (the session's cap): wait for one to end first`, { code: 'CHILD_CAP' });
  }
}
