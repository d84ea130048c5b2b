/**
 * The ledger's request/reply API: budget reservations and queries. Pure: a subject and payload
 * in, a JSON-able reply out, so every answer is testable without NATS.
 */
import { z } from 'zod';
import {
  dashboardKeyRequestSchema as dashboardKeySchema, decode, emptyRequestSchema as emptySchema, gatewayKeyRequestSchema as keySchema, MessageError,
  parentCloseRequestSchema as parentCloseSchema, parentOpenRequestSchema as parentOpenSchema, parentRequestSchema as parentSchema,
  releaseRequestSchema as releaseSchema, reserveRequestSchema, sliceLeaseRequestSchema, sliceReturnRequestSchema, sinceRequestSchema as costsSchema, SUBJECTS, taskRequestSchema as taskSchema,
  type ReserveReply,
} from '../../src/bus/index.ts';
import { closeParent, countLiveDashboardKeys, findDashboardKeyByDigest, findGatewayKeyByDigest, openParent, spendTrees, parentCapState, releaseReservation, ReservationBook, reserveBudget, type LedgerDb } from '../../src/db/index.ts';
import { budgetReply, costReport, statusReply, taskReply, type BudgetConfig, type CostsReply, type ErrorReply } from './queries.ts';
import { isTransientSqliteError } from './sqliteErrors.ts';
import { leaseReply, returnReply, type SliceOptions } from './sliceAnswers.ts';

/** Every subject the service answers. */
export const SERVICE_SUBJECTS = [
  SUBJECTS.budgetReserve, SUBJECTS.budgetRelease, SUBJECTS.ledgerQuery('budget'), SUBJECTS.ledgerQuery('status'),
  SUBJECTS.ledgerQuery('costs'), SUBJECTS.ledgerQuery('task'), SUBJECTS.ledgerQuery('gatewayKey'),
  SUBJECTS.ledgerQuery('dashboardKey'),
  SUBJECTS.parentOpen, SUBJECTS.parentClose, SUBJECTS.ledgerQuery('parent'), SUBJECTS.ledgerQuery('tree'),
  SUBJECTS.sliceLease, SUBJECTS.sliceReturn,
] as const;

// What each request looks like is decided in src/bus/ledgerApi.ts, with the replies the LedgerClient checks.

import { usd } from '../../src/core/format.ts';

export { usd };

/**
 * @example
 * const service = new LedgerService(db, { monthlyLimitUsd: 100, alertThresholdPercent: 80 });
 * service.handle('koubou.ledger.query.budget', new Uint8Array()); // => { yearMonth, limitUsd, ... }
 */
export class LedgerService {
  /** The months between reservations, so that a run of them is answered from memory (still committed before each reply). */
  private readonly book = new ReservationBook();

  constructor(
    private readonly db: LedgerDb,
    private readonly config: BudgetConfig,
    private readonly log: (line: string) => void = () => {},
    /** Budget slices: the grace past a slice's expiry. */
    private readonly slices: SliceOptions = {},
  ) {}

  /** Answers one request. Never throws: a bad request or a failure becomes `{ error }`. */
  handle(subject: string, data: Uint8Array): object {
    try {
      return this.answer(subject, data);
    } catch (e) {
      if (e instanceof MessageError) return { error: e.message } satisfies ErrorReply;
      const busy = isTransientSqliteError(e);
      this.log(`ledger: ${subject}: ${(e as Error).message}`);
      return { error: busy ? `ledger busy (${(e as Error).message}); retry` : `ledger failed: ${(e as Error).message}` } satisfies ErrorReply;
    }
  }

  private answer(subject: string, data: Uint8Array): object {
    // An empty payload is an empty request: `nc.request(subject)` sends no body.
    const body = <S extends z.ZodType>(schema: S): z.infer<S> => decode(schema, data.length ? data : new TextEncoder().encode('{}'), subject);
    switch (subject) {
      case SUBJECTS.budgetReserve: return this.reserve(body(reserveRequestSchema));
      case SUBJECTS.budgetRelease: return { released: releaseReservation(this.db, body(releaseSchema).reservationId) };
      case SUBJECTS.ledgerQuery('budget'): body(emptySchema); return budgetReply(this.db, this.config);
      case SUBJECTS.ledgerQuery('status'): body(emptySchema); return statusReply(this.db, this.config);
      case SUBJECTS.ledgerQuery('costs'): {
        const { sinceHours } = body(costsSchema);
        return { sinceHours, ...costReport(this.db, sinceHours) } satisfies CostsReply;
      }
      case SUBJECTS.ledgerQuery('task'): return taskReply(this.db, body(taskSchema).taskId);
      case SUBJECTS.ledgerQuery('gatewayKey'): {
        // Asked by the gateway with the digest of a key a client sent: the key never travels.
        const key = findGatewayKeyByDigest(this.db, body(keySchema).digest);
        return { key: key ? { name: key.name, monthlyBudgetUsd: key.monthlyBudgetUsd } : null };
      }
      case SUBJECTS.ledgerQuery('dashboardKey'): {
        // Asked by a dashboard off loopback: with a digest, whose key it is; always, whether any key is live.
        const { digest } = body(dashboardKeySchema);
        const key = digest ? findDashboardKeyByDigest(this.db, digest) : null;
        return { key: key ? { name: key.name } : null, liveKeys: countLiveDashboardKeys(this.db) };
      }
      case SUBJECTS.parentOpen: {
        // Published only by a front door's role (nats.conf): a master's session and its money cap.
        const { parentTaskId, capUsd } = body(parentOpenSchema);
        if (!openParent(this.db, parentTaskId, capUsd)) return { error: `${parentTaskId}: this session has ended; a session id is used once (start koubou mcp with another --session)` };
        return { opened: parentTaskId };
      }
      case SUBJECTS.parentClose: {
        // Published only by a front door's role (nats.conf): its session has ended; its children run on.
        const { parentTaskId, end } = body(parentCloseSchema);
        return closeParent(this.db, parentTaskId, end) ? { closed: parentTaskId } : { error: `${parentTaskId}: not an open parent task` };
      }
      // Published only by the gateway role (nats.conf): budget slices (sliceAnswers.ts).
      case SUBJECTS.sliceLease: return leaseReply(this.db, this.config, body(sliceLeaseRequestSchema), this.slices);
      case SUBJECTS.sliceReturn: return returnReply(this.db, this.config, body(sliceReturnRequestSchema));
      case SUBJECTS.ledgerQuery('tree'): {
        const { sinceHours } = body(costsSchema);
        return { sinceHours, trees: spendTrees(this.db, sinceHours) };
      }
      case SUBJECTS.ledgerQuery('parent'): {
        const { parentTaskId } = body(parentSchema);
        return parentCapState(this.db, parentTaskId) ?? { error: `${parentTaskId}: not a parent task with a cap` };
      }
      default: return { error: `${subject}: not a ledger request` } satisfies ErrorReply;
    }
  }

  /**
   * One reservation. reserveBudget runs check-and-insert in an IMMEDIATE transaction, so even
   * ledgers in several processes on one file cannot both grant the same headroom.
   */
  private reserve(req: z.infer<typeof reserveRequestSchema>): ReserveReply {
    const r = reserveBudget(this.db, {
      ...req, limitUsd: this.config.monthlyLimitUsd, alertThresholdPercent: this.config.alertThresholdPercent,
    }, { book: this.book });
    if (r.granted) return { granted: true, reason: 'granted' };
    if (r.reason === 'released') return { granted: false, reason: 'reservation was released' };
    if (r.reason === 'task_ended') return { granted: false, reason: `task ${req.taskId} has already ended` };
    if (r.reason === 'key_budget' && r.key) {
      const k = r.key;
      return { granted: false, reason: `would exceed gateway key "${k.name}"'s monthly budget (${usd(k.spentUsd)} spent + ${usd(k.reservedUsd)} reserved + ${usd(req.amountUsd)} > ${usd(k.limitUsd)})` };
    }
    if (r.reason === 'parent_cap' && r.parent) {
      const p = r.parent;
      return { granted: false, reason: `would exceed parent task ${p.parentTaskId}'s cap (${usd(p.spentUsd)} spent + ${usd(p.reservedUsd)} reserved + ${usd(req.amountUsd)} > ${usd(p.capUsd ?? 0)})` };
    }
    const committed = r.status.spentUsd + r.status.reservedUsd;
    return { granted: false, reason: `would exceed the monthly limit (${usd(committed)} of ${usd(r.status.limitUsd)} committed)` };
  }
}
