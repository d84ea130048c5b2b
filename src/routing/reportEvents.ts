import type { Report } from '../bus/index.ts';
import type { TaskEvent } from '../../machines/task.types.ts';

/**
 * A worker's report as the task machine's events: a start folded into an outcome (protocol 3)
 * is the start, then the outcome. One answer for every place a report meets a machine (the
 * router, and a gateway running an interactive request's machine itself).
 *
 * @example
 * reportEvents({ kind: 'started', taskId: 't1', attempt: 1, workerId: 'w1', at }); // => [{ type: 'WORK_STARTED', workerId: 'w1', attempt: 1 }]
 */
export function reportEvents(report: Report): TaskEvent[] {
  const outcome = reportEvent(report);
  if ((report.kind === 'completed' || report.kind === 'failed') && report.startedAt) {
    const workerId = report.kind === 'completed' ? report.result.workerId : report.workerId;
    return [{ type: 'WORK_STARTED', workerId, attempt: report.attempt }, outcome];
  }
  return [outcome];
}

function reportEvent(report: Report): TaskEvent {
  switch (report.kind) {
    case 'started': return { type: 'WORK_STARTED', workerId: report.workerId, attempt: report.attempt };
    case 'completed': return { type: 'WORK_COMPLETED', result: report.result, attempt: report.attempt };
    case 'failed': return { type: 'WORK_FAILED', error: report.error, rateLimited: report.rateLimited, attempt: report.attempt };
    case 'cancel': return { type: 'CANCEL', reason: report.reason };
  }
}
