import type { NatsConnection } from '@nats-io/transport-node';
import { encode, SUBJECTS } from '../../src/bus/index.ts';
import type { GatewayKey } from './Gateway.ts';

/**
 * Finds a gateway key among those the ledger keeps (`koubou keys gateway create`), by the
 * SHA-256 of the key: the key itself never travels.
 *
 * @example
 * new Gateway({ nc, keyDigests: [], lookupKey: ledgerKeyLookup(nc) });
 */
export function ledgerKeyLookup(nc: NatsConnection, timeoutMs = 2000): (digest: string) => Promise<GatewayKey | null> {
  return async (digest) => {
    const reply = await nc.request(SUBJECTS.ledgerQuery('gatewayKey'), encode({ digest }), { timeout: timeoutMs });
    const body = reply.json<{ key?: { name: string } | null; error?: string }>();
    if (body.error) throw new Error(`ledger: ${body.error}`);
    return body.key ? { name: body.key.name } : null;
  };
}
