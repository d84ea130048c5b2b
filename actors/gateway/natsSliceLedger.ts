import type { NatsConnection } from '@nats-io/transport-node';
import { LedgerClient } from '../../src/bus/index.ts';
import type { SliceLedger } from './BudgetSlices.ts';

/**
 * The ledger's budget slices over NATS (`koubou.ledger.slice.lease` and `.return`, through the
 * typed LedgerClient), as BudgetSlices takes them; the connection must be the gateway role's
 * (nats.conf). A ledger's `{ error }` reply is thrown as `LEDGER_ERROR`, no answer as `LEDGER_UNAVAILABLE`.
 *
 * @example
 * const slices = new BudgetSlices({ ledger: natsSliceLedger(nc), holder: 'gw-1a2b' });
 */
export function natsSliceLedger(nc: NatsConnection, opts: { timeoutMs?: number } = {}): SliceLedger {
  const ledger = new LedgerClient(nc, { timeoutMs: opts.timeoutMs ?? 2000 });
  return {
    lease: (req) => ledger.sliceLease(req),
    return: (req) => ledger.sliceReturn(req),
  };
}
