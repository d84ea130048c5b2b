/**
 * The domain vocabulary shared by every part of koubou. Kept free of I/O so that
 * `machines/` may import it.
 */

/**
 * A worker tier's name. Tiers are data: the config's `tiers` names them (the defaults are
 * `gpt5_high`, `gpt5_medium` and `local`), `cloud: true|false` says which run at a cloud provider,
 * and `routing.fallback_order` chains them. `local` never leaves this machine or the LAN.
 */
export type Tier = string;

/** The local tier: confidential work, and the end of every fallback chain. */
export const LOCAL_TIER = 'local';

/** The default config's tiers, for views that list tiers before any has been seen (a user's config may add more). */
export const DEFAULT_TIERS: readonly Tier[] = ['gpt5_high', 'gpt5_medium', 'local'];

/** A tier's name: a key of the config's `tiers`, also a NATS subject token and a consumer name. */
export const TIER_NAME = /^[a-z][a-z0-9_]{0,63}$/;

export const TASK_TYPES = [
  'code_generation',
  'code_review',
  'refactoring',
  'testing',
  'documentation',
  'architecture',
  'algorithm',
  'general',
] as const;
export type TaskType = (typeof TASK_TYPES)[number];

export const SENSITIVITY_LEVELS = ['confidential', 'internal', 'public'] as const;
export type SensitivityLevel = (typeof SENSITIVITY_LEVELS)[number];

export const DIFFICULTY_LEVELS = ['high', 'medium', 'low'] as const;
export type DifficultyLevel = (typeof DIFFICULTY_LEVELS)[number];

/** `task_master.status` values, in lifecycle order. */
export const TASK_STATUSES = [
  'pending',
  'routing',
  'assigned',
  'in_progress',
  'completed',
  'failed',
  'cancelled',
] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

/** Statuses a task never leaves. */
export const FINAL_TASK_STATUSES: readonly TaskStatus[] = ['completed', 'failed', 'cancelled'];

/** True for `completed`, `failed` and `cancelled`. @example isFinalStatus('in_progress') // false */
export const isFinalStatus = (status: string): boolean => (FINAL_TASK_STATUSES as readonly string[]).includes(status);

export const WORKER_STATUSES = ['idle', 'busy', 'offline', 'error', 'rate_limited'] as const;
export type WorkerStatus = (typeof WORKER_STATUSES)[number];

/** A file attached to a task: its path as the submitter named it, and its text. */
export interface TaskFile {
  path: string;
  content: string;
}

/** A tool call a model asked for: which function, with which JSON arguments. */
export interface ToolCall {
  /** The provider's call id; a `tool` message answers it by this id. */
  id: string;
  name: string;
  /** The arguments as the model wrote them: a JSON text. */
  arguments: string;
}

/** A function the model may call (OpenAI's function tool, as every backend takes it). */
export interface ToolDefinition {
  name: string;
  description?: string;
  /** JSON Schema of the arguments. */
  parameters?: Record<string, unknown>;
}

/** One message of a conversation, in the neutral form every backend is translated from. */
export interface ConversationMessage {
  role: 'system' | 'user' | 'assistant' | 'tool';
  content: string;
  /** An assistant's tool calls. */
  toolCalls?: ToolCall[];
  /** A tool message: the call it answers. */
  toolCallId?: string;
}

/**
 * A conversation handed over whole (what an OpenAI-API client sends the gateway): the worker
 * sends these messages and tools to the tier's model as they are, instead of its prompt template.
 * The task's `prompt` is the same conversation as one text, which is what routing scans.
 */
export interface Conversation {
  messages: ConversationMessage[];
  tools: ToolDefinition[];
  /** The client's reasoning effort, used where the tier has one. */
  reasoningEffort?: 'minimal' | 'low' | 'medium' | 'high';
}

/** A repository handed over with a task (`koubou submit --repo`), as it sits in the workspace bucket. */
export interface WorkspaceRef {
  /** The object's name in the `koubou_ws` bucket. */
  object: string;
  /** The workspace commit in the bundle (parentless: its tree is the submitter's working tree). */
  commit: string;
  /** Files that travel, and their total size. */
  files: number;
  bytes: number;
  /** Paths `.koubouignore` kept out. */
  keptOut: number;
}

/** How an agent task runs: its limits, and the repository's own test command. */
export interface AgentOptions {
  /** Run after the agent, in its workspace; its outcome is part of the result. */
  test?: string;
  /** Longest the agent may run, in seconds (default: the config's agent.max_wall_seconds). */
  maxWallSeconds?: number;
  /** Most commands the agent may run (default: the config's agent.max_turns). */
  maxTurns?: number;
  /** Most tokens (prompt + output, all its model requests) the agent may use (default: the config's agent.max_tokens). */
  maxTokens?: number;
}

/** What a submitter hands to koubou. */
export interface TaskInput {
  taskId: string;
  type: TaskType;
  /** 1 (lowest) to 10 (highest); default 5. */
  priority: number;
  /** The task's text; absent when a `conversation` carries it (taskPrompt derives one text from either). */
  prompt?: string;
  files: TaskFile[];
  parentTaskId?: string;
  /** The whole conversation with its tools, when a client sent one (the gateway). */
  conversation?: Conversation;
  /**
   * A tier the client asked for (`koubou/<tier>` at the gateway). Routing goes there instead of
   * by difficulty; sensitivity and the budget still overrule it.
   */
  pinnedTier?: Tier;
  /**
   * Set when the task continues a conversation that has already been confidential: it stays
   * local whatever this turn holds. Names the session and the task that made it confidential.
   */
  confidentialSession?: { session: string; since: string };
  /**
   * The tier the task's session was routed to at its first turn (set by the gateway from the
   * session's record; a session is routed once). Routing keeps it instead of judging difficulty
   * again, unless `newAsk` (this turn asks something else: routed afresh), a pin, sensitivity,
   * the budget or a rate limit says otherwise.
   */
  sessionTier?: { tier: Tier; newAsk: boolean };
  /** The gateway key that submitted the task (its name): whose budget it draws on and whose spend it is. */
  clientKey?: string;
  /** The session (a gateway conversation) this task is a turn of: an opaque id set by a front door, for grouping. */
  session?: string;
  /** The client wants the model's output as it is made (a streamed gateway request): its worker publishes it on `koubou.stream`. */
  stream?: boolean;
  /** A repository to work in: the task runs as a coding agent whose result is a patch. */
  workspace?: WorkspaceRef;
  /** `agent` runs a coding agent in the workspace (the default for tasks with one). */
  executor?: 'single_call' | 'agent';
  agent?: AgentOptions;
}

/** One finding of the sensitivity scan. Never carries the secret itself. */
export interface SensitivityFinding {
  /** e.g. `api_key`, `private_key`, `ssn`, `credit_card`, `internal_marker`. */
  category: string;
  /** Where it was found: `prompt` or the file path. */
  source: string;
  /** 1-based line in that source. */
  line: number;
  /** Which rule found it (`secretlint:<ruleId>` or `koubou:<rule>`). */
  rule: string;
}

export interface SensitivityResult {
  level: SensitivityLevel;
  /** Distinct categories, sorted. */
  categories: string[];
  findings: SensitivityFinding[];
}

export interface DifficultyResult {
  level: DifficultyLevel;
  score: number;
  /** Human-readable reasons, in the order they were counted. */
  reasons: string[];
  /** Prompt + files, counted with the o200k tokenizer. */
  tokens: number;
  /** For a conversation: which of its text was judged (its user's ask, client wrappers taken out). */
  judged?: string;
}

/** Token usage as providers report it. Reasoning tokens are part of `completionTokens`. */
export interface Usage {
  promptTokens: number;
  /** Of `promptTokens`, how many were served from the provider's prompt cache. */
  cachedPromptTokens: number;
  completionTokens: number;
  /** Of `completionTokens`, how many were reasoning tokens (billed as output). */
  reasoningTokens: number;
}
