import type { JetStreamClient } from '@nats-io/jetstream';
import { createActor, waitFor, type SnapshotFrom } from 'xstate';
import { encode, MSG_ID, SUBJECTS } from '../../src/bus/index.ts';
import { tierPlanOf, type KoubouConfig } from '../../src/config/index.ts';
import { isFinalStatus, type TaskInput, type Tier } from '../../src/core/types.ts';
import { evaluateDifficulty } from '../../src/policy/index.ts';
import { createRoutingActors, difficultyOptions, assertDispatchAllowed, type RoutingServices } from '../../src/routing/index.ts';
import { createTaskMachine, type taskMachine } from '../../machines/task.machine.ts';
import { statusOf } from '../../machines/statusOf.ts';
import type { DispatchInput, TaskEvent } from '../../machines/task.types.ts';
import { eventsSince } from './taskEvents.ts';
import { OUTBOX_REPLAY_MS, type StoredTask, type TaskKvRecord, type TaskStore } from './TaskStore.ts';

type Snap = SnapshotFrom<typeof taskMachine>;

export type DriveAction =
  | { kind: 'create'; task: TaskInput; submitSeq: number }
  | { kind: 'event'; event: TaskEvent }
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
/** Outboxes remembered as published by this router. */
const PUBLISHED_MEMORY = 50_000;

/** A snapshot the machine can rest in until something from outside happens. */
export const isRest = (s: Snap): boolean =>
  s.status !== 'active' || s.matches({ Assigned: 'AwaitingWorker' }) || s.matches('InProgress') || s.hasTag('waiting');

/**
 * Moves one task forward: restores its machine from the KV record, applies the
 * action, runs it until it rests, and writes the record back with
 * compare-and-set. Only then are the drive's effects published — one event per
 * state it went through, then its work items — from the record's outbox, so a
 * drive that lost the race to another router leaves no trace on the bus. The
 * effects the machine invokes while it runs (budget reservation, rate-limit
 * check) are idempotent, so a retry after a conflict or a crash is safe.
 */
export class TaskDriver {
  /** Outboxes this router has published (task id → savedAt): not published again by its next drive. */
  private readonly published = new Map<string, number>();
  /** Work the running drive of each task wants dispatched, once its record is saved. */
  private readonly dispatches = new Map<string, DispatchInput[]>();
  private readonly machine;

  constructor(
    private readonly store: TaskStore,
    private readonly js: JetStreamClient,
    private readonly config: KoubouConfig,
    private readonly services: RoutingServices,
  ) {
    const wrapped: RoutingServices = {
      ...services,
      // Checked now (a refusal fails the task), sent after the save.
      dispatch: async (input) => {
        assertDispatchAllowed(input, config);
        this.dispatches.get(input.task.taskId)?.push(input);
      },
    };
    this.machine = createTaskMachine(tierPlanOf(config)).provide(createRoutingActors(config, wrapped));
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
    // Events first: a task's record exists in the ledger before any usage of its work.
    await Promise.all(outbox.events.map((e) => this.js.publish(SUBJECTS.taskEvent(taskId), encode(e), { msgID: MSG_ID.taskEvent(taskId, e.seq) })));
    for (const d of outbox.dispatches) {
      await this.services.dispatch({ ...d, task: (stored.record.snapshot as { context: { task: TaskInput } }).context.task });
    }
    this.published.delete(taskId);
    if (!isFinalStatus(stored.record.status)) this.published.set(taskId, outbox.savedAt);
    // Bounded: the oldest entries go first (a forgotten one only costs a replay the server drops).
    if (this.published.size > PUBLISHED_MEMORY) this.published.delete(this.published.keys().next().value!);
  }

  private async driveOnce(taskId: string, action: DriveAction): Promise<DriveOutcome | 'conflict'> {
    let stored = await this.store.get(taskId);
    let fresh = false;
    if (action.kind === 'create') {
      if (stored && stored.record.submitSeq !== action.submitSeq) return { outcome: 'duplicate' };
      if (!stored) {
        const record = this.newRecord(action.task, action.submitSeq);
        const revision = await this.store.create(taskId, record);
        if (revision === null) return 'conflict';
        stored = { record, revision };
        fresh = true;
      }
    }
    if (!stored) return { outcome: 'unknown' };
    await this.flushOutbox(taskId, stored);
    const { record, revision } = stored;
    if (isFinalStatus(record.status)) return { outcome: 'final', status: record.status };

    const actor = createActor(this.machine, { snapshot: record.snapshot as never, input: undefined as never });
    const dispatches: DispatchInput[] = [];
    this.dispatches.set(taskId, dispatches);
    try {
      actor.start();
      const wasWaiting = actor.getSnapshot().hasTag('waiting');
      if (wasWaiting) actor.send({ type: 'RESUME', now: this.services.now() });
      if (action.kind === 'resume' && wasWaiting) await waitFor(actor, (s) => !s.hasTag('waiting') || s.status !== 'active', { timeout: 3_600_000 });
      if (action.kind === 'event') {
        // A record saved before a router crash may be behind the work it already
        // dispatched: bring the machine to rest first (its effects are idempotent),
        // so a worker's report is applied in the state that expects it, not dropped.
        await waitFor(actor, isRest, { timeout: 60_000 });
        actor.send(action.event);
      }
      const snap = await waitFor(actor, isRest, { timeout: 60_000 });
      const events = eventsSince(snap, record.eventSeq, record, new Date(this.services.now()).toISOString());
      const next: TaskKvRecord = {
        ...record,
        snapshot: actor.getPersistedSnapshot(),
        status: statusOf(snap),
        eventSeq: record.eventSeq + events.length,
        retryAt: snap.hasTag('waiting') ? snap.context.retryAt : null,
        outbox: events.length || dispatches.length
          ? { savedAt: Date.now(), events, dispatches: dispatches.map(({ task: _task, ...d }) => d) }
          : null,
      };
      if (!fresh && events.length === 0 && dispatches.length === 0 && next.status === record.status && next.retryAt === record.retryAt) {
        return { outcome: 'driven', status: next.status, retryAt: next.retryAt, tier: snap.context.tier };
      }
      const written = await this.store.update(taskId, next, revision);
      if (written === null) return 'conflict';
      // Saved: now the effects. If publishing fails (the bus is away), the outbox stays
      // in the record and the next drive of the task — the caller's redelivered message,
      // or a resume — publishes it.
      await this.flushOutbox(taskId, { record: next, revision: written });
      if (isFinalStatus(next.status)) await this.compact(taskId, next, written);
      return { outcome: 'driven', status: next.status, retryAt: next.retryAt, tier: snap.context.tier };
    } finally {
      this.dispatches.delete(taskId);
      actor.stop();
    }
  }

  /**
   * A final task keeps only what a duplicate submission and a late report need
   * (its status, submission sequence, event count): its snapshot — prompt, files,
   * result — goes. Best effort: a conflict or a bus error leaves the full record.
   */
  private async compact(taskId: string, record: TaskKvRecord, revision: number): Promise<void> {
    try {
      await this.store.update(taskId, { ...record, snapshot: null, outbox: null }, revision);
    } catch {
      // The full record is still correct, only larger.
    }
  }

  private newRecord(task: TaskInput, submitSeq: number): TaskKvRecord {
    const d = evaluateDifficulty({ type: task.type, prompt: task.prompt, files: task.files }, difficultyOptions(this.config));
    // The initial snapshot, not started: stored first, so a crash right after
    // acceptance still leaves a task that can be resumed from its record.
    const snapshot = createActor(this.machine, { input: { task, policy: this.policy() } }).getPersistedSnapshot();
    return {
      v: 1, snapshot, status: 'pending', submitSeq, eventSeq: 0,
      recordDifficulty: { level: d.level, score: d.score, tokens: d.tokens }, retryAt: null, outbox: null,
    };
  }

  private policy() {
    return {
      maxRateLimitWaitMs: this.config.routing.max_rate_limit_wait_seconds * 1000,
      internalStaysLocal: this.config.routing.sensitivity.internal_stays_local,
    };
  }
}
