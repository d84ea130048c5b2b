/**
 * Every message published on the bus during a benchmark, as a subscriber to `>` receives it:
 * to tell which hop of a task's path takes the time. Needs a role allowed to subscribe to `>`
 * (router or ledger).
 */
import type { NatsConnection, Subscription } from '@nats-io/transport-node';

export interface Tapped { at: number; label: string; taskId: string | null }

const decoder = new TextDecoder();
const TASK_SUBJECT = /^(koubou\.evt\.task|koubou\.report|koubou\.cancel|\$KV\.koubou_tasks)\.(.+)$/;

/** A name for the subject that is the same for every task: task ids, inboxes and ack tokens left out. */
export function labelOf(subject: string, payload: string): string {
  const task = TASK_SUBJECT.exec(subject);
  if (task) return `${task[1]}.<task>`;
  if (subject.startsWith('$JS.ACK.')) return `ack ${subject.split('.').slice(2, 4).join(' ')}`;
  if (subject.startsWith('_INBOX')) {
    const stream = /"stream":"([A-Z_a-z]+)"/.exec(payload);
    return `reply to ${subject.split('.')[0]}${stream ? ` (stored in ${stream[1]})` : ''}`;
  }
  return subject.replace(/\.[A-Za-z0-9_-]{16,}(?=\.|$)/g, '.<id>');
}

/** Starts recording; `stop()` ends it and gives what was seen, in order. */
export function tapBus(nc: NatsConnection): { stop(): Tapped[] } {
  const seen: Tapped[] = [];
  const sub: Subscription = nc.subscribe('>', {
    callback: (_err, m) => {
      const at = performance.timeOrigin + performance.now();
      const payload = decoder.decode(m.data.subarray(0, 4000));
      const task = TASK_SUBJECT.exec(m.subject)?.[2] ?? /"taskId":"([^"]+)"/.exec(payload)?.[1] ?? null;
      seen.push({ at, label: labelOf(m.subject, payload), taskId: task });
    },
  });
  return { stop: () => { sub.unsubscribe(); return seen; } };
}
