import type { JetStreamClient } from '@nats-io/jetstream';
import { createActor, waitFor, type SnapshotFrom } from 'xstate';
import { encode, MSG_ID, SUBJECTS } from '../../src/bus/index.ts';
import type { KoubouConfig } from '../../src/config/index.ts';
import type { TaskInput } from '../../src/core/types.ts';
import { evaluateDifficulty } from '../../src/policy/difficulty.ts';
import { createRoutingActors, difficultyOptions } from '../../src/routing/createRoutingActors.ts';
import type { RoutingServices } from '../../src/routing/RoutingServices.ts';
import { taskMachine } from '../../machines/task.machine.ts';
import { statusOf } from '../../machines/statusOf.ts';
import type { TaskEvent } from '../../machines/task.types.ts';
import { eventsSince } from './taskEvents.ts';
import type { TaskRecord, TaskStore } from './TaskStore.ts';

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
}

const MAX_CONFLICT_RETRIES = 10;

/** A snapshot the machine can rest in until something from outside happens. */
export const isRest = (s: Snap): boolean =>
  s.status !== 'active' || s.matches({ Assigned: 'AwaitingWorker' }) || s.matches('InProgress') || s.hasTag('waiting');

/**
 * Moves one task forward: restores its machine from the KV record, applies the
 * action, runs it until it rests, publishes one event per state it went
 * through, and writes the record back with compare-and-set. Every effect the
 * machine invokes is idempotent, so a retry after a conflict or a crash is safe.
 */
export class TaskDriver {
  /** Events to publish before a task's work is dispatched, so its record exists before any usage. */
  private readonly pendingFlush = new Map<string, () => Promise<void>>();
  /** Dispatches that failed on the bus (not a routing decision): such a drive is not saved, but retried. */
  private readonly failedDispatch = new Map<string, unknown>();
  private readonly machine;

  constructor(
    private readonly store: TaskStore,
    private readonly js: JetStreamClient,
    private readonly config: KoubouConfig,
    private readonly services: RoutingServices,
  ) {
    const wrapped: RoutingServices = {
      ...services,
      dispatch: async (input) => {
        try {
          await this.pendingFlush.get(input.task.taskId)?.();
          await services.dispatch(input);
        } catch (e) {
          this.failedDispatch.set(input.task.taskId, e);
          throw e;
        }
      },
    };
    this.machine = taskMachine.provide(createRoutingActors(config, wrapped));
  }

  async drive(taskId: string, action: DriveAction): Promise<DriveOutcome> {
    for (let attempt = 0; attempt < MAX_CONFLICT_RETRIES; attempt++) {
      const result = await this.driveOnce(taskId, action);
      if (result !== 'conflict') return result;
    }
    throw new Error(`task ${taskId}: ${MAX_CONFLICT_RETRIES} conflicting updates in a row`);
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
    const { record, revision } = stored;
    if (['completed', 'failed', 'cancelled'].includes(record.status)) return { outcome: 'final', status: record.status };

    const actor = createActor(this.machine, { snapshot: record.snapshot as never, input: undefined as never });
    let published = record.eventSeq;
    const flush = async () => {
      const events = eventsSince(actor.getSnapshot(), published, record, new Date(this.services.now()).toISOString());
      published += events.length;
      await Promise.all(events.map((e) => this.js.publish(SUBJECTS.taskEvent(taskId), encode(e), { msgID: MSG_ID.taskEvent(taskId, e.seq) })));
    };
    this.pendingFlush.set(taskId, flush);
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
      const busError = this.failedDispatch.get(taskId);
      if (busError) {
        // The machine would record a failure that is only the bus being away (a
        // server restart): save nothing, so the caller's message is redelivered
        // and this drive replayed from the last saved snapshot.
        throw new Error(`dispatch of ${taskId} failed, will retry: ${(busError as Error).message}`);
      }
      await flush();
      const next: TaskRecord = {
        ...record,
        snapshot: actor.getPersistedSnapshot(),
        status: statusOf(snap),
        eventSeq: published,
        retryAt: snap.hasTag('waiting') ? snap.context.retryAt : null,
      };
      if (!fresh && published === record.eventSeq && next.status === record.status && next.retryAt === record.retryAt) {
        return { outcome: 'driven', status: next.status, retryAt: next.retryAt };
      }
      const written = await this.store.update(taskId, next, revision);
      if (written === null) return 'conflict';
      return { outcome: 'driven', status: next.status, retryAt: next.retryAt };
    } finally {
      this.pendingFlush.delete(taskId);
      this.failedDispatch.delete(taskId);
      actor.stop();
    }
  }

  private newRecord(task: TaskInput, submitSeq: number): TaskRecord {
    const d = evaluateDifficulty({ type: task.type, prompt: task.prompt, files: task.files }, difficultyOptions(this.config));
    // The initial snapshot, not started: stored first, so a crash right after
    // acceptance still leaves a task that can be resumed from its record.
    const snapshot = createActor(this.machine, { input: { task, policy: this.policy() } }).getPersistedSnapshot();
    return {
      v: 1, snapshot, status: 'pending', submitSeq, eventSeq: 0,
      recordDifficulty: { level: d.level, score: d.score, tokens: d.tokens }, retryAt: null,
    };
  }

  private policy() {
    return {
      maxRateLimitWaitMs: this.config.routing.max_rate_limit_wait_seconds * 1000,
      internalStaysLocal: this.config.routing.sensitivity.internal_stays_local,
    };
  }
}
