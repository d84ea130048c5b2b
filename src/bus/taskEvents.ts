import { decode, MessageError } from './codec.ts';
import { taskEventSchema, taskEventsMessageSchema, type Execution, type TaskEventMessage, type UsageEvent } from './messages.ts';

const SUBJECT_PREFIX = 'koubou.evt.task.';
const decoder = new TextDecoder();
const hasEvents = (data: Uint8Array): boolean => {
  // A batch starts `{"events":` as koubou writes it; anything else is read as one event.
  const head = decoder.decode(data.subarray(0, 16)).replace(/\s/g, '');
  return head.startsWith('{"events"');
};

/**
 * The events of one message on `koubou.evt.task.<taskId>`: a router step's batch (protocol 2)
 * or a single event (protocol 1), each checked against the subject's task.
 *
 * @example
 * for (const e of decodeTaskEvents(m.data, m.subject)) console.log(e.seq, e.state);
 */
export function decodeTaskEvents(data: Uint8Array, subject: string): TaskEventMessage[] {
  return decodeTaskRecords(data, subject).events;
}

/** A message on `koubou.evt.task.<taskId>`, whole: its events, and the executions and usage a gateway recorded with them (protocol 6). */
export interface TaskRecordsMessage {
  events: TaskEventMessage[];
  executions?: Execution[];
  usage?: UsageEvent[];
}

/**
 * {@link decodeTaskEvents} with what a gateway records beside the events (the ledger reads it).
 *
 * @example
 * const { events, executions = [] } = decodeTaskRecords(m.data, m.subject);
 */
export function decodeTaskRecords(data: Uint8Array, subject: string): TaskRecordsMessage {
  const message: TaskRecordsMessage = hasEvents(data) ? decode(taskEventsMessageSchema, data, subject) : { events: [decode(taskEventSchema, data, subject)] };
  const { events } = message;
  if (subject.startsWith(SUBJECT_PREFIX)) {
    const token = subject.slice(SUBJECT_PREFIX.length);
    const wrong = events.find((e) => e.taskId !== token);
    if (wrong) throw new MessageError(`${subject}: taskId "${wrong.taskId}" does not match the subject`, decoder.decode(data.subarray(0, 200)));
    const other = [...(message.executions ?? []), ...(message.usage ?? [])].find((x) => x.taskId !== token);
    if (other) throw new MessageError(`${subject}: a record of task "${other.taskId}" does not belong with this task's events`, decoder.decode(data.subarray(0, 200)));
  }
  return message;
}
