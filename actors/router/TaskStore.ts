import type { KV } from '@nats-io/kv';
import type { TaskEventMessage } from '../../src/bus/index.ts';
import type { DispatchInput } from '../../machines/task.types.ts';
import type { TaskStatus } from '../../src/core/types.ts';
import type { DifficultyResult } from '../../src/core/types.ts';

/** What the router keeps per task in the `koubou_tasks` KV bucket. */
export interface TaskKvRecord {
  v: 1;
  /**
   * The task machine's persisted snapshot; null once the task is final and its last
   * events are out (the prompt, files and result then live only in the events and the
   * ledger, not in KV for ever).
   */
  snapshot: unknown;
  status: TaskStatus;
  /** Stream sequence of the submission that created it: tells a redelivery from a duplicate. */
  submitSeq: number;
  /** Last task-event sequence number published. */
  eventSeq: number;
  /**
   * Difficulty for the record's events when routing skipped it (confidential work), worked out the
   * first time such an event needs it. Absent until then (records written before also carry it).
   */
  recordDifficulty?: Pick<DifficultyResult, 'level' | 'score' | 'tokens'>;
  /** When a rate-limited wait ends (epoch ms), for timers after a restart. */
  retryAt: number | null;
  /**
   * Effects of the drive that wrote this record, published only once the record is
   * saved (a transactional outbox): its task events, then its work items (without
   * the task itself, which the snapshot holds). A router that loses a
   * compare-and-set race publishes nothing, so two routers driving one task never
   * put two histories on the bus. The next drive replaces it. A drive that finds a
   * recent one (its router may have crashed between saving and publishing)
   * publishes it again, which the streams' duplicate windows make idempotent.
   */
  outbox?: Outbox | null;
}

export interface Outbox {
  /** When the record was saved, epoch ms: an outbox older than OUTBOX_REPLAY_MS is taken as published. */
  savedAt: number;
  events: TaskEventMessage[];
  dispatches: Omit<DispatchInput, 'task'>[];
}

/**
 * How long after its save an outbox is published again by a drive or a restarted
 * router. Well inside the 2-minute duplicate window of the streams, so a replay of
 * effects that did go out is dropped by the server, never run twice.
 */
export const OUTBOX_REPLAY_MS = 60_000;

export interface StoredTask {
  record: TaskKvRecord;
  revision: number;
  /** Size of the record as stored, in bytes: what the router's cache of live tasks is bounded by. */
  bytes: number;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/**
 * Task records in NATS KV, written with compare-and-set so two routers never
 * overwrite each other's progress.
 */
export class TaskStore {
  constructor(private readonly kv: KV) {}

  async get(taskId: string): Promise<StoredTask | null> {
    const entry = await this.kv.get(taskId);
    if (!entry || entry.operation !== 'PUT' || entry.value.length === 0) return null;
    return { record: JSON.parse(dec.decode(entry.value)) as TaskKvRecord, revision: entry.revision, bytes: entry.value.length };
  }

  /** Creates the record; `null` when one exists already (a duplicate id or a redelivery). */
  async create(taskId: string, record: TaskKvRecord): Promise<StoredTask | null> {
    const data = enc.encode(JSON.stringify(record));
    try {
      return { record, revision: await this.kv.create(taskId, data), bytes: data.length };
    } catch (e) {
      if (isConflict(e)) return null;
      throw e;
    }
  }

  /** Writes if nobody else has since `revision`; `null` on conflict. */
  async update(taskId: string, record: TaskKvRecord, revision: number): Promise<StoredTask | null> {
    const data = enc.encode(JSON.stringify(record));
    try {
      return { record, revision: await this.kv.update(taskId, data, revision), bytes: data.length };
    } catch (e) {
      if (isConflict(e)) return null;
      throw e;
    }
  }

  async *keys(): AsyncIterable<string> {
    const it = await this.kv.keys();
    for await (const k of it) yield k;
  }
}

/** KV's "wrong last sequence" / "key exists" answers. */
export function isConflict(e: unknown): boolean {
  const msg = e instanceof Error ? e.message : String(e);
  return /wrong last sequence|key exists|10071/i.test(msg);
}
