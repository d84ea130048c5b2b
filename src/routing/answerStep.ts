import type { TaskEvent } from '../../machines/task.types.ts';

/** The part of the task machine's actor an I/O step answers to. */
export interface StepSelf {
  send(event: TaskEvent): void;
  getSnapshot(): { status: string };
}

/**
 * Runs a routing step that does I/O and sends its answer back to the machine: `done(output)`
 * when the work resolves, `failed(error)` when it throws or rejects. Called from the step's
 * entry action, so no actor is invoked for it (see the machine's setup for why). An answer that
 * comes after the machine stopped is dropped.
 *
 * @example
 * answerStep(self, () => services.scanSensitivity(context.task),
 *   (output) => ({ type: 'SENSITIVITY_ANALYZED', output }), (error) => ({ type: 'SENSITIVITY_FAILED', error }));
 */
export function answerStep<T>(
  self: StepSelf,
  work: () => Promise<T>,
  done: (output: T) => TaskEvent,
  failed: (error: unknown) => TaskEvent,
): void {
  let pending: Promise<T>;
  try {
    pending = work();
  } catch (error) {
    pending = Promise.reject(error);
  }
  pending.then((output) => reply(self, done(output)), (error: unknown) => reply(self, failed(error)));
}

function reply(self: StepSelf, event: TaskEvent): void {
  if (self.getSnapshot().status === 'active') self.send(event);
}
