import { z } from 'zod';
import { InputError } from './errors.ts';
import { TASK_TYPES, TIER_NAME, type TaskInput } from './types.ts';

const toolCallSchema = z.strictObject({ id: z.string(), name: z.string().min(1), arguments: z.string() });

/** A whole conversation with its tools (see `Conversation`). */
export const conversationSchema = z.strictObject({
  messages: z.array(z.strictObject({
    role: z.enum(['system', 'user', 'assistant', 'tool']),
    content: z.string(),
    toolCalls: z.array(toolCallSchema).optional(),
    toolCallId: z.string().optional(),
  })).min(1),
  tools: z.array(z.strictObject({
    name: z.string().min(1),
    description: z.string().optional(),
    parameters: z.record(z.string(), z.unknown()).optional(),
  })),
  reasoningEffort: z.enum(['minimal', 'low', 'medium', 'high']).optional(),
});

/** A workspace in the `koubou_ws` bucket. */
export const workspaceRefSchema = z.strictObject({
  object: z.string().regex(/^[A-Za-z0-9_.-]{1,200}$/),
  commit: z.string().regex(/^[0-9a-f]{40,64}$/),
  files: z.number().int().nonnegative(),
  bytes: z.number().int().nonnegative(),
  keptOut: z.number().int().nonnegative(),
});

export const agentOptionsSchema = z.strictObject({
  test: z.string().min(1).max(1000).optional(),
  maxWallSeconds: z.number().int().positive().max(24 * 3600).optional(),
  maxTurns: z.number().int().positive().max(10_000).optional(),
  maxTokens: z.number().int().positive().optional(),
});

/** A tool call a model made, as results carry it. */
export const toolCallsSchema = z.array(toolCallSchema);

/**
 * Schema of a task as submitted (CLI, NATS, HTTP). Its text travels once: as `prompt`, or as a
 * `conversation` alone (the gateway's), whose text is then derived (taskPrompt).
 */
export const taskInputSchema = z.strictObject({
  taskId: z.string().regex(/^[A-Za-z0-9_-]{1,128}$/, 'letters, digits, _ or - (at most 128)'),
  type: z.enum(TASK_TYPES).default('general'),
  priority: z.number().int().min(1).max(10).default(5),
  prompt: z.string().refine((s) => s.trim().length > 0, 'must not be empty').optional()
    .describe('the task in words; may be left out when a `conversation` carries the task (the gateway leaves it out: its text is the conversation as one text)'),
  files: z.array(z.strictObject({ path: z.string().min(1), content: z.string() })).default([]),
  parentTaskId: z.string().optional().describe('the task this one serves; set only by a front door (refused on koubou.task.submit)'),
  conversation: conversationSchema.optional(),
  pinnedTier: z.string().regex(TIER_NAME).optional().describe('a tier to run on; any submitter may pin (sensitivity and the budget still overrule it)'),
  confidentialSession: z.strictObject({ session: z.string().min(1).max(256), since: z.string() }).optional()
    .describe('the conversation has been confidential: stay local; set only by a front door (refused on koubou.task.submit)'),
  sessionTier: z.strictObject({ tier: z.string().regex(TIER_NAME), newAsk: z.boolean() }).optional()
    .describe("the tier a session's first turn was routed to, kept unless newAsk (this turn's task statement differs: routed afresh); set only by a front door from the session's record (refused on koubou.task.submit)"),
  clientKey: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/).optional()
    .describe('the gateway key the caller authenticated with (whose budget it draws on); set only by a front door (refused on koubou.task.submit)'),
  session: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ or - (at most 64)').optional()
    .describe('the session this task is a turn of, as an opaque id (a keyed hash, never the conversation\'s text): the dashboard groups a session\'s tasks by it; set only by a front door (refused on koubou.task.submit)'),
  workspace: workspaceRefSchema.optional(),
  executor: z.enum(['single_call', 'agent']).optional(),
  agent: agentOptionsSchema.optional(),
  stream: z.boolean().optional()
    .describe('the client wants the model\'s output as it is made, on `koubou.stream.<taskId>` (the gateway sets it for a streamed request); otherwise only the final event carries the answer'),
}).refine((t) => t.prompt !== undefined || t.conversation !== undefined, { path: ['prompt'], message: 'must be given (or a conversation)' });

/**
 * Validates a task; the error names the field and what was wrong.
 *
 * @example
 * parseTaskInput({ taskId: 't1', prompt: 'fix a typo', priority: 11 });
 * // throws InputError: "priority: must be at most 10 (found 11)"
 */
export function parseTaskInput(value: unknown): TaskInput {
  const parsed = taskInputSchema.safeParse(value, { reportInput: true });
  if (parsed.success) return parsed.data as TaskInput;
  const issue = parsed.error.issues[0]!;
  const field = issue.path.join('.') || '(task)';
  const found = 'input' in issue && issue.input !== undefined ? ` (found ${JSON.stringify(issue.input)?.slice(0, 60)})` : '';
  throw new InputError(`${field}: ${issueText(issue)}${found}`, { code: 'TASK_INVALID' });
}

function issueText(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_value':
      return `must be one of ${issue.values.join(', ')}`;
    case 'too_big':
      return `must be at most ${issue.maximum}`;
    case 'too_small':
      return `must be at least ${issue.minimum}`;
    case 'invalid_type':
      return `expected ${issue.expected}`;
    default:
      return issue.message;
  }
}
