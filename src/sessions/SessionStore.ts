/**
 * What the gateways know about conversations, in the JetStream KV bucket `koubou_sessions`:
 * shared by every gateway and kept through a restart. Key layout (docs/protocol.md):
 *
 * - `session.<sha256 of the session name, hex>`: one {@link SessionRecord} per session (the
 *   name is `<gateway key name>:<session>`; hashed, since a client's session header may hold
 *   any characters and need not be kept in clear).
 * - `parent.<task id>`: the tokens the model requests of one agent task have used.
 *
 * Every write is a compare-and-set on the key's revision (create when absent, update at the
 * revision read), retried on a lost race: two gateways writing one key never lose each
 * other's change, token counts add up exactly, and a confidential mark, once written, is kept
 * by every later write (only a gateway may write here: nats.conf's `gateway` role).
 */
import { createHash } from 'node:crypto';
import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import { SAFE_TOKEN } from '../bus/index.ts';
import { KoubouError } from '../core/errors.ts';

/** One session's record. Fields other than `v` are optional: a later issue adds its own. */
export interface SessionRecord {
  v: 1;
  /** The task whose conversation was first found confidential: from then on the session stays local. */
  confidentialSince?: string;
  /** When it was marked (ISO). */
  confidentialAt?: string;
  /** The tier chosen for the session, and why (routing's session stickiness). */
  tier?: string;
  tierReason?: string;
  /** Which task statement the tier was chosen for (see sessionTier.ts): a turn with another is routed afresh. */
  askDigest?: string;
  /** Last write (ISO). */
  updatedAt?: string;
}

/** The fields a change may set: anything but the mark, which only {@link SessionStore.markConfidential} writes. */
export type SessionChange = Omit<SessionRecord, 'v' | 'confidentialSince' | 'confidentialAt' | 'updatedAt'>;

/** A marked session's record is written again after this long (the bucket forgets a key 30 days after its last write). */
const TOUCH_AFTER_MS = 24 * 3600 * 1000;

/** How many lost races a write retries before it gives up (two gateways rarely lose more than one). */
const MAX_ATTEMPTS = 50;

const enc = new TextEncoder();
const dec = new TextDecoder();

/**
 * The gateways' session state, over a KV bucket opened by the caller.
 *
 * @example
 * const store = new SessionStore(await openSessionBucket(gatewayNc));
 * await store.markConfidential('env:thread-1', 'gw-123');
 * (await store.get('env:thread-1'))?.confidentialSince; // 'gw-123'
 * await store.addTokens('agent-task-1', 1200); // 1200
 */
export class SessionStore {
  constructor(private readonly kv: KV) {}

  /** The session's record, or null when it has none (never seen, or expired). */
  async get(session: string): Promise<SessionRecord | null> {
    return (await this.read<SessionRecord>(sessionKey(session)))?.value ?? null;
  }

  /**
   * Marks the session confidential from `taskId` on; the first mark is kept. Called on each
   * confidential turn: a marked record is written again once a day, so that a session in use
   * never reaches the bucket's time-out. Resolves with the task the session has been
   * confidential since.
   */
  async markConfidential(session: string, taskId: string): Promise<string> {
    const record = await this.write<SessionRecord>(sessionKey(session), (current) => {
      if (current?.confidentialSince && !olderThan(current.updatedAt, TOUCH_AFTER_MS)) return null;
      return {
        ...current, v: 1,
        confidentialSince: current?.confidentialSince ?? taskId, confidentialAt: current?.confidentialAt ?? new Date().toISOString(),
      };
    });
    return record!.confidentialSince!;
  }

  /**
   * Changes a session's other fields (its tier, say) with `change(current)`; null leaves the
   * record as it is. The confidential mark is never changed here. Resolves with the record as
   * written (null when there was none and none was made).
   */
  async update(session: string, change: (current: SessionRecord | null) => SessionChange | null): Promise<SessionRecord | null> {
    return this.write<SessionRecord>(sessionKey(session), (current) => {
      const fields = change(current);
      if (fields === null) return null;
      // Whatever the change holds, the mark stays as it was.
      const { confidentialSince, confidentialAt } = current ?? {};
      const { confidentialSince: _s, confidentialAt: _a, v: _v, ...rest } = fields as SessionRecord;
      return { ...current, ...rest, v: 1, ...(confidentialSince ? { confidentialSince, confidentialAt } : {}) };
    });
  }

  /** Tokens the model requests of `parentTaskId` have used so far (0 when none). */
  async tokens(parentTaskId: string): Promise<number> {
    return (await this.read<{ tokens: number }>(parentKey(parentTaskId)))?.value.tokens ?? 0;
  }

  /** Adds `tokens` to the parent task's count; resolves with the new total. */
  async addTokens(parentTaskId: string, tokens: number): Promise<number> {
    if (!Number.isSafeInteger(tokens) || tokens < 0) throw new KoubouError('SESSION_STORE_INPUT', `token count must be a whole number ≥ 0, got ${tokens}`);
    const record = await this.write<{ tokens: number; updatedAt?: string }>(parentKey(parentTaskId), (current) => ({ tokens: (current?.tokens ?? 0) + tokens }));
    return record!.tokens;
  }

  private async read<T>(key: string): Promise<{ value: T; revision: number } | null> {
    const entry = await this.kv.get(key).catch((e: Error) => unavailable(key, e));
    if (!entry || entry.operation !== 'PUT' || entry.value.length === 0) return null;
    return { value: JSON.parse(dec.decode(entry.value)) as T, revision: entry.revision };
  }

  /** Compare-and-set: reads, applies `next`, writes at the revision read; again on a lost race. */
  private async write<T extends { updatedAt?: string }>(key: string, next: (current: T | null) => T | null): Promise<T | null> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const current = await this.read<T>(key);
      const value = next(current?.value ?? null);
      if (value === null) return current?.value ?? null;
      const data = enc.encode(JSON.stringify({ ...value, updatedAt: new Date().toISOString() }));
      try {
        if (current) await this.kv.update(key, data, current.revision);
        else await this.kv.create(key, data);
        return value;
      } catch (e) {
        if (!lostRace(e)) unavailable(key, e as Error);
        // Lost to another writer: read again after a moment, so that many writers do not all collide again.
        await new Promise((r) => setTimeout(r, Math.random() * 5 * (attempt + 1)));
      }
    }
    throw new KoubouError('SESSION_STORE_CONTENDED', `session store: key ${key} changed under ${MAX_ATTEMPTS} writes in a row`, { retryable: true });
  }
}

/** The KV key of a session's record. */
export function sessionKey(session: string): string {
  return `session.${createHash('sha256').update(session).digest('hex')}`;
}

/** The KV key of a parent task's token count: its id when it is a task id, else a digest of what was sent. */
export function parentKey(parentTaskId: string): string {
  return `parent.${SAFE_TOKEN.test(parentTaskId) ? parentTaskId : `sha256-${createHash('sha256').update(parentTaskId).digest('hex')}`}`;
}

function olderThan(iso: string | undefined, ms: number): boolean {
  const at = iso ? Date.parse(iso) : NaN;
  return !(Date.now() - at <= ms);
}

/** Another writer got there first (the revision moved, or the key now exists). */
function lostRace(e: unknown): boolean {
  return e instanceof JetStreamApiError
    && (e.code === JetStreamApiCodes.StreamWrongLastSequence || e.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown);
}

function unavailable(key: string, cause: Error): never {
  throw new KoubouError('SESSION_STORE_UNAVAILABLE', `session store (${key.split('.')[0]}): ${cause.message}`, { retryable: true, cause });
}
