import type { NatsConnection } from '@nats-io/transport-node';
import { z } from 'zod';
import { decode, encode, sliceLeaseReplySchema, sliceReturnReplySchema, SUBJECTS } from '../../src/bus/index.ts';
import { KoubouError } from '../../src/core/errors.ts';
import type { SliceLedger } from './BudgetSlices.ts';

const errorReply = z.strictObject({ error: z.string() });

/** One request to the ledger; its `{ error }` reply (a bad request, a busy or failed ledger) thrown as `LEDGER_ERROR`. */
async function ask<S extends z.ZodType>(nc: NatsConnection, subject: string, body: unknown, schema: S, timeoutMs: number): Promise<z.infer<S>> {
  const msg = await nc.request(subject, encode(body), { timeout: timeoutMs });
  const reply = decode(z.union([schema, errorReply]), msg.data, subject) as z.infer<S> | z.infer<typeof errorReply>;
  if (reply && typeof reply === 'object' && 'error' in reply) throw new KoubouError('LEDGER_ERROR', `${subject}: ${reply.error}`, { retryable: true });
  return reply as z.infer<S>;
}

/**
 * The ledger's budget slices over NATS (`koubou.ledger.slice.lease` and `.return`), as
 * BudgetSlices takes them; the connection must be the gateway role's (nats.conf).
 *
 * @example
 * const slices = new BudgetSlices({ ledger: natsSliceLedger(nc), holder: 'gw-1a2b' });
 */
export function natsSliceLedger(nc: NatsConnection, opts: { timeoutMs?: number } = {}): SliceLedger {
  const timeoutMs = opts.timeoutMs ?? 2000;
  return {
    lease: (req) => ask(nc, SUBJECTS.sliceLease, req, sliceLeaseReplySchema, timeoutMs),
    return: (req) => ask(nc, SUBJECTS.sliceReturn, req, sliceReturnReplySchema, timeoutMs),
  };
}
