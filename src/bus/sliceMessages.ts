/**
 * Budget slices over the bus: a gateway leases a slice of the month from the ledger
 * (`koubou.ledger.slice.lease`), reserves its calls from it in memory, and returns it when done
 * (`koubou.ledger.slice.return`). Request/reply; both replies carry the month as the ledger has it
 * after the request (the router's `BudgetState`), which a gateway may route by (BudgetSlices' `onBudget`).
 * The ledger's side is src/db/budgetSlices.ts; the gateway's, actors/gateway/BudgetSlices.ts.
 *
 * @example
 * const req: SliceLeaseRequest = { sliceId: 'gw-1.s-1', holder: 'gw-1', minUsd: 0.02, wantUsd: 1, ttlMs: 60_000 };
 * const reply = decode(sliceLeaseReplySchema, (await nc.request(SUBJECTS.sliceLease, encode(req))).data, SUBJECTS.sliceLease);
 */
import { z } from 'zod';

const usd = z.number().nonnegative().describe('US dollars');
const sliceId = z.string().regex(/^[A-Za-z0-9_.:-]{1,200}$/).describe('chosen by the gateway, unique: the reservationId its calls\' usages name');
const holder = z.string().regex(/^[A-Za-z0-9_.:-]{1,128}$/).describe('the gateway (process) that leases the slice');

/** The month's budget as the router's BudgetView reads it (`koubou.ledger.query.budget`). */
export const budgetStateSchema = z.strictObject({
  yearMonth: z.string().regex(/^\d{4}-\d{2}$/), limitUsd: usd, spentUsd: usd, reservedUsd: usd,
  alertThresholdPercent: z.number().min(0).max(100),
});

export const sliceLeaseRequestSchema = z.strictObject({
  sliceId, holder,
  clientKey: z.string().min(1).max(64).optional().describe('the gateway key the slice serves: its own monthly budget bounds the slice too, and only its tasks\' usages are covered by it'),
  minUsd: usd.describe('grant at least this much or refuse (the reservation the gateway needs now)'),
  wantUsd: usd.describe('the slice\'s size: granted whole when the month and the key have the room, else as much as they have if at least minUsd'),
  ttlMs: z.number().int().positive().max(3_600_000).describe('the lease: past it, and a grace period, the ledger closes the slice'),
});

export const sliceLeaseReplySchema = z.discriminatedUnion('granted', [
  z.strictObject({
    granted: z.literal(true), sliceId, amountUsd: usd,
    expiresAt: z.string().describe('ISO-8601 UTC time, by the ledger\'s clock (to the second)'),
    budget: budgetStateSchema,
  }),
  z.strictObject({
    granted: z.literal(false),
    code: z.enum(['insufficient_budget', 'key_budget', 'ended', 'id_in_use']).describe('insufficient_budget: the month lacks minUsd of room; key_budget: the key\'s month does; ended: this slice was returned or expired; id_in_use: a call\'s reservation has this id'),
    reason: z.string().describe('for people: the figures the rule saw'),
    budget: budgetStateSchema,
  }),
]);

export const sliceReturnRequestSchema = z.strictObject({
  sliceId, holder,
  chargedUsd: usd.describe('what the calls granted from the slice cost, by the holder\'s count (their usages are durable in JetStream)'),
});

export const sliceReturnReplySchema = z.strictObject({
  returned: z.boolean().describe('true also for a repeated return (the first count stays)'),
  code: z.enum(['unknown', 'other_holder', 'expired']).nullable().describe('why not returned: no such slice, another gateway\'s, or the ledger closed it at its expiry'),
  heldUsd: usd.describe('what the slice still holds against the month (usages not applied yet)'),
  budget: budgetStateSchema,
});

export type BudgetStateMessage = z.infer<typeof budgetStateSchema>;
export type SliceLeaseRequest = z.infer<typeof sliceLeaseRequestSchema>;
export type SliceLeaseReply = z.infer<typeof sliceLeaseReplySchema>;
export type SliceReturnRequest = z.infer<typeof sliceReturnRequestSchema>;
export type SliceReturnReply = z.infer<typeof sliceReturnReplySchema>;
