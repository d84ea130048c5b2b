import type { JetStreamClient } from '@nats-io/jetstream';
import { createActor, waitFor, type SnapshotFrom } from 'xstate';
import { encode, MSG_ID, SUBJECTS } from '../../src/bus/index.ts';
import { taskPolicyOf, tierPlanOf, type KoubouConfig } from '../../src/config/index.ts';
import { isFinalStatus, type TaskInput, type Tier } from '../../src/core/types.ts';
import { createRoutingSteps, assertDispatchAllowed, type RoutingServices } from '../../src/routing/index.ts';
import { createTaskMachine, type taskMachine } from '../../machines/task.machine.ts';
import { statusOf } from '../../machines/statusOf.ts';
import type { DispatchInput, TaskEvent, TaskPolicy } from '../../machines/task.types.ts';
import { eventsSince, recordDifficultyOf } from './taskEvents.ts';
import { OUTBOX_REPLAY_MS, type StoredTask, type TaskKvRecord, type TaskStore } from './TaskStore.ts';

type Snap = SnapshotFrom<typeof taskMachine>;
type TaskActor = ReturnType<typeof createActor<typeof taskMachine>>;

export type DriveAction =
  | { kind: 'create'; task: TaskInput; submitSeq: number }
  /** A worker's report or a cancel: usually one event, two when a worker folded its start into its outcome. */
  | { kind: 'event'; events: TaskEvent[] }
  /** Continue after a restart, or when a rate-limit wait is due. */
  | { kind: 'resume' };

export interface DriveOutcome {
  outcome: 'driven' | 'duplicate' | 'unknown' | 'final';
  status?: string;
  /** Set when the task rests in a rate-limit wait: when to resume it. */
  retryAt?: number | null;
  /** The tier holding (or that last held) the task. */
  tier?: Tier | null;
}

const MAX_CONFLICT_RETRIES = 10;

interface HotTask {
  actor: TaskActor;
  stored: StoredTask;
}
/** How many live machines a router keeps between drives (tasks waiting for a worker); the oldest go first. */
export interface HotCacheLimits {
  /** Machines. Default 5,000. */
  tasks?: number;
  /**
   * Bytes of their stored records (a prompt with its files can be megabytes; a live machine
   * holds its record's content and a few kilobytes more). Default 64 MiB.
   */
  bytes?: number;
}
/** Outboxes remembered as published by this router. */
const PUBLISHED_MEMORY = 50_000;

/** A snapshot the machine can rest in until something from outside happens. */
export const isRest = (s: Snap): boolean =>
  s.status !== 'active' || s.matches({ Assigned: 'AwaitingWorker' }) || s.matches('InProgress') || s.hasTag('waiting');

/**
 * Moves one task forward: restores its machine from the KV record (a new task's
 * machine is made from its submission, and its record created by its first save),
 * applies the action, runs it until it rests, and writes the record back with
 * compare-and-set. Only then are the drive's effects published — one event per
 * state it went through, then its work items — from the record's outbox, so a
 * drive that lost the race to another router leaves no trace on the bus. The
 * effects the machine's steps start while it runs (budget reservation, rate-limit
 * check) are idempotent, so a retry after a conflict or a crash is safe.
 */
export class TaskDriver {
  /** Outboxes this router has published (task id → savedAt): not published again by its next drive. */
  private readonly published = new Map<string, number>();
  /** Work the running drive of each task wants dispatched, once its record is saved. */
  private readonly dispatches = new Map<string, DispatchInput[]>();
  /**
   * Tasks this router drove last, resting until a worker reports: their live machine and the
   * revision of the record it matches. The next drive starts from them instead of reading and
   * restoring the record; the compare-and-set on that revision still decides, and a conflict
   * (another router moved the task) drops the entry and reads the record again. Never the only
   * copy of anything: the record was saved before the entry was kept.
   */
  private readonly hot = new Map<string, HotTask>();
  /** Bytes of the stored records of the kept machines. */
  private hotBytes = 0;
  private readonly machine;
  /** Every task's policy: one object, referred to by each machine, not a copy each. */
  private readonly policy: TaskPolicy;

  constructor(
    private readonly store: TaskStore,
    private readonly js: JetStreamClient,
    private readonly config: KoubouConfig,
    private readonly services: RoutingServices,
    private readonly limits: HotCacheLimits = {},
  ) {
    const wrapped: RoutingServices = {
      ...services,
      // Checked now (a refusal fails the task), sent after the save.
      dispatch: async (input) => {
        assertDispatchAllowed(input, config);
        this.dispatches.get(input.task.taskId)?.push(input);
      },
    };
    this.machine = createTaskMachine(tierPlanOf(config)).provide(createRoutingSteps(config, wrapped));
    this.policy = taskPolicyOf(config);
  }

  async drive(taskId: string, action: DriveAction): Promise<DriveOutcome> {
    for (let attempt = 0; attempt < MAX_CONFLICT_RETRIES; attempt++) {
      const result = await this.driveOnce(taskId, action);
      if (result !== 'conflict') return result;
    }
    throw new Error(`task ${taskId}: ${MAX_CONFLICT_RETRIES} conflicting updates in a row`);
  }

  /**
   * Publishes a saved record's outbox: its events in order, then its work items.
   * Idempotent within the streams' duplicate window (message ids), which is why
   * an outbox older than OUTBOX_REPLAY_MS is not published again: by then the
   * router that saved it has published it, and a replay could run work twice.
   */
  async flushOutbox(taskId: string, stored: StoredTask, now = Date.now()): Promise<void> {
    const outbox = stored.record.outbox;
    if (!outbox || now - outbox.savedAt > OUTBOX_REPLAY_MS || this.published.get(taskId) === outbox.savedAt) return;
    // Events first: a task's record exists in the ledger before any usage of its work. One
    // message for the whole step, every state it passed through in order (protocol 2).
    if (outbox.events.length > 0) {
      const first = outbox.events[0]!.seq;
      const last = outbox.events.at(-1)!.seq;
      await this.js.publish(SUBJECTS.taskEvent(taskId), encode({ events: outbox.events }), { msgID: MSG_ID.taskEvents(taskId, first, last) });
    }
    for (const d of outbox.dispatches) {
      await this.services.dispatch({ ...d, task: (stored.record.snapshot as { context: { task: TaskInput } }).context.task });
    }
    this.published.delete(taskId);
    if (!isFinalStatus(stored.record.status)) this.published.set(taskId, outbox.savedAt);
    // Bounded: the oldest entries go first (a forgotten one only costs a replay the server drops).
    if (this.published.size > PUBLISHED_MEMORY) this.published.delete(this.published.keys().next().value!);
  }

  private async driveOnce(taskId: string, action: DriveAction): Promise<DriveOutcome | 'conflict'> {
    const taken = this.takeHot(taskId);
    // A submission redelivered for a task this router keeps: start again from the record.
    if (taken && action.kind === 'create') taken.actor.stop();
    const hot = action.kind === 'create' ? undefined : taken;
    let stored = hot?.stored ?? await this.store.get(taskId);
    let fresh = false;
    /** A new task's actor, made from its submission and not started: nothing to restore. */
    let unstarted: TaskActor | undefined;
    if (action.kind === 'create') {
      if (stored && stored.record.submitSeq !== action.submitSeq) return { outcome: 'duplicate' };
      if (!stored) {
        // Routed by the budget as it stands now that the task has come (a question shared with the
        // tasks that came with it). A redelivered submission's task was routed already: no wait.
        await this.services.budgetAnsweredSince?.(this.services.now());
        // Not written yet: the record is created once, by the save after this first drive. Until
        // then the submission, acknowledged only after that save, is the task's durable copy; the
        // drive's effects before it are idempotent, and a router that loses the create publishes nothing.
        const { record, actor } = this.newRecord(action.task, action.submitSeq);
        stored = { record, revision: 0, bytes: 0 };
        fresh = true;
        unstarted = actor;
      }
    }
    if (!stored) return { outcome: 'unknown' };
    await this.flushOutbox(taskId, stored);
    const { record, revision } = stored;
    if (isFinalStatus(record.status)) return { outcome: 'final', status: record.status };

    const actor = hot?.actor ?? unstarted ?? createActor(this.machine, { snapshot: record.snapshot as never, input: undefined as never });
    const dispatches: DispatchInput[] = [];
    this.dispatches.set(taskId, dispatches);
    let keep = false;
    try {
      if (!hot) actor.start();
      const wasWaiting = actor.getSnapshot().hasTag('waiting');
      if (wasWaiting) actor.send({ type: 'RESUME', now: this.services.now() });
      if (action.kind === 'resume' && wasWaiting) await waitFor(actor, (s) => !s.hasTag('waiting') || s.status !== 'active', { timeout: 3_600_000 });
      if (action.kind === 'event') {
        // Records are saved at rest, but the machine may be moving again (a rate-limit wait just
        // resumed checks and dispatches): bring it to rest first (its effects are idempotent),
        // so a worker's report is applied in the state that expects it, not dropped.
        for (const event of action.events) {
          await waitFor(actor, isRest, { timeout: 60_000 });
          actor.send(event);
        }
      }
      const snap = await waitFor(actor, isRest, { timeout: 60_000 });
      let recordDifficulty = record.recordDifficulty;
      const skippedDifficulty = () => (recordDifficulty ??= recordDifficultyOf(snap.context.task, this.config));
      const events = eventsSince(snap, record.eventSeq, record, new Date(this.services.now()).toISOString(), skippedDifficulty);
      const status = statusOf(snap);
      const next: TaskKvRecord = {
        ...record,
        // A final task keeps only what a duplicate submission and a late report need (its status,
        // submission sequence, event count, outbox): its snapshot (prompt, files, result) goes.
        snapshot: isFinalStatus(status) ? null : actor.getPersistedSnapshot(),
        status,
        ...(recordDifficulty ? { recordDifficulty } : {}),
        eventSeq: record.eventSeq + events.length,
        retryAt: snap.hasTag('waiting') ? snap.context.retryAt : null,
        outbox: events.length || dispatches.length
          ? { savedAt: Date.now(), events, dispatches: dispatches.map(({ task: _task, ...d }) => d) }
          : null,
      };
      if (!fresh && events.length === 0 && dispatches.length === 0 && next.status === record.status && next.retryAt === record.retryAt) {
        keep = this.keepHot(taskId, actor, snap, stored);
        return { outcome: 'driven', status: next.status, retryAt: next.retryAt, tier: snap.context.tier };
      }
      const saved = fresh ? await this.store.create(taskId, next) : await this.store.update(taskId, next, revision);
      if (saved === null) return 'conflict';
      // Saved: now the effects. If publishing fails (the bus is away), the outbox stays
      // in the record and the next drive of the task — the caller's redelivered message,
      // or a resume — publishes it.
      await this.flushOutbox(taskId, saved);
      if (isFinalStatus(next.status)) await this.compact(taskId, next, saved.revision);
      keep = this.keepHot(taskId, actor, snap, saved);
      return { outcome: 'driven', status: next.status, retryAt: next.retryAt, tier: snap.context.tier };
    } finally {
      this.dispatches.delete(taskId);
      if (!keep) actor.stop();
    }
  }

  /**
   * Keeps a task's live machine for its next drive when it rests waiting for a worker (a
   * machine in a rate-limit wait has a timer running, so it is restored when the wait is due).
   */
  private keepHot(taskId: string, actor: HotTask['actor'], snap: Snap, stored: StoredTask): boolean {
    if (snap.status !== 'active' || snap.hasTag('waiting')) return false;
    this.hot.set(taskId, { actor, stored });
    this.hotBytes += stored.bytes;
    const maxTasks = this.limits.tasks ?? 5_000;
    const maxBytes = this.limits.bytes ?? 64 * 1024 * 1024;
    while (this.hot.size > maxTasks || (this.hotBytes > maxBytes && this.hot.size > 1)) {
      const [oldest, entry] = this.hot.entries().next().value!;
      this.takeHot(oldest);
      entry.actor.stop();
    }
    return true;
  }

  /** What the cache of live machines holds now. */
  hotCache(): { tasks: number; bytes: number } {
    return { tasks: this.hot.size, bytes: this.hotBytes };
  }

  /** Takes a kept machine out of the cache (to drive it, or to let it go). */
  private takeHot(taskId: string): HotTask | undefined {
    const entry = this.hot.get(taskId);
    if (!entry) return undefined;
    this.hot.delete(taskId);
    this.hotBytes -= entry.stored.bytes;
    return entry;
  }

  /** Stops every kept machine (the router is stopping). */
  dropHot(): void {
    for (const { actor } of this.hot.values()) actor.stop();
    this.hot.clear();
    this.hotBytes = 0;
  }

  /**
   * A final task's outbox goes once published (its last event carries the result, which lives on
   * in the event stream and the ledger): what stays is a few hundred bytes. Best effort: a
   * conflict or a bus error leaves the larger record, still correct.
   */
  private async compact(taskId: string, record: TaskKvRecord, revision: number): Promise<void> {
    try {
      await this.store.update(taskId, { ...record, snapshot: null, outbox: null }, revision);
    } catch {
      // The full record is still correct, only larger.
    }
  }

  /** A new task's record, not yet written, and its actor, not started. */
  private newRecord(task: TaskInput, submitSeq: number): { record: TaskKvRecord; actor: TaskActor } {
    const actor = createActor(this.machine, { input: { task, policy: this.policy } });
    return { record: { v: 1, snapshot: actor.getPersistedSnapshot(), status: 'pending', submitSeq, eventSeq: 0, retryAt: null, outbox: null }, actor };
  }
}
