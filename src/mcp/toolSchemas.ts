/**
 * The tools of `koubou mcp`, their input and output schemas: what a master agent's client lists
 * and validates against. Inputs are strict, so a field the server sets (a parent, a key) or a
 * misspelt one is refused with its name; outputs are MCP structured content, each also given as
 * readable text.
 */
import { z } from 'zod';
import { TASK_TYPES, TIER_NAME } from '../core/types.ts';

const taskId = z.string().regex(/^[A-Za-z0-9_-]{1,128}$/, 'a task id this session delegated');

export const delegateInput = z.strictObject({
  prompt: z.string().refine((s) => s.trim().length > 0, 'must not be empty').describe('the subtask, in words'),
  files: z.array(z.strictObject({ path: z.string().min(1), content: z.string() })).max(200).optional()
    .describe('files the subtask reads, whole'),
  repo: z.string().min(1).optional()
    .describe('the master\'s working tree (a directory in a git repository): a coding agent works in a copy, and the result is a patch'),
  test: z.string().min(1).max(1000).optional().describe('with repo: the test command run after the agent'),
  type: z.enum(TASK_TYPES).optional(),
  priority: z.number().int().min(1).max(10).optional(),
  tier: z.string().regex(TIER_NAME).optional().describe('a tier to pin (sensitivity and the budget still overrule it)'),
});

export const waitInput = z.strictObject({
  taskIds: z.array(taskId).min(1).max(100),
  any: z.boolean().optional().describe('return as soon as one has ended (default: when all have)'),
  timeoutSeconds: z.number().positive().max(3600).optional().describe('return what has ended by then (default 600)'),
});

export const taskIdInput = z.strictObject({ taskId });
export const applyInput = z.strictObject({
  taskId,
  branch: z.string().regex(/^(?!-)[A-Za-z0-9._/-]{1,200}$/, 'a new branch name (not starting with -)').optional()
    .describe('commit the patch on this new branch instead of changing the working tree'),
});
export const statusInput = z.strictObject({});

const fallback = z.object({ from: z.string(), to: z.string(), reason: z.string(), phase: z.string() });
const ended = z.object({
  taskId: z.string(), status: z.string(), tier: z.string().nullable(), fallbacks: z.array(fallback), costUsd: z.number(),
});

export const delegateOutput = {
  taskId: z.string(), tier: z.string().nullable().describe('the tier it was routed to, once routed'),
  reasons: z.array(z.string()).describe('the routing steps\' reasons so far'),
};
export const waitOutput = { ended: z.array(ended), pending: z.array(z.string()), timedOut: z.boolean() };
export const resultOutput = {
  taskId: z.string(), status: z.string(), tier: z.string().nullable(), text: z.string(),
  diffstat: z.string().nullable(), patch: z.string().nullable(), patchObject: z.string().nullable(),
  test: z.object({ command: z.string(), exitCode: z.number().nullable(), passed: z.boolean(), output: z.string() }).nullable(),
  fallbacks: z.array(fallback), escalations: z.array(fallback), costUsd: z.number(), reasons: z.array(z.string()),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
};
export const applyOutput = {
  taskId: z.string(), applied: z.boolean(), where: z.string(), branch: z.string().nullable(), commit: z.string().nullable(),
  files: z.array(z.string()),
};
export const cancelOutput = { taskId: z.string(), cancelled: z.boolean(), status: z.string() };
export const statusOutput = {
  session: z.string(),
  children: z.array(z.object({ taskId: z.string(), status: z.string(), tier: z.string().nullable(), costUsd: z.number() })),
  spentUsd: z.number(), inFlight: z.number(), total: z.number(),
  caps: z.object({ usd: z.number().nullable(), inFlight: z.number().nullable(), total: z.number().nullable() }),
  month: z.object({ yearMonth: z.string(), limitUsd: z.number(), spentUsd: z.number(), reservedUsd: z.number() }).nullable(),
};

export type DelegateInput = z.infer<typeof delegateInput>;
export type WaitInput = z.infer<typeof waitInput>;
export type ApplyInput = z.infer<typeof applyInput>;
type Out<S extends z.ZodRawShape> = z.infer<z.ZodObject<S>>;
export type DelegateOutput = Out<typeof delegateOutput>;
export type WaitOutput = Out<typeof waitOutput>;
export type ResultOutput = Out<typeof resultOutput>;
export type ApplyOutput = Out<typeof applyOutput>;
export type CancelOutput = Out<typeof cancelOutput>;
export type StatusOutput = Out<typeof statusOutput>;
export type Fallback = z.infer<typeof fallback>;
