/**
 * How a worker carries out one attempt of a task. The single LLM call of today is one
 * executor; an agent that makes many calls in a workspace is another. The worker does
 * what every executor shares — decoding, acks, the started/completed/failed reports, the
 * execution metric — and gives the executor a {@link ModelCall} that makes one model call
 * with the tier's retries, rate-limit signals and host-failure hand-back, and charges it
 * to the ledger under its own usage id (`taskId:attempt:call`), so each call is charged
 * once however many an attempt makes.
 */
import type { WorkItem } from '../../../src/bus/index.ts';
import type { TierConfig } from '../../../src/config/index.ts';
import type { TaskFile, ToolCall, Usage } from '../../../src/core/types.ts';
import type { ChatMessage, GenerateRequest, GenerateResult } from '../../../src/llm/Provider.ts';
import type { TaskOutcome } from '../TaskOutcome.ts';

/** One model call's outcome: its result, or how the attempt ended (already reported by the call). */
export type CallOutcome = { ok: true; result: GenerateResult; costUsd: number } | { ok: false; outcome: TaskOutcome };

/** Makes one model call on the worker's tier; the request's signal and progress are the attempt's. */
export type ModelCall = (request: Omit<GenerateRequest, 'signal' | 'onProgress' | 'onDelta'>) => Promise<CallOutcome>;

/** What an executor gets for one attempt. */
export interface ExecutorContext {
  item: WorkItem;
  tierConfig: TierConfig;
  /** The task as the tier's prompt (system, files, task), fitted to its context window. */
  messages: ChatMessage[];
  /** The attempt's cancellation: aborted by `koubou cancel` or a stopping worker. */
  signal: AbortSignal;
  call: ModelCall;
  /** Reports the attempt failed with this code and message; returns the outcome to give back. */
  fail(code: string, message: string): Promise<TaskOutcome>;
  /** Reports the attempt cancelled (or handed back, when the worker is stopping). */
  cancelled(): Promise<TaskOutcome>;
  /** A line of what the executor is doing, for `koubou watch` and the dashboard. */
  progress(activity: string): void;
}

/** What an attempt produced: text always; files and a patch where the executor changes a workspace. */
export interface ExecutorResult {
  text: string;
  /** The model that answered (the last call's). */
  model: string;
  /** All calls' usage, added up. */
  usage: Usage;
  /** All calls' cost, added up (USD). */
  costUsd: number;
  /** Files the executor wrote, whole. */
  files?: TaskFile[];
  /** The change as a unified diff against the task's workspace. */
  patch?: string;
  /** The functions the model called instead of answering (a conversation with tools). */
  toolCalls?: ToolCall[];
  /** What an agent did. */
  agent?: AgentSummary;
}

/** An agent's attempt in numbers: turns, commands, the files it changed, its diffstat, the tests. */
export interface AgentSummary {
  turns: number;
  commands: number;
  filesChanged: string[];
  diffstat: string;
  test?: { command: string; exitCode: number | null; output: string };
}

export interface Executor {
  /** As `executor:` names it in a tier's config, e.g. `single_call`. */
  readonly name: string;
  /**
   * The most calls one attempt may make. The router reserves this many worst-case calls
   * (prompt + max_output_tokens each) before a paid attempt, so that the budget holds
   * however many of them the attempt makes.
   */
  readonly maxCalls: number;
  run(ctx: ExecutorContext): Promise<{ ok: true; result: ExecutorResult } | { ok: false; outcome: TaskOutcome }>;
}
