import type { NatsConnection } from '@nats-io/transport-node';
import { LedgerClient } from '../../src/bus/index.ts';
import type { GatewayKey } from './Gateway.ts';

/**
 * Finds a gateway key among those the ledger keeps (`koubou keys gateway create`), by the
 * SHA-256 of the key: the key itself never travels.
 *
 * @throws LedgerError `LEDGER_UNAVAILABLE`, `LEDGER_ERROR` or `LEDGER_BAD_REPLY` (the gateway answers 503).
 * @example
 * new Gateway({ nc, keyDigests: [], lookupKey: ledgerKeyLookup(nc) });
 */
export function ledgerKeyLookup(nc: NatsConnection, timeoutMs = 2000): (digest: string) => Promise<GatewayKey | null> {
  const ledger = new LedgerClient(nc, { timeoutMs });
  return async (digest) => {
    const { key } = await ledger.gatewayKey(digest);
    return key ? { name: key.name } : null;
  };
}
