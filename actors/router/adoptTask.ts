import { KoubouError } from '../../src/core/errors.ts';
import type { TaskEventMessage } from '../../src/bus/index.ts';
import type { TaskStatus } from '../../src/core/types.ts';
import type { DispatchInput } from '../../machines/task.types.ts';
import type { TaskDriver } from './TaskDriver.ts';
import type { TaskStore } from './TaskStore.ts';

/** A task whose machine ran in another process up to work that must go to a queue. */
export interface AdoptedTask {
  taskId: string;
  /** The machine's persisted snapshot, resting where the dispatch left it. */
  snapshot: unknown;
  status: TaskStatus;
  /** Every event the task has had, published or not: the record counts them. */
  eventSeq: number;
  /** Its events not yet published, in order. */
  events: TaskEventMessage[];
  dispatches: DispatchInput[];
}

/**
 * Makes a task the routers' from here on: a gateway ran an interactive request's machine itself,
 * and the machine chose work the gateway does not do (a local tier's queue, an agent). Its record
 * is saved in the task store as a router's first drive would have saved it, then its outbox (the
 * events not yet published, the work item) is published through the driver; a worker's report
 * then reaches whichever router pulls it, which restores the machine from the record. A task
 * routed here never came as a submission, so no submission sequence can collide with it.
 *
 * @example
 * await adoptTask(store, driver, { taskId, snapshot: actor.getPersistedSnapshot(), status: 'assigned', eventSeq: 11, events, dispatches });
 */
export async function adoptTask(store: TaskStore, driver: TaskDriver, task: AdoptedTask): Promise<void> {
  const saved = await store.create(task.taskId, {
    v: 1, snapshot: task.snapshot, status: task.status, submitSeq: 0, eventSeq: task.eventSeq, retryAt: null,
    outbox: { savedAt: Date.now(), events: task.events, dispatches: task.dispatches.map(({ task: _task, ...d }) => d) },
  });
  if (saved === null) throw new KoubouError('TASK_EXISTS', `task ${task.taskId} already has a record in the task store: not adopted twice`);
  // No message will come back to publish it later (the task was never submitted): try again here.
  // Its message ids make a repeat harmless.
  for (let attempt = 1; ; attempt++) {
    try {
      return await driver.flushOutbox(task.taskId, saved);
    } catch (e) {
      if (attempt >= FLUSH_ATTEMPTS) throw e;
      await new Promise((r) => setTimeout(r, 250 * 2 ** (attempt - 1)));
    }
  }
}

/** Tries of publishing an adopted task's outbox (about 8 s with back-off, a leader election's time). */
const FLUSH_ATTEMPTS = 6;
