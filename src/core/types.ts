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

/** What a submitter hands to koubou. */
export interface TaskInput {
  taskId: string;
  type: TaskType;
  /** 1 (lowest) to 10 (highest); default 5. */
  priority: number;
  prompt: string;
  files: TaskFile[];
  parentTaskId?: string;
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
