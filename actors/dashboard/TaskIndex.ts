/**
 * What the dashboard knows from the event stream: the last N tasks with their timelines, cost per
 * hour from usage events, per-worker outcomes, and the feed of fallbacks and rate limits. Pure
 * (no I/O), fed by `EventFollower`, so the same events always give the same view.
 */
import type { RateLimitSignal, TaskEventMessage, UsageEvent } from '../../src/bus/index.ts';
import type { DifficultyLevel, TaskStatus, Tier } from '../../src/core/types.ts';
import { DEFAULT_TIERS, isFinalStatus } from '../../src/core/types.ts';
import { feedOf, feedOfSignal, type FeedItem } from './feed.ts';
import { groupKeyOf, taskGroups, type TaskGroup } from './taskGroups.ts';
import type { TaskSummary } from './taskSummary.ts';

export type { FeedItem } from './feed.ts';
export type { TaskSummary } from './taskSummary.ts';

/** A worker's outcomes over the window, from final and execution-fallback events. */
export interface WorkerOutcomes {
  finished: number;
  succeeded: number;
  successRate: number | null;
  /** From its `InProgress` event to the final one. */
  avgDurationMs: number | null;
}

/** Filters of `list`. */
export interface TaskFilter {
  limit?: number;
  status?: string;
  tier?: string;
  /** Case-insensitive, in the task id, prompt summary, state and reason. */
  text?: string;
  /** Only this group's tasks (`session:<id>` or `parent:<taskId>`). */
  group?: string;
}

/** Limits of the index. */
export interface TaskIndexOptions {
  /** Tasks kept (the oldest is dropped first). Default 1000. */
  maxTasks?: number;
  /** Window of counts, outcomes and the cost chart. Default 24 h. */
  windowHours?: number;
}

const HOUR = 3_600_000;
/** Longest answer excerpt kept per task (the full answer stays in the stream). */
export const RESULT_EXCERPT_CHARS = 2000;
const MAX_FEED = 300;

/**
 * The in-memory view; see the file comment.
 * @example
 * const index = new TaskIndex({ maxTasks: 500 });
 * index.addTaskEvent(event); index.list({ status: 'failed', limit: 20 });
 */
export class TaskIndex {
  private readonly tasks = new Map<string, { summary: TaskSummary; events: TaskEventMessage[] }>();
  private readonly usages = new Map<string, UsageEvent>();
  private readonly outcomes = new Map<string, { at: number; ok: boolean; ms: number | null }[]>();
  private readonly feedItems: FeedItem[] = [];
  private readonly maxTasks: number;
  private readonly windowMs: number;

  constructor(options: TaskIndexOptions = {}) {
    this.maxTasks = options.maxTasks ?? 1000;
    this.windowMs = (options.windowHours ?? 24) * HOUR;
  }

  /** Applies a task event; null when this (task, seq) was seen before. */
  addTaskEvent(e: TaskEventMessage): { summary: TaskSummary; feed: FeedItem[] } | null {
    let entry = this.tasks.get(e.taskId);
    if (entry?.events.some((x) => x.seq === e.seq)) return null;
    if (!entry) {
      entry = { summary: {
        taskId: e.taskId, seq: 0, createdAt: e.at, complete: false, fallbacks: 0, tokens: 0, costUsd: 0, model: null, resultExcerpt: null,
        escalations: [], tests: null, ...pick(e),
      }, events: [] };
      this.tasks.set(e.taskId, entry);
      this.prune();
    }
    const s = entry.summary;
    entry.events.push(e);
    entry.events.sort((a, b) => a.seq - b.seq);
    if (e.seq === 1) { s.createdAt = e.at; s.complete = true; }
    if (e.fallback) s.fallbacks += 1;
    if (e.escalation) {
      s.escalations.push({ from: e.escalation.from, to: e.escalation.to, step: e.escalation.step });
      s.escalations.sort((a, b) => a.step - b.step);
    }
    if (e.tests && (s.tests === null || e.tests.attempt >= s.tests.attempt)) s.tests = { passed: e.tests.passed, attempt: e.tests.attempt };
    // Events may arrive out of order only across a backfill; the newest one decides the state.
    if (e.seq > s.seq) {
      Object.assign(s, pick(e), { seq: e.seq });
      if (e.result) {
        s.model = e.result.model;
        s.resultExcerpt = e.sensitivity?.level === 'confidential'
          ? `[confidential: ${e.result.text.length} characters, not shown]`
          : e.result.text.slice(0, RESULT_EXCERPT_CHARS);
      }
    }
    if (e.workerId && (isFinalStatus(e.status) || e.state === 'ExecutionFallback') && e.status !== 'cancelled') this.recordOutcome(e, entry.events);
    const feed = feedOf(e);
    this.pushFeed(feed);
    return { summary: s, feed };
  }

  /** Applies a usage event; false when its usageId was seen before. */
  addUsage(u: UsageEvent): boolean {
    if (this.usages.has(u.usageId)) return false;
    this.usages.set(u.usageId, u);
    const s = this.tasks.get(u.taskId)?.summary;
    if (s) {
      s.tokens += u.promptTokens + u.completionTokens;
      s.costUsd += u.costUsd;
      s.model ??= u.model;
    }
    const cutoff = Date.now() - this.windowMs - HOUR;
    for (const [id, x] of this.usages) { if (Date.parse(x.at) >= cutoff) break; this.usages.delete(id); }
    return true;
  }

  /** A provider's rate-limit signal: a feed item when it says the limit was hit. */
  addRateLimit(signal: RateLimitSignal): FeedItem | null {
    const item = feedOfSignal(signal);
    if (item) this.pushFeed([item]);
    return item;
  }

  /** Newest first. */
  list(filter: TaskFilter = {}): TaskSummary[] {
    const text = filter.text?.toLowerCase();
    const out: TaskSummary[] = [];
    for (const { summary: s } of this.tasks.values()) {
      if (filter.status && s.status !== filter.status) continue;
      if (filter.tier && s.tier !== filter.tier) continue;
      if (text && ![s.taskId, s.promptSummary, s.state, s.reason].some((f) => f.toLowerCase().includes(text))) continue;
      if (filter.group && s.group !== filter.group) continue;
      out.push(s);
    }
    out.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
    return out.slice(0, filter.limit ?? 100);
  }

  /** The list's groups (a session's turns, a parent's children), newest activity first. */
  groups(limit = 100): TaskGroup[] {
    return taskGroups(this.summaries(), (id) => this.get(id)).slice(0, limit);
  }

  /** The group this task belongs to, as it stands now; null when it belongs to none. */
  groupOf(taskId: string): TaskGroup | null {
    const key = this.get(taskId)?.group;
    if (!key) return null;
    return taskGroups([...this.summaries()].filter((s) => s.group === key), (id) => this.get(id))[0] ?? null;
  }

  private *summaries(): Iterable<TaskSummary> {
    for (const { summary } of this.tasks.values()) yield summary;
  }

  /** The task's summary, if it is among the tasks kept. */
  get(taskId: string): TaskSummary | undefined {
    return this.tasks.get(taskId)?.summary;
  }

  /** The task's events by seq; `complete` when they start at seq 1 with no gap. */
  events(taskId: string): { events: TaskEventMessage[]; complete: boolean } {
    const events = this.tasks.get(taskId)?.events ?? [];
    return { events: [...events], complete: events.length > 0 && events.every((e, i) => e.seq === i + 1) };
  }

  /** Tasks first seen (seq 1) within the window, by status and difficulty. */
  countsByStatusAndDifficulty(now = Date.now()): { status: TaskStatus; difficulty: DifficultyLevel; count: number }[] {
    const counts = new Map<string, number>();
    for (const { summary: s } of this.tasks.values()) {
      if (!s.complete || Date.parse(s.createdAt) <= now - this.windowMs) continue;
      const key = `${s.status}|${s.difficulty}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    return [...counts].map(([k, count]) => {
      const [status, difficulty] = k.split('|') as [TaskStatus, DifficultyLevel];
      return { status, difficulty, count };
    }).sort((a, b) => `${a.status}|${a.difficulty}`.localeCompare(`${b.status}|${b.difficulty}`));
  }

  /** How a worker's tasks ended over the window (success rate, mean duration). */
  workerOutcomes(workerId: string, now = Date.now()): WorkerOutcomes {
    const rows = (this.outcomes.get(workerId) ?? []).filter((r) => r.at > now - this.windowMs);
    const timed = rows.filter((r) => r.ms !== null);
    const succeeded = rows.filter((r) => r.ok).length;
    return {
      finished: rows.length, succeeded, successRate: rows.length ? succeeded / rows.length : null,
      avgDurationMs: timed.length ? Math.round(timed.reduce((n, r) => n + r.ms!, 0) / timed.length) : null,
    };
  }

  /** Cost per clock hour and tier over the window, oldest hour first (the current hour last). */
  hourlyCost(now = Date.now()): { hours: string[]; byTier: Record<Tier, number[]>; total: number[] } {
    const n = Math.round(this.windowMs / HOUR);
    const first = Math.floor(now / HOUR) * HOUR - (n - 1) * HOUR;
    const hours = Array.from({ length: n }, (_, i) => new Date(first + i * HOUR).toISOString());
    const byTier = Object.fromEntries(DEFAULT_TIERS.map((t) => [t, hours.map(() => 0)])) as Record<Tier, number[]>;
    const total = hours.map(() => 0);
    for (const u of this.usages.values()) {
      const i = Math.floor((Date.parse(u.at) - first) / HOUR);
      if (i < 0 || i >= n) continue;
      (byTier[u.tier] ??= hours.map(() => 0))[i]! += u.costUsd;
      total[i]! += u.costUsd;
    }
    return { hours, byTier, total };
  }

  /** Newest first. */
  feed(limit = 100): FeedItem[] {
    return this.feedItems.slice(-limit).reverse();
  }

  private recordOutcome(e: TaskEventMessage, events: TaskEventMessage[]): void {
    const ok = e.status === 'completed';
    const started = [...events].reverse().find((x) => x.state === 'InProgress' && x.seq < e.seq && x.workerId === e.workerId);
    const ms = started && e.state !== 'ExecutionFallback' ? Date.parse(e.at) - Date.parse(started.at) : null;
    const rows = this.outcomes.get(e.workerId!) ?? [];
    rows.push({ at: Date.parse(e.at), ok, ms });
    if (rows.length > 5000) rows.shift();
    this.outcomes.set(e.workerId!, rows);
  }

  private pushFeed(items: FeedItem[]): void {
    this.feedItems.push(...items);
    if (this.feedItems.length > MAX_FEED) this.feedItems.splice(0, this.feedItems.length - MAX_FEED);
  }

  private prune(): void {
    // Map order is first-seen order: the oldest task goes first.
    for (const id of this.tasks.keys()) {
      if (this.tasks.size <= this.maxTasks) break;
      this.tasks.delete(id);
    }
  }
}

/** The fields an event sets on its task's summary. */
function pick(e: TaskEventMessage) {
  return {
    updatedAt: e.at, status: e.status, state: e.state, reason: e.reason, tier: e.tier, type: e.type ?? 'general',
    priority: e.priority, difficulty: e.difficulty.level, sensitivity: e.sensitivity?.level ?? null,
    promptSummary: e.promptSummary, workerId: e.workerId, attempt: e.attempt, error: e.error,
    session: e.session ?? null, parentTaskId: e.parentTaskId ?? null, group: groupKeyOf({ session: e.session ?? null, parentTaskId: e.parentTaskId ?? null }),
  };
}
