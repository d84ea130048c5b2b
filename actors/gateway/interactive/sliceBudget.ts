import type { BudgetSlices } from '../BudgetSlices.ts';
import type { InteractiveBudget } from './InteractivePath.ts';

/**
 * The interactive path's reservations from a gateway's budget slices: each attempt is granted
 * in memory from its key's current slice (no ledger request unless a slice must be leased), and
 * settled with what its calls cost once their usage is stored.
 *
 * @example
 * const budget = sliceBudget(new BudgetSlices({ ledger: natsSliceLedger(nc), holder: 'gateway-1' }));
 */
export function sliceBudget(slices: BudgetSlices): InteractiveBudget {
  return {
    async reserve(request) {
      const grant = await slices.reserve(request.clientKey ?? null, request.amountUsd);
      if (!grant.granted) return { granted: false, reason: grant.reason };
      return { granted: true, reservationId: grant.reservationId, settle: (chargedUsd) => slices.settle(grant, chargedUsd) };
    },
    stop: () => slices.stop(),
  };
}
