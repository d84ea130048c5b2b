/**
 * The ledger's request/reply API: for every subject the ledger answers, what a request looks like
 * (the ledger decodes with these schemas) and what its reply looks like (the LedgerClient checks
 * with these). One place decides both, so a caller and the ledger cannot disagree.
 *
 * Any reply may instead be `{ error }` (ledgerErrorReplySchema): the request was invalid, or the
 * ledger could not answer it. Replies are checked on the fields their callers read; the ledger's
 * records nested in them (a worker, a task, an audit row) are checked on their identifying fields
 * and otherwise passed on as sent, since they grow with the ledger's migrations.
 */
import { z } from 'zod';
import type { BudgetReply, CostsReply, StatusReply, TaskReply } from '../db/replies.ts';
import type { TaskTreeNode } from '../db/taskTree.ts';
import { taskIdSchema as taskIdToken, tierSchema as tier } from './messages.ts';
import { sliceLeaseReplySchema, sliceLeaseRequestSchema, sliceReturnReplySchema, sliceReturnRequestSchema } from './sliceMessages.ts';
import { SUBJECTS } from './subjects.ts';

const digest = z.string().regex(/^[0-9a-f]{64}$/, 'the SHA-256 hex of the key');
const sinceHours = z.number().positive().max(24 * 3660).default(24);

/** What every ledger reply may be instead of its own shape. */
export const ledgerErrorReplySchema = z.object({ error: z.string() });

// --- Requests: the ledger refuses (with `{ error }`) what these do not accept. ---

/** `koubou.ledger.budget.reserve`. */
export const reserveRequestSchema = z.strictObject({
  reservationId: z.string(), taskId: taskIdToken, tier, amountUsd: z.number().nonnegative(), yearMonth: z.string().regex(/^\d{4}-\d{2}$/),
  clientKey: z.string().optional().describe('the gateway key whose own monthly budget also bounds the grant'),
  parentTaskId: z.string().optional().describe('the task\'s parent: a capped ancestor\'s cap (a master\'s session) also bounds the grant'),
});
/** `koubou.ledger.budget.release`. */
export const releaseRequestSchema = z.strictObject({ reservationId: z.string().min(1) });
/** `koubou.ledger.query.budget` and `.status`: no fields (an empty payload is an empty request). */
export const emptyRequestSchema = z.object({});
/** `koubou.ledger.query.costs` and `.tree`. */
export const sinceRequestSchema = z.strictObject({ sinceHours });
/** `koubou.ledger.query.task`. */
export const taskRequestSchema = z.strictObject({ taskId: z.string().min(1).max(128) });
/** `koubou.ledger.query.gatewayKey`: the digest of a key a client sent (the key never travels). */
export const gatewayKeyRequestSchema = z.strictObject({ digest });
/** `koubou.ledger.query.dashboardKey`: with a digest, whose key it is; always, how many keys are live. */
export const dashboardKeyRequestSchema = z.strictObject({ digest: digest.optional() });
/** `koubou.ledger.query.parent`. */
export const parentRequestSchema = z.strictObject({ parentTaskId: taskIdToken });
/** `koubou.ledger.parent.open`: a front door's session and its money cap (null: none). */
export const parentOpenRequestSchema = parentRequestSchema.extend({ capUsd: z.number().nonnegative().nullable() });
/** `koubou.ledger.parent.close`: a front door's session has ended. */
export const parentCloseRequestSchema = parentRequestSchema.extend({ end: z.enum(['client_closed', 'server_stopped']) });

// --- Replies. ---

/** A schema that checks what callers read, its output typed as the ledger's reply type `T` (whose other fields pass as sent). */
const replyOf = <T>(schema: z.ZodType): z.ZodType<T> => schema as unknown as z.ZodType<T>;
const usdAmount = z.number();
const record = <S extends z.ZodRawShape>(shape: S) => z.looseObject(shape);

export const reserveReplySchema = z.strictObject({ granted: z.boolean(), reason: z.string() });
export const releaseReplySchema = z.object({ released: z.boolean() });
export const budgetReplySchema = z.object({
  yearMonth: z.string(), limitUsd: usdAmount, spentUsd: usdAmount, reservedUsd: usdAmount, alertThresholdPercent: z.number(),
}) satisfies z.ZodType<BudgetReply>;
const costReportShape = {
  totalUsd: usdAmount, requests: z.number(), avgTokens: z.number(),
  byTierModel: z.array(record({ tier: z.string(), model: z.string(), requests: z.number(), totalTokens: z.number(), costUsd: usdAmount })),
  byKey: z.array(record({ key: z.string().nullable(), requests: z.number(), usd: usdAmount })),
};
export const costsReplySchema = replyOf<CostsReply>(z.object({ sinceHours: z.number(), ...costReportShape }));
export const statusReplySchema = replyOf<StatusReply>(z.object({
  workers: z.array(record({ workerId: z.string(), workerType: z.string(), status: z.string(), location: z.string(), lastHeartbeat: z.string().nullable() })),
  tasksByStatus: z.record(z.string(), z.number()),
  cost24h: z.object(costReportShape),
  budget: budgetReplySchema,
  unreserved: record({ totalUsd: usdAmount, calls: z.number(), recent: z.array(record({ usageId: z.string() })) }).optional(),
  passRates: z.array(record({ tier: z.string(), taskType: z.string(), runs: z.number(), passed: z.number() })).optional(),
  recentTasks: z.array(record({ taskId: z.string(), status: z.string(), createdAt: z.string() })).optional(),
  at: z.string(),
}));
export const taskReplySchema = replyOf<TaskReply>(z.object({
  task: record({ taskId: z.string(), status: z.string() }),
  routing: z.array(record({ taskId: z.string(), state: z.string() })),
  fallbacks: z.array(record({ taskId: z.string(), fromTier: z.string(), toTier: z.string() })),
}));
export const gatewayKeyReplySchema = z.object({ key: z.object({ name: z.string(), monthlyBudgetUsd: z.number().nullable() }).nullable() });
export const dashboardKeyReplySchema = z.object({ key: z.object({ name: z.string() }).nullable(), liveKeys: z.number().int().nonnegative() });
export const parentOpenReplySchema = z.object({ opened: z.string() });
export const parentCloseReplySchema = z.object({ closed: z.string() });
export const parentReplySchema = z.object({ parentTaskId: z.string(), capUsd: z.number().nullable(), spentUsd: usdAmount, reservedUsd: usdAmount });
const treeNodeSchema: z.ZodType<TaskTreeNode> = z.lazy(() => z.object({
  taskId: z.string(), status: z.string(), tier: z.string().nullable(), costUsd: usdAmount, totalUsd: usdAmount, children: z.array(treeNodeSchema),
}));
export const treeReplySchema = z.object({ sinceHours: z.number(), trees: z.array(treeNodeSchema) });

/**
 * Every ledger subject, keyed by the LedgerClient method that asks it: its request and reply schemas.
 * @example decode(LEDGER_API.costs.request, msg.data, msg.subject).sinceHours
 */
export const LEDGER_API = {
  reserve: { subject: SUBJECTS.budgetReserve, request: reserveRequestSchema, reply: reserveReplySchema },
  release: { subject: SUBJECTS.budgetRelease, request: releaseRequestSchema, reply: releaseReplySchema },
  budget: { subject: SUBJECTS.ledgerQuery('budget'), request: emptyRequestSchema, reply: budgetReplySchema },
  status: { subject: SUBJECTS.ledgerQuery('status'), request: emptyRequestSchema, reply: statusReplySchema },
  costs: { subject: SUBJECTS.ledgerQuery('costs'), request: sinceRequestSchema, reply: costsReplySchema },
  task: { subject: SUBJECTS.ledgerQuery('task'), request: taskRequestSchema, reply: taskReplySchema },
  gatewayKey: { subject: SUBJECTS.ledgerQuery('gatewayKey'), request: gatewayKeyRequestSchema, reply: gatewayKeyReplySchema },
  dashboardKey: { subject: SUBJECTS.ledgerQuery('dashboardKey'), request: dashboardKeyRequestSchema, reply: dashboardKeyReplySchema },
  parentOpen: { subject: SUBJECTS.parentOpen, request: parentOpenRequestSchema, reply: parentOpenReplySchema },
  parentClose: { subject: SUBJECTS.parentClose, request: parentCloseRequestSchema, reply: parentCloseReplySchema },
  parent: { subject: SUBJECTS.ledgerQuery('parent'), request: parentRequestSchema, reply: parentReplySchema },
  tree: { subject: SUBJECTS.ledgerQuery('tree'), request: sinceRequestSchema, reply: treeReplySchema },
  sliceLease: { subject: SUBJECTS.sliceLease, request: sliceLeaseRequestSchema, reply: sliceLeaseReplySchema },
  sliceReturn: { subject: SUBJECTS.sliceReturn, request: sliceReturnRequestSchema, reply: sliceReturnReplySchema },
} as const;

export type LedgerMethod = keyof typeof LEDGER_API;
/** What a ledger request on `M`'s subject carries (as sent: defaults not yet applied). */
export type LedgerRequest<M extends LedgerMethod> = z.input<(typeof LEDGER_API)[M]['request']>;
/** What the ledger answers on `M`'s subject, when it does not answer `{ error }`. */
export type LedgerReply<M extends LedgerMethod> = z.output<(typeof LEDGER_API)[M]['reply']>;
export type ReserveRequest = z.infer<typeof reserveRequestSchema>;
export type ReserveReply = z.infer<typeof reserveReplySchema>;
