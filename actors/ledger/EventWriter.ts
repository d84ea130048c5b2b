/**
 * Turns one KOUBOU_EVENTS message into ledger rows, atomically (in a transaction of its own, or in
 * the batch the ledger writes it in), idempotently.
 */
import {
  decode, decodeTaskRecords, executionSchema, rateLimitSignalSchema, rejectionSchema, SUBJECTS, usageEventSchema,
  type Execution, type Rejection, type TaskEventMessage, type UsageEvent,
} from '../../src/bus/index.ts';
import {
  FINAL_TASK_STATUSES, getTask, getWorker, recordFallback, recordRejection, recordRoutingDecision, recordTestOutcome, recordUsage,
  atomically, recordRateLimitSignal, recordWorkerMetric, releaseTaskReservations, releaseTierReservations, setTaskClientKey, setTaskParent, upsertTask, upsertWorker, type LedgerDb, type TaskRecord, type TaskWrite,
} from '../../src/db/index.ts';
import { AppliedLog, messageDigest } from './AppliedLog.ts';

/** What a message did: `applied` wrote rows, `duplicate` had been written before, `ignored` is not the ledger's. */
export type WriteOutcome = 'applied' | 'duplicate' | 'ignored';

export interface EventWriterOptions {
  /** The month's limit when a usage opens a month that has no row yet (config budget.monthly_usd). */
  monthlyLimitUsd: number;
  /** Alert threshold of such a new month (config budget.alert_threshold_percent). Default 80. */
  alertThresholdPercent?: number;
}

/** Longest result excerpt kept in task_master.result_summary. */
export const RESULT_SUMMARY_CHARS = 200;

const TASK_PREFIX = 'koubou.evt.task.';
const RATE_LIMIT_PREFIX = SUBJECTS.rateLimitAll.slice(0, -1);
const decoder = new TextDecoder();

/**
 * Writes events to the ledger. Every method either commits all of an event's rows (and the
 * mark that it was applied) or nothing, so the caller may ack only after it returns.
 *
 * @example
 * const writer = new EventWriter(db, { monthlyLimitUsd: 100 });
 * writer.write(msg.subject, msg.data); // throws MessageError for a message that does not validate
 * msg.ack();
 */
export class EventWriter {
  private readonly applied: AppliedLog;

  constructor(private readonly db: LedgerDb, private readonly options: EventWriterOptions) {
    this.applied = new AppliedLog(db);
  }

  /**
   * Decodes and writes one message by its subject.
   * @throws MessageError when the payload is not JSON or does not match its subject's schema.
   */
  write(subject: string, data: Uint8Array): WriteOutcome {
    if (subject.startsWith(TASK_PREFIX)) {
      const { events, executions = [], usage = [] } = decodeTaskRecords(data, subject);
      if (executions.length === 0 && usage.length === 0) return this.taskEvents(events);
      return this.taskRecords(events, executions, usage);
    }
    if (subject === SUBJECTS.usage) return this.usage(decode(usageEventSchema, data, subject));
    if (subject === SUBJECTS.rejected) return this.rejection(decode(rejectionSchema, data, subject), messageDigest(subject, data));
    if (subject === SUBJECTS.execution) return this.execution(decode(executionSchema, data, subject));
    if (subject.startsWith(RATE_LIMIT_PREFIX)) {
      // The routers act on these through their shared limiter; the ledger keeps the newest per
      // tier for `koubou route --dry-run`.
      const s = decode(rateLimitSignalSchema, data, subject);
      return atomically(this.db, () => (recordRateLimitSignal(this.db, { tier: s.tier, status: s.status, headers: s.headers, observedAtMs: Date.parse(s.at) }) ? 'applied' : 'duplicate'));
    }
    // Anything else on the stream is not the ledger's: acked and dropped.
    return 'ignored';
  }

  /**
   * A task a gateway ran itself, recorded in one message (protocol 6), written in one transaction:
   * its events up to its end, then its calls' usage and executions (as a worker's execution comes
   * before its outcome), then its final event. All of it or nothing: a task's record never lacks
   * the charge of a call it told its client about.
   */
  private taskRecords(events: readonly TaskEventMessage[], executions: readonly Execution[], usage: readonly UsageEvent[]): WriteOutcome {
    return atomically(this.db, (): WriteOutcome => {
      const end = events.findIndex((e) => FINAL_TASK_STATUSES.includes(e.status as TaskRecord['status']));
      const split = end < 0 ? events.length : end;
      const outcomes: WriteOutcome[] = [];
      if (split > 0) outcomes.push(this.taskEvents(events.slice(0, split)));
      for (const u of usage) outcomes.push(this.usage(u));
      for (const x of executions) outcomes.push(this.execution(x));
      if (split < events.length) outcomes.push(this.taskEvents(events.slice(split)));
      return outcomes.includes('applied') ? 'applied' : 'duplicate';
    });
  }

  /**
   * Records a message the ledger refused (invalid, or failing to write), once per payload.
   * @returns false if this very payload was recorded before.
   */
  recordRefusal(subject: string, reason: string, data: Uint8Array): boolean {
    return atomically(this.db, () => {
      if (!this.applied.markMessage(messageDigest(`refused:${subject}`, data), subject)) return false;
      recordRejection(this.db, { subject, reason: `ledger: ${reason}`, payloadExcerpt: decoder.decode(data.subarray(0, 2000)) });
      return true;
    });
  }

  /**
   * A router step's states of one task (one state, for protocol 1), in order, in one
   * transaction: the audit rows of every new (taskId, seq), and the task_master row written once,
   * from the newest. That row only moves forward: a state older than one already applied (a late
   * redelivery after a retry) adds its audit row but does not set the status back.
   */
  taskEvents(events: readonly TaskEventMessage[]): WriteOutcome {
    return atomically(this.db, (): WriteOutcome => {
      const taskId = events[0]!.taskId;
      const lastSeq = this.applied.lastSeq(taskId);
      const newest = events.filter((e) => e.seq > lastSeq).at(-1);
      const fresh = events.filter((e) => this.applied.markTaskEvent(taskId, e.seq));
      if (fresh.length === 0) return 'duplicate';
      if (newest && fresh.includes(newest)) upsertTask(this.db, toTaskWrite(newest, getTask(this.db, taskId)));
      // Who submitted it and what it serves: the same on every event of a task.
      const { clientKey, parentTaskId } = fresh[0]!;
      if (clientKey) setTaskClientKey(this.db, taskId, clientKey);
      if (parentTaskId) setTaskParent(this.db, taskId, parentTaskId);
      for (const e of fresh) this.auditRows(e);
      return 'applied';
    });
  }

  /** One state's rows: its routing decision, its fallback, and the release of a final state's reservation. */
  private auditRows(e: TaskEventMessage): void {
    recordRoutingDecision(this.db, e.taskId, e.state, e.tier, [e.reason]);
    if (e.fallback) {
      recordFallback(this.db, { taskId: e.taskId, fromTier: e.fallback.from, toTier: e.fallback.to, reason: e.fallback.reason, phase: e.fallback.phase });
    }
    // Released here, in the stream's order, never before the charges of the attempt: a worker puts
    // its usage on this stream before it reports, and the router writes these events after.
    // An execution fallback ends the attempt on the tier it leaves.
    if (e.fallback?.phase === 'execution') releaseTierReservations(this.db, e.taskId, e.fallback.from);
    if (e.tests && e.tier) recordTestOutcome(this.db, { taskId: e.taskId, attempt: e.tests.attempt, tier: e.tier, taskType: e.type, passed: e.tests.passed });
    // Every active reservation of the task, not only the one its final event names: a reserve whose
    // reply the router never got holds money too. Idempotent; settled ones stay settled.
    if (FINAL_TASK_STATUSES.includes(e.status)) releaseTaskReservations(this.db, e.taskId);
  }

  /** One provider call, charged exactly once (recordUsage is idempotent by usageId). */
  usage(u: UsageEvent): WriteOutcome {
    return atomically(this.db, (): WriteOutcome => {
      // A fast worker's usage can reach the stream before the router's first event of the task.
      // The money must count now (budget checks depend on it), so a placeholder row satisfies the
      // foreign key; the task's own events overwrite every field of it.
      if (getTask(this.db, u.taskId) === null) {
        upsertTask(this.db, {
          taskId: u.taskId, taskType: 'general', difficulty: 'medium', sensitivity: 'confidential',
          status: 'pending', tier: u.tier, reason: 'usage recorded before any task event',
        });
      }
      const recorded = recordUsage(this.db, {
        usageId: u.usageId, taskId: u.taskId, tier: u.tier, model: u.model,
        promptTokens: u.promptTokens, cachedPromptTokens: u.cachedPromptTokens,
        completionTokens: u.completionTokens, reasoningTokens: u.reasoningTokens,
        costUsd: u.costUsd, reservationId: u.reservationId,
      }, { monthlyLimitUsd: this.options.monthlyLimitUsd, alertThresholdPercent: this.options.alertThresholdPercent ?? 80 });
      return recorded ? 'applied' : 'duplicate';
    });
  }

  /**
   * One execution on one worker: a worker_metrics row, once per execution id, and the calls it
   * charges (protocol 4), each once by its usage id, in the same transaction.
   */
  execution(x: Execution): WriteOutcome {
    return atomically(this.db, (): WriteOutcome => {
      if (!this.applied.markMessage(`execution:${x.executionId}`, SUBJECTS.execution)) return 'duplicate';
      for (const call of x.calls ?? []) this.usage(call);
      // Both foreign keys must hold even when the execution outran the worker's first
      // heartbeat write or the task's first event; those overwrite the placeholders.
      if (getWorker(this.db, x.workerId) === null) {
        upsertWorker(this.db, { workerId: x.workerId, workerType: x.tier, modelName: 'unknown', apiEndpoint: 'unknown', status: 'busy' });
      }
      if (getTask(this.db, x.taskId) === null) {
        upsertTask(this.db, {
          taskId: x.taskId, taskType: 'general', difficulty: 'medium', sensitivity: 'confidential',
          status: 'pending', tier: x.tier, reason: 'execution recorded before any task event',
        });
      }
      recordWorkerMetric(this.db, {
        workerId: x.workerId, taskId: x.taskId, executionTimeMs: x.executionTimeMs, success: x.success,
        tokensProcessed: x.outputTokens, promptLength: x.promptLength, outputLength: x.outputLength, errorType: x.errorType,
      });
      return 'applied';
    });
  }

  /** A message another actor refused. */
  rejection(r: Rejection, digest: string): WriteOutcome {
    return atomically(this.db, (): WriteOutcome => {
      if (!this.applied.markMessage(digest, SUBJECTS.rejected)) return 'duplicate';
      const task = r.taskId ? ` [task ${r.taskId}]` : '';
      recordRejection(this.db, { subject: r.subject, reason: `${r.by}: ${r.reason}${task}`, payloadExcerpt: r.excerpt });
      return 'applied';
    });
  }
}

/** The task_master fields an event carries; what it does not carry keeps its stored value. */
function toTaskWrite(e: TaskEventMessage, stored: TaskRecord | null): TaskWrite {
  return {
    taskId: e.taskId,
    taskType: e.type,
    difficulty: e.difficulty.level,
    // Not scanned yet: a new row is labelled with the most restrictive level (what the router
    // assumes of unscanned work); an existing row keeps what a scan recorded.
    sensitivity: e.sensitivity?.level ?? stored?.sensitivity ?? 'confidential',
    status: e.status,
    // The event schema does not bound it; the table does. Clamp rather than lose the event.
    priority: Math.min(10, Math.max(1, e.priority)),
    tier: e.tier ?? undefined,
    estimatedTokens: e.difficulty.tokens,
    reason: e.reason,
    error: e.error ? `${e.error.code}: ${e.error.message}` : undefined,
    resultSummary: e.result ? summarize(e) : undefined,
    // From the newest event, like every field here: the router summarises the ask with what it
    // knows at that step, so work found confidential after its first event ends up with only its
    // size and categories; the ask itself is the same on every event of a task.
    askSummary: e.promptSummary || undefined,
  };
}

/** The first characters of a result — never the text of confidential work, which stays with the submitter. */
function summarize(e: TaskEventMessage): string {
  const text = e.result!.text;
  if (e.sensitivity?.level === 'confidential') return `[confidential: ${text.length} characters]`;
  const cut = text.slice(0, RESULT_SUMMARY_CHARS);
  return /[\uD800-\uDBFF]$/.test(cut) ? cut.slice(0, -1) : cut;
}
