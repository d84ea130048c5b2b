/**
 * The audit trail: every routing decision with its reasons, every tier fallback, and every
 * message rejected before it became a task.
 */
import type { Tier } from '../core/types.ts';
import { parseStringArray, statementCache, type LedgerDb } from './sql.ts';
import type { FALLBACK_PHASES } from './schema-v3.ts';
import { sinceTimestamp, sqlTimestamp } from './time.ts';

export type FallbackPhase = (typeof FALLBACK_PHASES)[number];

/** Longest payload excerpt kept for a rejection: enough to diagnose, little to leak. */
export const MAX_PAYLOAD_EXCERPT = 500;

export interface RoutingAuditEntry { id: number; taskId: string; state: string; tier: Tier | null; reasons: string[]; createdAt: string }
export interface FallbackEntry { id: number; taskId: string; fromTier: Tier; toTier: Tier; reason: string; phase: FallbackPhase; createdAt: string }
export interface RejectionEntry { id: number; subject: string; reason: string; payloadExcerpt: string | null; createdAt: string }

/** Filters for the list functions. With `taskId`, rows come oldest first (a task's story); otherwise newest first. */
export interface AuditQuery { taskId?: string; sinceHours?: number; limit?: number; now?: Date }

const newestFirst = (table: string) =>
  `SELECT * FROM ${table} WHERE created_at > @since ORDER BY id DESC LIMIT @limit`;
const ofTask = (table: string) =>
  `SELECT * FROM ${table} WHERE task_id = @taskId AND created_at > @since ORDER BY id LIMIT @limit`;

type Params = { taskId?: string; since: string; limit: number };
interface DecisionRow { id: number; task_id: string; state: string; tier: Tier | null; reasons: string; created_at: string }
interface FallbackRow { id: number; task_id: string; from_tier: Tier; to_tier: Tier; reason: string; phase: FallbackPhase; created_at: string }
interface RejectionRow { id: number; subject: string; reason: string; payload_excerpt: string | null; created_at: string }

const stmts = statementCache((db) => ({
  insertDecision: db.prepare(
    'INSERT INTO routing_audit (task_id, state, tier, reasons, created_at) VALUES (?, ?, ?, ?, ?)',
  ),
  decisions: db.prepare<Params, DecisionRow>(newestFirst('routing_audit')),
  decisionsOfTask: db.prepare<Params, DecisionRow>(ofTask('routing_audit')),
  insertFallback: db.prepare(`INSERT INTO fallback_log (task_id, from_tier, to_tier, reason, phase, created_at)
    VALUES (@taskId, @fromTier, @toTier, @reason, @phase, @now)`),
  fallbacks: db.prepare<Params, FallbackRow>(newestFirst('fallback_log')),
  fallbacksOfTask: db.prepare<Params, FallbackRow>(ofTask('fallback_log')),
  insertRejection: db.prepare(
    'INSERT INTO task_rejections (subject, reason, payload_excerpt, created_at) VALUES (?, ?, ?, ?)',
  ),
  rejections: db.prepare<Params, RejectionRow>(newestFirst('task_rejections')),
}));

const params = (q: AuditQuery): Params => ({
  taskId: q.taskId,
  since: q.sinceHours === undefined ? '' : sinceTimestamp(q.sinceHours, q.now),
  limit: q.limit ?? 100,
});

/**
 * Records one routing step: the state the router was in, the tier it chose (null while undecided
 * or when it rejected), and why.
 *
 * @returns the audit row id.
 * @example
 * recordRoutingDecision(db, 't1', 'sensitivity', 'local', ['confidential: api_key in prompt line 3']);
 */
export function recordRoutingDecision(
  db: LedgerDb, taskId: string, state: string, tier: Tier | null, reasons: readonly string[],
  opts: { now?: Date } = {},
): number {
  const r = stmts(db).insertDecision.run(taskId, state, tier, JSON.stringify(reasons), sqlTimestamp(opts.now));
  return Number(r.lastInsertRowid);
}

/** @example listRoutingDecisions(db, { taskId: 't1' }).map((d) => d.state) // => ['sensitivity', 'difficulty', 'budget'] */
export function listRoutingDecisions(db: LedgerDb, q: AuditQuery = {}): RoutingAuditEntry[] {
  const s = stmts(db);
  return (q.taskId === undefined ? s.decisions : s.decisionsOfTask).all(params(q)).map((r) => ({
    id: r.id, taskId: r.task_id, state: r.state, tier: r.tier,
    reasons: parseStringArray(r.reasons), createdAt: r.created_at,
  }));
}

/**
 * Records a move from one tier to another, decided while routing (e.g. rate-limited) or after a
 * failed execution.
 *
 * @example
 * recordFallback(db, { taskId: 't1', fromTier: 'gpt5_high', toTier: 'gpt5_medium', reason: 'rate limited', phase: 'routing' });
 */
export function recordFallback(
  db: LedgerDb,
  f: { taskId: string; fromTier: Tier; toTier: Tier; reason: string; phase: FallbackPhase },
  opts: { now?: Date } = {},
): number {
  return Number(stmts(db).insertFallback.run({ ...f, now: sqlTimestamp(opts.now) }).lastInsertRowid);
}

/** @example listFallbacks(db, { sinceHours: 24 }).length */
export function listFallbacks(db: LedgerDb, q: AuditQuery = {}): FallbackEntry[] {
  const s = stmts(db);
  return (q.taskId === undefined ? s.fallbacks : s.fallbacksOfTask).all(params(q)).map((r) => ({
    id: r.id, taskId: r.task_id, fromTier: r.from_tier, toTier: r.to_tier, reason: r.reason,
    phase: r.phase, createdAt: r.created_at,
  }));
}

/** Cuts to MAX_PAYLOAD_EXCERPT UTF-16 units without leaving half a surrogate pair behind. */
function excerptOf(text: string): string {
  const cut = text.slice(0, MAX_PAYLOAD_EXCERPT);
  return /[\uD800-\uDBFF]$/.test(cut) ? cut.slice(0, -1) : cut;
}

/**
 * Records a message refused before it became a task. The excerpt is cut to
 * `MAX_PAYLOAD_EXCERPT` characters; callers should still pass redacted text, since a rejected
 * payload may carry the very secret that got it rejected.
 *
 * @example
 * recordRejection(db, { subject: 'koubou.tasks.submit', reason: 'invalid JSON', payloadExcerpt: raw });
 */
export function recordRejection(
  db: LedgerDb, r: { subject: string; reason: string; payloadExcerpt?: string | null },
  opts: { now?: Date } = {},
): number {
  const excerpt = r.payloadExcerpt == null ? null : excerptOf(r.payloadExcerpt);
  const res = stmts(db).insertRejection.run(r.subject, r.reason, excerpt, sqlTimestamp(opts.now));
  return Number(res.lastInsertRowid);
}

/** Newest first. `taskId` is ignored (rejections precede tasks). @example listRejections(db, { limit: 10 }) */
export function listRejections(db: LedgerDb, q: AuditQuery = {}): RejectionEntry[] {
  return stmts(db).rejections.all(params(q)).map((r) => ({
    id: r.id, subject: r.subject, reason: r.reason, payloadExcerpt: r.payload_excerpt, createdAt: r.created_at,
  }));
}
