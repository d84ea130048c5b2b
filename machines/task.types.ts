/**
 * Types of the task machine: its context, events, and the inputs and outputs of
 * the actors it invokes by name. The router provides those actors.
 */
import type {
  DifficultyResult, SensitivityResult, TaskInput, TaskStatus, Tier, ToolCall, Usage,
} from '../src/core/types.ts';

/** One visited state with why it was entered. */
export interface TraceEntry {
  state: string;
  reason: string;
  tier?: Tier;
  /** Set on the entry that left a tier. */
  fallback?: FallbackRecord;
  /** Set on the entry that took the task one tier up after its tests failed. */
  escalation?: EscalationRecord;
  /** Set on the Verify entry: whether the attempt's tests passed. */
  tests?: { passed: boolean; exitCode: number | null; attempt: number };
}

/** One step up the chain after an attempt's tests failed (`routing.escalation`). */
export interface EscalationRecord {
  from: Tier;
  to: Tier;
  /** 1 for the first escalation of the task, 2 for the second… */
  step: number;
  reason: string;
}

/** The outcome of a repository's test command after an agent's attempt (`agent.test`). */
export interface TestOutcome {
  command: string;
  /** null: killed (time limit). */
  exitCode: number | null;
  /** The end of its output. */
  output: string;
}

/** What the next attempt is told about the one whose tests failed: its change and the tests' output. */
export interface AttemptFeedback {
  tier: Tier;
  /** The failed attempt's patch (its end cut off past a limit). */
  diff: string;
  test: TestOutcome;
}

export interface FallbackRecord {
  from: Tier;
  to: Tier;
  reason: string;
  phase: 'routing' | 'execution';
}

export interface BudgetCheck {
  /** At or above the alert threshold of the monthly limit (spent + reserved). */
  critical: boolean;
  percentUsed: number;
  remainingUsd: number;
}

export interface RateLimitVerdict {
  available: boolean;
  /** How long until the tier frees up; 0 when available. */
  waitMs: number;
  /** The clock reading the check was made at, so deadlines survive a restore. */
  now: number;
  reason: string;
}

export interface Reservation {
  granted: boolean;
  /** What the attempt's usage names: the reservation asked for, or the budget slice that covers it (a gateway's). */
  reservationId: string | null;
  /** The id it was asked under (`<taskId>:<tier>:<attempt>`), when a slice's id stands in reservationId. */
  askedAs?: string;
  amountUsd: number;
  reason: string;
}

export interface TaskError {
  code: string;
  message: string;
}

export interface TaskResult {
  text: string;
  model: string;
  workerId: string;
  usage?: Usage;
  costUsd?: number;
  /** The functions the model called instead of answering (conversations with tools). */
  toolCalls?: ToolCall[];
  /** The change an agent made, as a unified diff against the task's workspace. */
  patch?: string;
  /** What an agent did; `test` is the outcome of the task's test command, which the Verify state reads. */
  agent?: { turns: number; commands: number; filesChanged: string[]; diffstat: string; patchObject?: string; test?: TestOutcome };
}

/** Settings the machine needs that come from config; passed in as input. */
export interface TaskPolicy {
  /** Longest total time a task may wait for rate-limited tiers before falling back. */
  maxRateLimitWaitMs: number;
  /** Route `internal` tasks to the local tier too (the seed sends them anywhere). */
  internalStaysLocal: boolean;
  /**
   * How many times a task whose tests fail may be tried again one tier up (`routing.escalation.max_steps`).
   * Absent (a snapshot from before escalation): 0.
   */
  escalationMaxSteps?: number;
}

export interface TaskMachineInput {
  task: TaskInput;
  policy: TaskPolicy;
}

export interface TaskContext {
  task: TaskInput;
  policy: TaskPolicy;
  sensitivity: SensitivityResult | null;
  difficulty: DifficultyResult | null;
  budget: BudgetCheck | null;
  /** The tier being tried or holding the task. */
  tier: Tier | null;
  /** The tier routing chose before any fallback. */
  routedTier: Tier | null;
  /** Execution attempts dispatched so far (1-based once dispatched). */
  attempt: number;
  reservation: Reservation | null;
  /** Absolute time (clock ms) at which a rate-limited tier is checked again. */
  retryAt: number | null;
  /** Milliseconds to wait from now until `retryAt`; recomputed on RESUME. */
  waitMs: number;
  waitedMs: number;
  fallbacks: FallbackRecord[];
  trace: TraceEntry[];
  workerId: string | null;
  result: TaskResult | null;
  error: TaskError | null;
  /** The steps up taken after failed tests (absent in snapshots from before escalation). */
  escalations?: EscalationRecord[];
  /** The failed attempt the next one is told about; null when the attempt is not an escalation. */
  feedback?: AttemptFeedback | null;
}

export type TaskEvent =
  | { type: 'WORK_STARTED'; workerId: string; attempt: number }
  | { type: 'WORK_COMPLETED'; result: TaskResult; attempt: number }
  | { type: 'WORK_FAILED'; error: TaskError; rateLimited?: boolean; attempt: number }
  | { type: 'CANCEL'; reason: string }
  /** Sent by the router after restoring a snapshot: re-arms timers from deadlines in context. */
  | { type: 'RESUME'; now: number }
  /**
   * The pure steps' answers, raised by the machine's own `evaluateDifficulty` and `checkBudget`
   * actions in the step that enters their state: no actor is invoked for them.
   */
  | { type: 'DIFFICULTY_EVALUATED'; output: DifficultyResult }
  | { type: 'DIFFICULTY_FAILED'; error: unknown }
  | { type: 'BUDGET_CHECKED'; output: BudgetCheck }
  | { type: 'BUDGET_UNAVAILABLE'; error: unknown }
  /**
   * The answers of the steps that do I/O (the scan, the rate-limit check, the reservation, the
   * dispatch). The router's `analyzeSensitivity`, `checkRateLimit`, `reserveBudget` and
   * `dispatchWork` actions start the work as their state is entered and send the answer back:
   * no actor is invoked for them either.
   */
  | { type: 'SENSITIVITY_ANALYZED'; output: SensitivityResult }
  | { type: 'SENSITIVITY_FAILED'; error: unknown }
  | { type: 'RATE_LIMIT_CHECKED'; output: RateLimitVerdict }
  | { type: 'RATE_LIMIT_FAILED'; error: unknown }
  | { type: 'RESERVATION_ANSWERED'; output: Reservation }
  | { type: 'RESERVATION_FAILED'; error: unknown }
  | { type: 'WORK_DISPATCHED' }
  | { type: 'DISPATCH_FAILED'; error: unknown };

export interface TaskOutput {
  status: Extract<TaskStatus, 'completed' | 'failed' | 'cancelled'>;
  tier: Tier | null;
  result: TaskResult | null;
  error: TaskError | null;
}

export interface DispatchInput {
  task: TaskInput;
  tier: Tier;
  /** The scan's verdict travels with the work so the dispatcher can refuse a cloud send on its own. */
  sensitivity: SensitivityResult['level'] | null;
  attempt: number;
  reservationId: string | null;
  /** What that reservation holds: the most the attempt's paid calls may cost together. */
  reservedUsd?: number | null;
  /** An escalated attempt: the failed one's change and test output, for the prompt. */
  feedback?: AttemptFeedback;
}

/**
 * The tiers a task machine routes over, as data (from config: `tiers`, `routing.fallback_order`,
 * `routing.difficulty_tiers`). The machine gets RouteTo/CheckRateLimit/QueueOrFallback/AssignTo
 * states for each cloud tier, in the order of the chain, which ends on the local tier.
 */
export interface TierPlan {
  /** Cloud tiers in fallback order, each with the name its states carry (`GPT5High` → `RouteToGPT5High`). */
  cloud: { tier: Tier; stateName: string }[];
  /** The tier each difficulty level starts on (a cloud tier of the chain, or the local tier). */
  difficulty: Record<'high' | 'medium' | 'low', Tier>;
}
