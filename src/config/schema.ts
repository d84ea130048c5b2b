/**
 * The shape of `koubou.yaml`. Every object is strict so that a misspelt key is an
 * error naming the key, not a silently ignored setting.
 */
import { z } from 'zod';
import { BACKEND_KIND_NAMES } from '../llm/backendKindInfo.ts';
import { TASK_TYPES, TIER_NAME } from '../core/types.ts';

/** A tier's name: a key of `tiers`, also a NATS subject token and a durable consumer name. */
const tier = z.string().regex(TIER_NAME, 'a tier name: lower-case letters, digits and _, starting with a letter');
const positiveInt = z.number().int().positive();
/** `null` means "no limit" (the local tier). */
const limit = positiveInt.nullable();

export const retrySchema = z.strictObject({
  /** Delay before the first retry, in seconds; doubled on each further retry. */
  delay_seconds: z.number().nonnegative(),
  max_retries: z.number().int().nonnegative(),
});

export const tierSchema = z.strictObject({
  /**
   * True when the tier's model runs at a cloud provider: confidential work never goes to such a
   * tier, its workers hold `cloud_worker` credentials, and its calls are paid for.
   */
  cloud: z.boolean(),
  /** A backend kind of the registry (src/llm/backendKindInfo.ts): openai, anthropic, ollama, lmstudio, sim. */
  provider: z.enum(BACKEND_KIND_NAMES),
  model: z.string().min(1),
  /** OpenAI-compatible gateways and local servers override this. */
  base_url: z.url().nullable().default(null),
  /** GPT-5 takes a reasoning effort; local models ignore it. */
  reasoning_effort: z.enum(['minimal', 'low', 'medium', 'high']).nullable().default(null),
  /** Only for models that accept sampling parameters (GPT-5 reasoning models do not). */
  temperature: z.number().min(0).max(2).nullable().default(null),
  top_p: z.number().gt(0).max(1).nullable().default(null),
  max_output_tokens: positiveInt,
  /**
   * Output tokens a call is expected to produce, counted against the tier's TPM window
   * when it is routed (and replaced by the real count when it ends). The budget still
   * reserves `max_output_tokens`. Default: the smaller of `max_output_tokens` and 4,096.
   */
  expected_output_tokens: positiveInt.optional(),
  /**
   * The most model calls one attempt on this tier may make (an executor that works in several
   * calls, such as an agent). Before a paid attempt the router reserves this many worst-case
   * calls, so the budget holds however many the attempt makes. Default 1: one call.
   */
  max_calls_per_attempt: positiveInt.default(1),
  context_window: positiveInt,
  rpm: limit,
  tpm: limit,
  retry: retrySchema,
});

const modelPrice = z.strictObject({
  input: z.number().nonnegative(),
  cached_input: z.number().nonnegative(),
  output: z.number().nonnegative(),
});

const extraRule = z.strictObject({ name: z.string().min(1), pattern: z.string().min(1), category: z.string().min(1) });

const workerBase = {
  worker_id: z.string().regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, _ or -'),
  model: z.string().min(1),
  performance_factor: z.number().min(0.1).max(2).default(1),
  max_concurrent_tasks: positiveInt.default(1),
  capabilities: z.array(z.enum(TASK_TYPES)).default([]),
};

export const localWorkerSchema = z.strictObject({
  ...workerBase,
  worker_type: z.literal('local').default('local'),
  server_host: z.url(),
});

export const remoteWorkerSchema = z.strictObject({
  ...workerBase,
  worker_type: z.literal('remote').default('remote'),
  remote_host: z.string().min(1),
  remote_port: z.number().int().min(1).max(65535).default(11434),
  /** Seconds before a call to this host is given up as a network failure. */
  network_timeout: positiveInt.default(300),
});

export const priorityRuleSchema = z.strictObject({
  priority_range: z.tuple([z.number().int().min(1).max(10), z.number().int().min(1).max(10)]),
  preferred_workers: z.array(z.enum(['local', 'remote'])).min(1),
  reason: z.string().default(''),
});

export const configSchema = z.strictObject({
  /**
   * The tiers, by name: the three of the defaults, and any a user's file adds (a new key with a
   * whole tier entry). `local` is where confidential work and the end of every fallback go.
   */
  tiers: z.object({ gpt5_high: tierSchema, gpt5_medium: tierSchema, local: tierSchema }).catchall(tierSchema),
  budget: z.strictObject({
    monthly_usd: z.number().positive(),
    alert_threshold_percent: z.number().int().min(1).max(100),
  }),
  /** USD per 1M tokens, by model name. Reasoning tokens bill as output. */
  pricing: z.record(z.string(), modelPrice),
  routing: z.strictObject({
    /**
     * The chain a task falls back along when its tier is rate-limited, over budget or fails:
     * every tier once, cloud tiers first, ending on `local`. The task machine's states follow it.
     */
    fallback_order: z.array(tier).min(1),
    /** The tier each difficulty level starts on; a tier of `fallback_order`. */
    difficulty_tiers: z.strictObject({ high: tier, medium: tier, low: tier })
      .default({ high: 'gpt5_high', medium: 'gpt5_medium', low: 'local' }),
    /** How long a task may wait for a rate-limited tier before it falls back. */
    max_rate_limit_wait_seconds: z.number().nonnegative(),
    /**
     * Verify, then escalate: an agent task whose tests (`agent.test`) fail on its tier is tried
     * again one tier up (the fallback order reversed), at most `max_steps` times; 0 turns it off.
     * Work that must stay local is tried again on local instead.
     */
    escalation: z.strictObject({ max_steps: z.number().int().nonnegative().default(2) }).default({ max_steps: 2 }),
    difficulty: z.strictObject({
      indicators: z.strictObject({ high: z.array(z.string()), medium: z.array(z.string()), low: z.array(z.string()) }),
      thresholds: z.strictObject({ high: z.number(), medium: z.number() }),
    }),
    sensitivity: z.strictObject({
      internal_markers: z.array(z.string()).default([]),
      extra_rules: z.array(extraRule).default([]),
      entropy_threshold: z.number().positive().default(3.5),
      /** What an `internal` task may use: cloud tiers too (the seed's behaviour) or local only. */
      internal_stays_local: z.boolean().default(false),
    }),
  }),
  workers: z.strictObject({
    local_workers: z.array(localWorkerSchema).default([]),
    remote_workers: z.array(remoteWorkerSchema).default([]),
  }),
  routing_policy: z.strictObject({
    strategy: z.enum(['priority_based']),
    rules: z.array(priorityRuleSchema),
  }),
  /** The local tier's pool: health checks, cool-downs, measured speed, `koubou pool` scaling. */
  pool: z
    .strictObject({
      /** `koubou pool`: worker processes it keeps running at least / at most. */
      min_workers: z.number().int().nonnegative().default(1),
      max_workers: positiveInt.default(5),
      /** Tasks in flight per worker process it starts. */
      max_active_tasks: positiveInt.default(2),
      /** How often `koubou pool` compares the queue with its workers. */
      scale_check_seconds: z.number().positive().default(5),
      /** A worker process beyond min_workers stopped after the queue has been empty this long. */
      scale_down_idle_seconds: z.number().nonnegative().default(30),
      /** How often a worker checks its model server (version, model present, latency). */
      health_check_seconds: z.number().positive().default(15),
      /** A host that fails is cooled down: checked again after `initial`, doubling up to `max`, seconds. */
      cooldown: z.strictObject({ initial_seconds: z.number().positive(), max_seconds: z.number().positive() })
        .default({ initial_seconds: 1, max_seconds: 60 }),
      /** Hand-backs per task from failing hosts; the next host failure fails it. */
      max_handbacks: positiveInt.default(5),
      performance: z
        .strictObject({
          /** How often the ledger recomputes performance factors from worker_metrics. */
          recompute_seconds: z.number().positive().default(60),
          /** The window of worker_metrics it measures. */
          window_hours: z.number().positive().default(24),
          /** Successful executions a worker needs before its factor is measured. */
          min_samples: positiveInt.default(3),
        })
        .default({ recompute_seconds: 60, window_hours: 24, min_samples: 3 }),
      /** How long, at most, a slower worker leaves shared-lane work to an idle faster one. */
      yield_to_faster_ms: z.number().int().nonnegative().default(200),
    })
    .prefault({}),
  nats: z.strictObject({
    /** `null`: `koubou up` starts its own nats-server. */
    url: z.string().nullable().default(null),
    /** A worker silent this long (no ack, no in-progress ack) loses its task to another worker. */
    work_ack_wait_seconds: z.number().positive().default(30),
    /**
     * Copies JetStream keeps of every stream, KV bucket and object store. `auto`: 1 on a lone
     * server, the cluster's size up to 3 on a cluster. More copies than nodes cannot be made.
     */
    replicas: z.union([z.literal('auto'), z.number().int().min(1).max(5)]).default('auto'),
  }),
  ledger: z.strictObject({
    /** SQLite file; relative paths are resolved against the working directory. */
    path: z.string().min(1),
  }),
  /** How workers assemble prompts (src/context). */
  context: z
    .strictObject({
      /**
       * A prompt larger than the tier's `context_window - max_output_tokens`: `refuse` fails the
       * task (PROMPT_TOO_LARGE), `truncate_files` cuts the largest attached files, `drop_files`
       * leaves out whole files, largest first.
       */
      // The same list as src/context's OVERFLOW_POLICIES (the worker passes this value to
      // buildPrompt, so the type checker catches a drift); not imported, to keep the
      // tokenizer out of every config load.
      overflow_policy: z.enum(['refuse', 'truncate_files', 'drop_files']).default('refuse'),
    })
    .default({ overflow_policy: 'refuse' }),
  /** `koubou submit --repo`: what a workspace may weigh. */
  workspace: z
    .strictObject({
      /** The largest workspace (its files, and its bundle), in bytes. Default 64 MiB. */
      max_bytes: positiveInt.default(64 * 1024 * 1024),
    })
    .prefault({}),
  /** `koubou mcp`: the caps of one master's session (its flags override them); null: no cap. */
  mcp: z
    .strictObject({
      /** The most the session's subtasks may spend, reserved like the month's budget. */
      max_usd: z.number().nonnegative().nullable().default(null),
      /** The most subtasks running at once. */
      max_in_flight: positiveInt.nullable().default(8),
      /** The most subtasks in all. */
      max_children: positiveInt.nullable().default(null),
    })
    .prefault({}),
  /** Agent workers (`koubou worker --agent`): the limits of one agent task, unless the task sets its own. */
  agent: z
    .strictObject({
      /** Longest an agent may run. Default 1800 s. */
      max_wall_seconds: positiveInt.default(1800),
      /** Most commands an agent may run. Default 50. */
      max_turns: positiveInt.default(50),
      /** Longest the task's test command may run. Default 600 s. */
      test_timeout_seconds: positiveInt.default(600),
      /** Most tokens (prompt + output) of all an agent's model requests; the gateway refuses the request past it. Default 5,000,000. */
      max_tokens: positiveInt.default(5_000_000),
    })
    .prefault({}),
  /**
   * The gateway's Messages API (Claude Code): the model names a client asks for, mapped to
   * koubou's. Keys are names, or patterns where `*` stands for any text; an exact name wins,
   * then the longest pattern that matches. Values: `koubou` (routed), `koubou/<tier>` (pinned),
   * or a difficulty level (`low`, `medium`, `high`): pinned to the tier that level starts on.
   */
  claude_models: z.record(z.string().min(1), z.string().regex(/^(koubou(\/[a-z][a-z0-9_]*)?|low|medium|high)$/, 'koubou, koubou/<tier>, low, medium or high')).default({}),
}).superRefine((config, ctx) => {
  // Each message completes "expected …"; `input` is what was found (src/config/loadConfig.ts words it).
  const issue = (path: (string | number)[], message: string, input: unknown) => ctx.addIssue({ code: 'custom', path, message, input });
  const names = Object.keys(config.tiers);
  const order = config.routing.fallback_order;
  for (const name of names) if (!tier.safeParse(name).success) issue(['tiers', name], 'a tier name: lower-case letters, digits and _, starting with a letter', name);
  if (config.tiers.local.cloud) issue(['tiers', 'local', 'cloud'], 'false: the local tier is where confidential work runs', true);
  order.forEach((t, i) => {
    if (!config.tiers[t]) issue(['routing', 'fallback_order', i], `one of ${names.map((n) => JSON.stringify(n)).join(', ')}`, t);
    else if (order.indexOf(t) !== i) issue(['routing', 'fallback_order', i], 'each tier once', t);
    else if (t !== 'local' && !config.tiers[t]!.cloud) issue(['routing', 'fallback_order', i], 'a cloud tier (only cloud tiers come before local)', t);
  });
  if (order.at(-1) !== 'local') issue(['routing', 'fallback_order'], 'a list ending with local', order);
  for (const [name, target] of Object.entries(config.claude_models)) {
    const pinned = target.startsWith('koubou/') ? target.slice('koubou/'.length) : null;
    if (pinned !== null && !config.tiers[pinned]) issue(['claude_models', name], `koubou or koubou/<tier> with a tier of ${names.join(', ')}`, target);
  }
  const missing = names.filter((n) => !order.includes(n));
  if (missing.length > 0) issue(['routing', 'fallback_order'], `every tier once (missing: ${missing.join(', ')})`, order);
  for (const [level, t] of Object.entries(config.routing.difficulty_tiers)) {
    if (!order.includes(t)) issue(['routing', 'difficulty_tiers', level], 'a tier of routing.fallback_order', t);
  }
});

export type KoubouConfig = z.infer<typeof configSchema>;
export type TierConfig = z.infer<typeof tierSchema>;

/**
 * The output a call on this tier is expected to produce, for the rate-limit window.
 *
 * @example
 * expectedOutputTokens({ max_output_tokens: 128_000, expected_output_tokens: 12_000 }); // 12000
 * expectedOutputTokens({ max_output_tokens: 2_048 });                                   // 2048
 */
export function expectedOutputTokens(tier: Pick<TierConfig, 'max_output_tokens' | 'expected_output_tokens'>): number {
  return Math.min(tier.max_output_tokens, tier.expected_output_tokens ?? 4096);
}
export type PriorityRule = z.infer<typeof priorityRuleSchema>;
export type PoolConfig = z.infer<typeof configSchema>['pool'];
