/**
 * The schema of every message on the bus. docs/protocol.md is generated from
 * these (`npm run docs:protocol`), so the documentation cannot drift.
 */
import { z } from 'zod';
import { agentOptionsSchema, conversationSchema, taskInputSchema, toolCallsSchema, workspaceRefSchema } from '../core/taskInput.ts';
import { DIFFICULTY_LEVELS, SENSITIVITY_LEVELS, TASK_STATUSES, TIER_NAME, WORKER_STATUSES } from '../core/types.ts';

const tier = z.string().regex(TIER_NAME).describe('a tier of the config (default: gpt5_high, gpt5_medium, local)');
const isoTime = z.string().describe('ISO-8601 UTC time');
const taskId = z.string().regex(/^[A-Za-z0-9_-]{1,128}$/).describe('letters, digits, _ and - (used as a subject token)');
const usage = z.strictObject({
  promptTokens: z.number().int().nonnegative(),
  cachedPromptTokens: z.number().int().nonnegative(),
  completionTokens: z.number().int().nonnegative(),
  reasoningTokens: z.number().int().nonnegative(),
});
const error = z.strictObject({ code: z.string(), message: z.string() });

/** `koubou.task.submit`: a task, as anyone submits it. */
export const submissionSchema = taskInputSchema.safeExtend({ taskId });

/** `koubou.work.<tier>`: one attempt of a task, for a worker of that tier. */
export const workItemSchema = z.strictObject({
  taskId,
  attempt: z.number().int().positive(),
  tier,
  type: submissionSchema.shape.type,
  priority: z.number().int().min(1).max(10),
  prompt: z.string().optional().describe('the attempt\'s prompt; left out when a `conversation` carries the task (a single call sends the conversation, not a prompt)'),
  files: z.array(z.strictObject({ path: z.string(), content: z.string() })),
  conversation: conversationSchema.optional().describe('the whole conversation with its tools, sent to the model as it is (gateway tasks)'),
  stream: z.boolean().optional()
    .describe('publish the model\'s output on `koubou.stream.<taskId>` as it is made (the client asked for a streamed answer); absent (an older router): published for a task with a `conversation`'),
  workspace: workspaceRefSchema.extend({ bucket: z.string() }).optional().describe('the repository to work in: an object of `bucket` (koubou_ws for the local tier, koubou_ws_cloud for a cloud tier)'),
  agent: agentOptionsSchema.optional(),
  reservationId: z.string().nullable(),
  parentToken: z.string().regex(/^[0-9a-f]{64}$/).optional()
    .describe('an agent task\'s token (HMAC under the door key): its agent sends it with x-koubou-parent-task, so only the worker handed the task may name it as a parent'),
  reservedUsd: z.number().nonnegative().optional()
    .describe('what the reservation holds: the most the attempt\'s paid calls may cost together (a worker makes no paid call past it; absent from an older router, a cloud worker then checks only that a reservation is named)'),
  dispatchedAt: isoTime,
}).refine((w) => w.prompt !== undefined || w.conversation !== undefined, { path: ['prompt'], message: 'must be given (or a conversation)' });

const result = z.strictObject({
  text: z.string(),
  model: z.string(),
  workerId: z.string(),
  usage: usage.optional().describe('all model calls of the attempt, added up'),
  costUsd: z.number().nonnegative().optional().describe('all model calls of the attempt, added up'),
  files: z.array(z.strictObject({ path: z.string(), content: z.string() })).optional()
    .describe('files the executor wrote, whole (executors that change a workspace)'),
  patch: z.string().optional().describe('the change as a unified diff against the task\'s workspace (executors that change a workspace)'),
  toolCalls: toolCallsSchema.optional().describe('the functions the model called instead of answering (conversations with tools)'),
  agent: z.strictObject({
    turns: z.number().int().nonnegative(), commands: z.number().int().nonnegative(),
    filesChanged: z.array(z.string()), diffstat: z.string(),
    patchObject: z.string().optional().describe('a patch too large for the message is in the koubou_ws bucket under this name'),
    test: z.strictObject({ command: z.string(), exitCode: z.number().int().nullable(), output: z.string() }).optional(),
  }).optional().describe('what an agent did (agent tasks)'),
});

/** `koubou.report.<taskId>`: what workers (and `koubou cancel`) tell the routers. */
export const reportSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('started'), taskId, attempt: z.number().int().positive(), workerId: z.string(), at: isoTime }),
  /*
   * `startedAt` (protocol 3): the attempt's start, folded into its outcome because the call ended
   * before the worker sent `started` (it waits a moment first); the router then takes both.
   */
  z.strictObject({ kind: z.literal('completed'), taskId, attempt: z.number().int().positive(), result, startedAt: isoTime.optional(), at: isoTime }),
  z.strictObject({
    kind: z.literal('failed'), taskId, attempt: z.number().int().positive(), workerId: z.string(),
    error, rateLimited: z.boolean().default(false), startedAt: isoTime.optional(), at: isoTime,
  }),
  z.strictObject({ kind: z.literal('cancel'), taskId, reason: z.string().default('cancelled'), at: isoTime }),
]);

/** `koubou.evt.task.<taskId>`: every state change of a task, with its reason. */
export const taskEventSchema = z.strictObject({
  taskId,
  seq: z.number().int().positive().describe('1, 2, 3… per task; Nats-Msg-Id is taskId:evt:seq'),
  at: isoTime,
  status: z.enum(TASK_STATUSES),
  state: z.string().describe('the diagram state the step happened in, e.g. "CheckRateLimit1"; every state a task passes through has its event, those that only pass it on (BudgetCheck, RouteByDifficulty, RouteToGPT5High …) included'),
  reason: z.string(),
  tier: tier.nullable(),
  attempt: z.number().int().nonnegative(),
  type: submissionSchema.shape.type,
  priority: z.number().int(),
  sensitivity: z.strictObject({ level: z.enum(SENSITIVITY_LEVELS), categories: z.array(z.string()) }).nullable(),
  difficulty: z.strictObject({ level: z.enum(DIFFICULTY_LEVELS), score: z.number(), tokens: z.number() }),
  promptSummary: z.string().describe('a short summary; for confidential tasks only its size and categories'),
  workerId: z.string().nullable(),
  reservationId: z.string().nullable(),
  fallback: z.strictObject({ from: tier, to: tier, reason: z.string(), phase: z.enum(['routing', 'execution']) }).optional(),
  escalation: z.strictObject({ from: tier, to: tier, step: z.number().int().positive(), reason: z.string() }).optional()
    .describe('set on the Escalate state\'s event: the tests failed on `from`, the task is tried again on `to` (step 1, 2… of routing.escalation.max_steps)'),
  tests: z.strictObject({ passed: z.boolean(), exitCode: z.number().int().nullable(), attempt: z.number().int().positive().describe('the verified attempt (the event\'s own `attempt` is the task\'s latest)') }).optional()
    .describe('set on the Verify state\'s event: whether the attempt\'s test command passed (the ledger\'s pass rates per tier and task type)'),
  result: result.optional(),
  error: error.nullable(),
  clientKey: z.string().optional().describe('the gateway key (its name) that submitted the task'),
  parentTaskId: z.string().optional().describe('the task this one serves (an agent\'s model requests name their agent task)'),
  session: z.string().optional().describe('the session the task is a turn of (an opaque id set by a front door): the dashboard groups a session\'s tasks by it'),
});

/** `koubou.evt.usage`: tokens and cost of one provider call. Nats-Msg-Id is the usage id. */
export const usageEventSchema = z.strictObject({
  usageId: z.string(),
  taskId,
  attempt: z.number().int().positive(),
  workerId: z.string(),
  tier,
  model: z.string(),
  ...usage.shape,
  costUsd: z.number().nonnegative(),
  reservationId: z.string().nullable(),
  at: isoTime,
});

/** `koubou.evt.worker.<workerId>` (core NATS): a worker's heartbeat. */
export const heartbeatSchema = z.strictObject({
  workerId: z.string(),
  tier,
  status: z.enum(WORKER_STATUSES),
  location: z.enum(['local', 'remote']),
  host: z.string(),
  endpoint: z.string(),
  model: z.string(),
  capabilities: z.array(z.string()),
  maxConcurrent: z.number().int().positive(),
  currentTasks: z.array(z.string()),
  load: z.number().min(0).max(1),
  pid: z.number().int(),
  /** The measured speed the worker places itself by (1.0 = the local baseline). */
  performanceFactor: z.number().positive().optional(),
  /** The last active check of the worker's model server. */
  health: z.strictObject({
    ok: z.boolean(),
    latencyMs: z.number().nonnegative().nullable(),
    checkedAt: isoTime,
    version: z.string().nullable(),
    error: z.string().nullable(),
    /** Set while the host is cooled down after failures: when it is checked next. */
    retryAt: isoTime.nullable(),
  }).optional(),
  at: isoTime,
});

/** `koubou.evt.execution`: how one execution of a task went on one worker (a row of worker_metrics). */
export const executionSchema = z.strictObject({
  executionId: z.string().describe('<taskId>:<attempt>:<workerId>:<delivery>; also the Nats-Msg-Id'),
  taskId,
  attempt: z.number().int().positive(),
  workerId: z.string(),
  tier,
  success: z.boolean(),
  errorType: z.string().nullable(),
  executionTimeMs: z.number().int().nonnegative(),
  promptTokens: z.number().int().nonnegative().nullable(),
  outputTokens: z.number().int().nonnegative().nullable(),
  promptLength: z.number().int().nonnegative(),
  outputLength: z.number().int().nonnegative().nullable(),
  /**
   * The execution's model calls not published on `koubou.evt.usage` (protocol 4): a worker
   * whose executor makes one call sends its usage here, before its outcome report, instead of
   * in a message of its own. Each is charged once by its `usageId`, as on `koubou.evt.usage`.
   */
  calls: z.array(usageEventSchema).optional().describe('usage of model calls charged with this message (protocol 4)'),
  at: isoTime,
});

/**
 * What a message on `koubou.evt.task.<taskId>` holds: every state one router step passed
 * through, in order (`{ "events": [...] }`, protocol 2), or one state's event by itself
 * (protocol 1, still accepted). A gateway that ran a task itself (the interactive path) records
 * it in one such message with the executions of its calls and any usage of its own (protocol 6),
 * so the ledger writes the task and its charge together or not at all.
 */
export const taskEventsMessageSchema = z.strictObject({
  events: z.array(taskEventSchema).min(1).describe('the states one router step passed through, in order'),
  executions: z.array(executionSchema).optional()
    .describe('the task\'s executions, with the usage of their calls, recorded with its events (protocol 6: a gateway\'s task); the ledger writes them after the events before the first final one, as a worker\'s execution comes before its outcome'),
  usage: z.array(usageEventSchema).optional().describe('usage of calls that no execution carries (protocol 6)'),
});

/** `koubou.pool.performance` (core NATS): performance factors the ledger measured, by worker id. */
export const performanceSchema = z.strictObject({
  factors: z.record(z.string(), z.number().min(0.1).max(2)),
  at: isoTime,
});

/** `koubou.evt.ratelimit.<tier>`: a provider's rate-limit signal. */
export const rateLimitSignalSchema = z.strictObject({
  tier,
  headers: z.record(z.string(), z.string()),
  status: z.number().int(),
  at: isoTime,
});

/** `koubou.progress.<taskId>` (core NATS): live generation progress. */
export const progressSchema = z.strictObject({
  taskId, attempt: z.number().int(), workerId: z.string(), tokens: z.number().int(), tokensPerSecond: z.number(), at: isoTime,
  activity: z.string().max(500).optional().describe('what an agent is doing: a command run, files changed'),
});

/**
 * `koubou.stream.<taskId>` (core NATS, not persisted): the model's output as it streams in, for
 * the gateway to pass on token by token. The final outcome still comes as a task event; a lost
 * delta is made up from it.
 */
export const streamDeltaSchema = z.strictObject({
  taskId, attempt: z.number().int().positive(),
  seq: z.number().int().nonnegative().describe('0, 1, 2… per attempt'),
  text: z.string().optional().describe('visible text'),
  toolCall: z.strictObject({
    index: z.number().int().nonnegative(), id: z.string().optional(), name: z.string().optional(), arguments: z.string().optional(),
  }).optional().describe('a piece of the index-th tool call: its id and name once, its arguments in pieces'),
});

/** `koubou.task.rejected`: a message refused, and why. */
export const rejectionSchema = z.strictObject({
  subject: z.string(),
  reason: z.string(),
  taskId: z.string().nullable(),
  excerpt: z.string().describe('at most 200 characters of the payload'),
  by: z.string(),
  at: isoTime,
});


/** A tier's name and a task id, as every message (and the ledger's requests, ledgerApi.ts) spells them. */
export { tier as tierSchema, taskId as taskIdSchema };

export type Submission = z.infer<typeof submissionSchema>;
export type WorkItem = z.infer<typeof workItemSchema>;
export type Report = z.infer<typeof reportSchema>;
export type TaskEventMessage = z.infer<typeof taskEventSchema>;
export type UsageEvent = z.infer<typeof usageEventSchema>;
export type Heartbeat = z.infer<typeof heartbeatSchema>;
export type Execution = z.infer<typeof executionSchema>;
export type PerformanceFactors = z.infer<typeof performanceSchema>;
export type RateLimitSignal = z.infer<typeof rateLimitSignalSchema>;
export type Progress = z.infer<typeof progressSchema>;
export type StreamDelta = z.infer<typeof streamDeltaSchema>;
export type Rejection = z.infer<typeof rejectionSchema>;
